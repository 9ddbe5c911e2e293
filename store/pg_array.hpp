#pragma once
// Builds a one-dimensional PostgreSQL array in the binary wire format (what
// array_send writes and array_recv reads) so that a whole batch of rows
// travels as one parameter per column: `INSERT ... SELECT * FROM
// unnest($1::text[], $2::jsonb[], ...)` is one statement for N rows, and RLS
// WITH CHECK still applies (COPY FROM is refused on tables with row security).
//
// Binary rather than the text literal '{"a","b",NULL}': the server copies
// each element by its length instead of tokenising and de-escaping the whole
// literal (array_in was a fifth of PostgreSQL's CPU on the W1 write path,
// PERFORMANCE.md), and the worker writes a length instead of escaping.  Text
// elements are still checked by the server to be valid UTF-8 (a NUL byte is
// refused, never truncated), jsonb elements are still parsed and validated.
//
// The element type is fixed per array and must match the statement's cast
// ($1::text[] takes PgElement::kText): the server refuses a mismatch.
#include <cstdint>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>

#include <pqxx/binarystring>

namespace hub::store {

// Element types by their PostgreSQL type OID (pg_type.oid, fixed since 8.x).
enum class PgElement : uint32_t {
  kInt2 = 21,
  kInt4 = 23,
  kInt8 = 20,
  kFloat8 = 701,
  kText = 25,
  kJsonb = 3802,
  kTimestamptz = 1184,
};

class PgArray {
 public:
  explicit PgArray(PgElement type) : type_(type) { Clear(); }

  // A text or jsonb element (jsonb: JSON text, validated by the server).
  void Add(std::string_view v) {
    if (type_ != PgElement::kText && type_ != PgElement::kJsonb) throw std::logic_error("PgArray::Add: not a text array");
    const bool jsonb = type_ == PgElement::kJsonb;
    if (v.size() + jsonb > static_cast<size_t>(std::numeric_limits<int32_t>::max()))
      throw std::length_error("PgArray: element larger than 2 GiB");
    Put32(static_cast<uint32_t>(v.size() + jsonb));
    if (jsonb) buf_ += '\1';  // jsonb's binary format: version 1, then the text
    buf_.append(v.data(), v.size());
    ++n_;
  }
  void AddNull() {
    Put32(0xFFFFFFFFu);  // length -1
    has_null_ = true;
    ++n_;
  }
  // An integer element of the array's width; a value that does not fit is a bug.
  void AddInt(int64_t v) {
    switch (type_) {
      case PgElement::kInt2:
        if (v < std::numeric_limits<int16_t>::min() || v > std::numeric_limits<int16_t>::max())
          throw std::out_of_range("PgArray: value out of smallint range");
        Put32(2);
        Put16(static_cast<uint16_t>(static_cast<int16_t>(v)));
        break;
      case PgElement::kInt4:
        if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max())
          throw std::out_of_range("PgArray: value out of integer range");
        Put32(4);
        Put32(static_cast<uint32_t>(static_cast<int32_t>(v)));
        break;
      case PgElement::kInt8:
        Put32(8);
        Put64(static_cast<uint64_t>(v));
        break;
      default:
        throw std::logic_error("PgArray::AddInt: not an integer array");
    }
    ++n_;
  }
  void AddFloat(double v) {
    if (type_ != PgElement::kFloat8) throw std::logic_error("PgArray::AddFloat: not a float8 array");
    uint64_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    Put32(8);
    Put64(bits);
    ++n_;
  }
  // A timestamptz element from microseconds since the Unix epoch.
  void AddTimestamp(int64_t unix_us) {
    if (type_ != PgElement::kTimestamptz) throw std::logic_error("PgArray::AddTimestamp: not a timestamptz array");
    // The binary format counts microseconds from 2000-01-01T00:00:00Z.
    constexpr int64_t kPgEpochUnixUs = 946684800LL * 1000000LL;
    Put32(8);
    Put64(static_cast<uint64_t>(unix_us - kPgEpochUnixUs));
    ++n_;
  }

  // The parameter to pass to exec_prepared (sent in binary format).  The
  // builder can be reused after Clear().
  pqxx::binarystring param() {
    WriteHeader();
    // An empty array is written with zero dimensions and no dimension fields.
    const size_t size = n_ == 0 ? kEmptyHeader : buf_.size();
    return pqxx::binarystring(buf_.data(), size);
  }
  size_t size() const { return n_; }
  void Clear() {
    buf_.assign(kHeader, '\0');
    n_ = 0;
    has_null_ = false;
  }
  void Reserve(size_t bytes) { buf_.reserve(kHeader + bytes); }

 private:
  // ndim, has-null flag, element type, then (for one dimension) its length and
  // lower bound: five big-endian int32.
  static constexpr size_t kHeader = 20;
  static constexpr size_t kEmptyHeader = 12;

  void WriteHeader() {
    if (n_ > static_cast<size_t>(std::numeric_limits<int32_t>::max())) throw std::length_error("PgArray: too many elements");
    At32(0, n_ == 0 ? 0 : 1);
    At32(4, has_null_ ? 1 : 0);
    At32(8, static_cast<uint32_t>(type_));
    At32(12, static_cast<uint32_t>(n_));
    At32(16, 1);
  }
  void At32(size_t at, uint32_t v) {
    buf_[at] = static_cast<char>(v >> 24);
    buf_[at + 1] = static_cast<char>(v >> 16);
    buf_[at + 2] = static_cast<char>(v >> 8);
    buf_[at + 3] = static_cast<char>(v);
  }
  void Put16(uint16_t v) {
    const char b[2] = {static_cast<char>(v >> 8), static_cast<char>(v)};
    buf_.append(b, 2);
  }
  void Put32(uint32_t v) {
    const char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
                       static_cast<char>(v)};
    buf_.append(b, 4);
  }
  void Put64(uint64_t v) {
    Put32(static_cast<uint32_t>(v >> 32));
    Put32(static_cast<uint32_t>(v));
  }

  PgElement type_;
  std::string buf_;
  size_t n_ = 0;
  bool has_null_ = false;
};

}  // namespace hub::store
