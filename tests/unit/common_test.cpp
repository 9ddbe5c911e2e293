#include <gtest/gtest.h>

#include <ctime>
#include <random>

#include "common/ids.hpp"
#include "consumers/envelope.hpp"
#include "store/pg_array.hpp"

namespace hub {
namespace {

TEST(FormatRfc3339, FormatsKnownInstants) {
  EXPECT_EQ(common::FormatRfc3339(0), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(common::FormatRfc3339(951782400000001), "2000-02-29T00:00:00.000001Z");  // leap day
  EXPECT_EQ(common::FormatRfc3339(1795447381194000), "2026-11-23T15:23:01.194000Z");
  EXPECT_EQ(common::FormatRfc3339(-1), "1969-12-31T23:59:59.999999Z");
}

TEST(FormatRfc3339, AgreesWithGmtimeAndRoundTripsThroughTheParser) {
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<int64_t> instant(0, 4102444800LL * 1000000);  // 1970 .. 2100
  for (int i = 0; i < 20000; ++i) {
    const int64_t us = instant(rng);
    const std::string text = common::FormatRfc3339(us);
    std::time_t secs = static_cast<std::time_t>(us / 1000000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char expect[32];
    std::strftime(expect, sizeof expect, "%Y-%m-%dT%H:%M:%S", &tm);
    ASSERT_EQ(text.substr(0, 19), expect) << us;
    int64_t back = 0;
    ASSERT_TRUE(consumers::ParseRfc3339(text, back)) << text;
    ASSERT_EQ(back, us) << text;
  }
}

std::string Bytes(const pqxx::binarystring& b) { return std::string(b.get(), b.get() + b.size()); }

TEST(PgArray, WritesTheBinaryArrayFormat) {
  store::PgArray a(store::PgElement::kText);
  a.Add("a\"b");
  a.AddNull();
  a.Add("");
  using namespace std::string_literals;
  EXPECT_EQ(Bytes(a.param()),
            "\0\0\0\1"s      // one dimension
            "\0\0\0\1"s      // has nulls
            "\0\0\0\x19"s    // element type 25: text
            "\0\0\0\3"s      // three elements
            "\0\0\0\1"s      // lower bound 1
            "\0\0\0\3a\"b"s  // length, bytes: no escaping
            "\xff\xff\xff\xff"s  // NULL
            "\0\0\0\0"s);    // empty string
  EXPECT_EQ(a.size(), 3u);
  a.Clear();
  EXPECT_EQ(Bytes(a.param()), "\0\0\0\0\0\0\0\0\0\0\0\x19"s);  // zero dimensions
}

TEST(PgArray, WritesTypedElementsBigEndian) {
  using namespace std::string_literals;
  const std::string header_tail = "\0\0\0\1\0\0\0\1"s;  // one element, lower bound 1
  store::PgArray i2(store::PgElement::kInt2);
  i2.AddInt(-2);
  EXPECT_EQ(Bytes(i2.param()).substr(20), "\0\0\0\2\xff\xfe"s);
  store::PgArray i4(store::PgElement::kInt4);
  i4.AddInt(0x01020304);
  EXPECT_EQ(Bytes(i4.param()).substr(20), "\0\0\0\4\1\2\3\4"s);
  store::PgArray i8(store::PgElement::kInt8);
  i8.AddInt(0x0102030405060708);
  EXPECT_EQ(Bytes(i8.param()), "\0\0\0\1\0\0\0\0\0\0\0\x14"s + header_tail + "\0\0\0\x08\1\2\3\4\5\6\7\x08"s);
  store::PgArray j(store::PgElement::kJsonb);
  j.Add("{}");
  EXPECT_EQ(Bytes(j.param()).substr(20), "\0\0\0\3\1{}"s);  // jsonb version 1, then the text
  store::PgArray t(store::PgElement::kTimestamptz);
  t.AddTimestamp(946684800000001);  // 2000-01-01T00:00:00.000001Z: PostgreSQL's epoch + 1 us
  EXPECT_EQ(Bytes(t.param()).substr(20), "\0\0\0\x08\0\0\0\0\0\0\0\1"s);
  store::PgArray f(store::PgElement::kFloat8);
  f.AddFloat(1.0);
  EXPECT_EQ(Bytes(f.param()).substr(20), "\0\0\0\x08\x3f\xf0\0\0\0\0\0\0"s);
}

TEST(PgArray, RefusesElementsOfAnotherTypeOrRange) {
  store::PgArray i2(store::PgElement::kInt2);
  EXPECT_THROW(i2.AddInt(40000), std::out_of_range);
  EXPECT_THROW(i2.Add("x"), std::logic_error);
  store::PgArray i4(store::PgElement::kInt4);
  EXPECT_THROW(i4.AddInt(int64_t{1} << 31), std::out_of_range);
  store::PgArray text(store::PgElement::kText);
  EXPECT_THROW(text.AddInt(1), std::logic_error);
  EXPECT_THROW(text.AddTimestamp(0), std::logic_error);
  EXPECT_THROW(text.AddFloat(0), std::logic_error);
  EXPECT_EQ(text.size(), 0u);
}


TEST(TimeOrderedUuid, IsAUuidStampedWithTheTimeAndDerivedFromTheName) {
  const std::string id = common::TimeOrderedUuid(0x0123456789ab, "urn:src", "evt-1");
  ASSERT_EQ(id.size(), 36u);
  EXPECT_EQ(id.substr(0, 13), "01234567-89ab");  // 48 bits of milliseconds
  EXPECT_EQ(id[14], '8');                          // version 8: custom
  EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos);  // RFC 4122 variant
  EXPECT_EQ(id, common::TimeOrderedUuid(0x0123456789ab, "urn:src", "evt-1"));
  EXPECT_NE(id, common::TimeOrderedUuid(0x0123456789ab, "urn:src", "evt-2"));
  EXPECT_NE(id.substr(14), common::TimeOrderedUuid(0x0123456789ab, "urn:src2", "evt-1").substr(14));
  // The separator keeps ("ab", "c") and ("a", "bc") apart.
  EXPECT_NE(common::TimeOrderedUuid(1, "ab", "c"), common::TimeOrderedUuid(1, "a", "bc"));
}

TEST(TimeOrderedUuid, SortsByTimeAsText) {
  std::string previous = common::TimeOrderedUuid(0, "s", "z");
  for (int64_t t : {int64_t{1}, int64_t{999}, int64_t{1700000000000}, int64_t{1700000000001}, (int64_t{1} << 48) - 1}) {
    const std::string next = common::TimeOrderedUuid(t, "s", "a");
    EXPECT_TRUE(previous < next) << previous << " !< " << next << " at " << t;
    previous = next;
  }
  // Out of range times are clamped, never wrapped.
  EXPECT_EQ(common::TimeOrderedUuid(-5, "s", "a").substr(0, 13), "00000000-0000");
  EXPECT_EQ(common::TimeOrderedUuid(int64_t{1} << 50, "s", "a").substr(0, 13), "ffffffff-ffff");
}

}  // namespace
}  // namespace hub
