// store::PgArray's binary arrays as the server reads them: every element
// type of the write path round-trips exactly, and what the text literal could
// not carry (NUL bytes, invalid UTF-8, an array of the wrong type) is refused
// with an error instead of being truncated or reinterpreted.
#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include "store/pg_array.hpp"
#include "tests/support/pg_fixture.hpp"

namespace hub {
namespace {

using store::PgArray;
using store::PgElement;

class PgArrayRoundTrip : public ::testing::Test {
 protected:
  pqxx::result Query(const std::string& sql, PgArray& a) {
    pqxx::work t(conn_);
    auto r = t.exec_params(sql, a.param());
    t.commit();
    return r;
  }
  // The server's error for `a` passed as `cast`, empty when it is accepted.
  std::string ErrorOf(const std::string& cast, PgArray& a) {
    try {
      pqxx::work t(conn_);
      t.exec_params("SELECT count(*) FROM unnest($1::" + cast + ")", a.param());
      return "";
    } catch (const pqxx::sql_error& e) {
      return e.what();
    }
  }

  testing::PgDatabase db_;
  pqxx::connection conn_{db_.url()};
};

TEST_F(PgArrayRoundTrip, TextElementsArriveByteForByte) {
  const std::vector<std::string> values = {"plain", R"({"k":"v\"q"})", R"(back\slash)", "", "NULL", "{a,b}",
                                           "ünïcødé ✓ 𝄞", std::string(100000, 'x')};
  PgArray a(PgElement::kText);
  for (const auto& v : values) a.Add(v);
  a.AddNull();
  auto r = Query("SELECT v, v IS NULL FROM unnest($1::text[]) WITH ORDINALITY AS u(v, n) ORDER BY n", a);
  ASSERT_EQ(r.size(), values.size() + 1);
  for (size_t i = 0; i < values.size(); ++i) EXPECT_EQ(r[i][0].as<std::string>(), values[i]) << i;
  EXPECT_TRUE(r[values.size()][1].as<bool>());  // NULL, not the string "NULL"
}

TEST_F(PgArrayRoundTrip, TypedElementsKeepTheirValues) {
  PgArray i2(PgElement::kInt2), i4(PgElement::kInt4), i8(PgElement::kInt8), f(PgElement::kFloat8),
      ts(PgElement::kTimestamptz), j(PgElement::kJsonb);
  for (int64_t v : {-32768, -1, 0, 63, 32767}) i2.AddInt(v);
  for (int64_t v : {int64_t{-2147483648}, int64_t{0}, int64_t{2147483647}}) i4.AddInt(v);
  for (int64_t v : {INT64_MIN, int64_t{-1}, INT64_MAX}) i8.AddInt(v);
  f.AddFloat(0.1);
  f.AddFloat(-1e300);
  ts.AddTimestamp(0);                 // the Unix epoch
  ts.AddTimestamp(1795447381194321);  // 2026-11-23T15:23:01.194321Z
  ts.AddTimestamp(-1);                // before the epoch
  j.Add(R"({"b":[1,2,{"c":null}],"a":"x\"y"})");
  j.AddNull();
  EXPECT_EQ(Query("SELECT string_agg(v::text, ',') FROM unnest($1::smallint[]) v", i2)[0][0].as<std::string>(),
            "-32768,-1,0,63,32767");
  EXPECT_EQ(Query("SELECT string_agg(v::text, ',') FROM unnest($1::int[]) v", i4)[0][0].as<std::string>(),
            "-2147483648,0,2147483647");
  EXPECT_EQ(Query("SELECT string_agg(v::text, ',') FROM unnest($1::bigint[]) v", i8)[0][0].as<std::string>(),
            "-9223372036854775808,-1,9223372036854775807");
  EXPECT_EQ(Query("SELECT string_agg(v::text, ',') FROM unnest($1::float8[]) v", f)[0][0].as<std::string>(),
            "0.1,-1e+300");
  EXPECT_EQ(Query("SELECT string_agg(to_char(v AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US'), ',') "
                  "FROM unnest($1::timestamptz[]) v",
                  ts)[0][0]
                .as<std::string>(),
            "1970-01-01T00:00:00.000000,2026-11-23T15:23:01.194321,1969-12-31T23:59:59.999999");
  auto jr = Query("SELECT v->'b'->2->>'c' IS NULL, v->>'a', count(*) OVER () FROM unnest($1::jsonb[]) v", j);
  ASSERT_EQ(jr.size(), 2u);
  EXPECT_EQ(jr[0][1].as<std::string>(), "x\"y");
}

TEST_F(PgArrayRoundTrip, AnEmptyArrayIsEmpty) {
  PgArray a(PgElement::kText);
  EXPECT_EQ(Query("SELECT cardinality($1::text[])", a)[0][0].as<int>(), 0);
}

TEST_F(PgArrayRoundTrip, RefusesWhatTheColumnCannotHold) {
  PgArray nul(PgElement::kText);
  nul.Add(std::string("before\0after", 12));
  EXPECT_NE(ErrorOf("text[]", nul).find("invalid byte sequence"), std::string::npos) << ErrorOf("text[]", nul);
  PgArray latin1(PgElement::kText);
  latin1.Add("caf\xe9");
  EXPECT_NE(ErrorOf("text[]", latin1).find("invalid byte sequence"), std::string::npos);
  PgArray bad_json(PgElement::kJsonb);
  bad_json.Add("{not json");
  EXPECT_NE(ErrorOf("jsonb[]", bad_json).find("invalid input syntax for type json"), std::string::npos);
  PgArray ints(PgElement::kInt4);
  ints.AddInt(1);
  EXPECT_NE(ErrorOf("text[]", ints).find("element type"), std::string::npos) << ErrorOf("text[]", ints);
  PgArray fine(PgElement::kText);
  fine.Add("ok");
  EXPECT_EQ(ErrorOf("text[]", fine), "");
}

}  // namespace
}  // namespace hub
