#pragma once
// Builds PostgreSQL array literals ('{"a","b",NULL}') so that a whole batch of
// rows travels as one parameter per column: `INSERT ... SELECT * FROM
// unnest($1::text[], $2::jsonb[], ...)` is one statement for N rows, and RLS
// WITH CHECK still applies (COPY FROM is refused on tables with row security).
#include <cstdint>
#include <string>
#include <string_view>

namespace hub::store {

class PgArray {
 public:
  PgArray() { buf_ = "{"; }
  void Add(std::string_view v) {
    Sep();
    buf_ += '"';
    // Copy runs between characters that need a backslash (profiled: appending
    // per character was a fifth of the worker's instructions).
    size_t run = 0;
    for (size_t i = 0; i < v.size(); ++i) {
      const char c = v[i];
      if (c == '"' || c == '\\') {
        buf_.append(v.data() + run, i - run);
        buf_ += '\\';
        run = i;
      }
    }
    buf_.append(v.data() + run, v.size() - run);
    buf_ += '"';
  }
  void AddNull() {
    Sep();
    buf_ += "NULL";
  }
  void AddInt(int64_t v) {
    Sep();
    buf_ += std::to_string(v);
  }
  void AddNumber(double v) {
    Sep();
    char tmp[32];
    std::snprintf(tmp, sizeof tmp, "%.6f", v);
    buf_ += tmp;
  }
  // The literal; the builder can be reused after Clear().
  const std::string& str() {
    if (!closed_) {
      buf_ += '}';
      closed_ = true;
    }
    return buf_;
  }
  size_t size() const { return n_; }
  void Clear() {
    buf_.assign("{");
    n_ = 0;
    closed_ = false;
  }
  void Reserve(size_t bytes) { buf_.reserve(bytes); }

 private:
  void Sep() {
    if (n_++ > 0) buf_ += ',';
  }
  std::string buf_;
  size_t n_ = 0;
  bool closed_ = false;
};

}  // namespace hub::store
