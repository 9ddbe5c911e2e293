#include "common/ids.hpp"

#include <openssl/evp.h>

#include <chrono>
#include <stdexcept>

namespace hub::common {
namespace {

// SHA-1 of `data` into h (20 bytes).  EVP_Digest(..., EVP_sha1(), ...) looks
// the implementation up in OpenSSL 3's provider store (a read lock and a hash
// lookup) and allocates a context on every call: 0.85 us against 0.20 us with
// the algorithm fetched once and a context per thread (measured on this
// machine), and this runs once per event.
void Sha1(const std::string& data, unsigned char* h) {
  static EVP_MD* const kSha1 = EVP_MD_fetch(nullptr, "SHA1", nullptr);  // lives as long as the process
  struct Context {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ~Context() { EVP_MD_CTX_free(ctx); }
  };
  thread_local Context local;
  unsigned int len = 0;
  if (kSha1 == nullptr || local.ctx == nullptr || EVP_DigestInit_ex(local.ctx, kSha1, nullptr) != 1 ||
      EVP_DigestUpdate(local.ctx, data.data(), data.size()) != 1 || EVP_DigestFinal_ex(local.ctx, h, &len) != 1) {
    EVP_Digest(data.data(), data.size(), h, &len, EVP_sha1(), nullptr);  // the slow path still gives the same id
  }
}

}  // namespace

std::string TimeOrderedUuid(int64_t unix_ms, std::string_view a, std::string_view b, std::string_view c) {
  std::string name;
  name.reserve(a.size() + b.size() + c.size() + 2);
  name.append(a).append(1, '\0').append(b);
  if (!c.empty()) name.append(1, '\0').append(c);
  unsigned char h[EVP_MAX_MD_SIZE];
  Sha1(name, h);
  constexpr int64_t kMaxMs = (int64_t{1} << 48) - 1;
  const uint64_t ms = static_cast<uint64_t>(unix_ms < 0 ? 0 : (unix_ms > kMaxMs ? kMaxMs : unix_ms));
  for (int i = 0; i < 6; ++i) h[i] = static_cast<unsigned char>(ms >> (8 * (5 - i)));
  h[6] = static_cast<unsigned char>((h[6] & 0x0F) | 0x80);  // version 8
  h[8] = static_cast<unsigned char>((h[8] & 0x3F) | 0x80);  // RFC 4122 variant
  static const char kHex[] = "0123456789abcdef";
  std::string out(36, '-');
  size_t o = 0;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) ++o;
    out[o++] = kHex[h[i] >> 4];
    out[o++] = kHex[h[i] & 0xF];
  }
  return out;
}

std::string Sha256Hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("SHA-256 failed");
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * len);
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 0x0F];
  }
  return out;
}

int64_t NowUnixMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string FormatRfc3339(int64_t unix_us) {
  // Hand-rolled (civil-from-days, Howard Hinnant's algorithm) rather than
  // gmtime_r + snprintf: called twice per event on the hot path.
  int64_t secs = unix_us / 1000000;
  int64_t micros = unix_us % 1000000;
  if (micros < 0) {
    micros += 1000000;
    --secs;
  }
  int64_t days = secs / 86400;
  int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  char buf[32];
  auto put = [](char* p, int64_t v, int width) {
    for (int k = width - 1; k >= 0; --k) {
      p[k] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
  };
  put(buf, year, 4);
  buf[4] = '-';
  put(buf + 5, month, 2);
  buf[7] = '-';
  put(buf + 8, day, 2);
  buf[10] = 'T';
  put(buf + 11, rem / 3600, 2);
  buf[13] = ':';
  put(buf + 14, rem / 60 % 60, 2);
  buf[16] = ':';
  put(buf + 17, rem % 60, 2);
  buf[19] = '.';
  put(buf + 20, micros, 6);
  buf[26] = 'Z';
  return std::string(buf, 27);
}

namespace {

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {  // H. Hinnant's algorithm
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int y, int m) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

}  // namespace

bool ParseRfc3339(std::string_view s, int64_t& unix_us, std::string* why) {
  auto fail = [&](std::string w) {
    if (why) *why = std::move(w);
    return false;
  };
  size_t i = 0;
  auto digits = [&](size_t n, int& out) {
    if (i + n > s.size()) return false;
    int v = 0;
    for (size_t k = 0; k < n; ++k) {
      char c = s[i + k];
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    i += n;
    out = v;
    return true;
  };
  auto expect = [&](char c) {
    if (i < s.size() && s[i] == c) { ++i; return true; }
    return false;
  };
  const char* kForm = "expected YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)";
  int year, month, day, hour, minute, second;
  if (!digits(4, year) || !expect('-') || !digits(2, month) || !expect('-') || !digits(2, day)) return fail(kForm);
  if (i >= s.size() || (s[i] != 'T' && s[i] != 't')) return fail(kForm);
  ++i;
  if (!digits(2, hour) || !expect(':') || !digits(2, minute) || !expect(':') || !digits(2, second)) return fail(kForm);
  int64_t micros = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    size_t start = i;
    int scale = 100000;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      micros += (s[i] - '0') * scale;  // digits beyond microseconds are truncated
      scale /= 10;
      ++i;
    }
    if (i == start) return fail("a '.' must be followed by fraction digits");
  }
  int offset_minutes = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    int sign = s[i] == '-' ? -1 : 1;
    ++i;
    int oh, om;
    if (!digits(2, oh) || !expect(':') || !digits(2, om)) return fail(kForm);
    if (oh > 23 || om > 59) return fail("offset " + std::string(s.substr(i - 6, 6)) + " is out of range");
    offset_minutes = sign * (oh * 60 + om);
  } else {
    return fail("missing time zone offset (Z or +HH:MM)");
  }
  if (i != s.size()) return fail(kForm);
  if (month < 1 || month > 12) return fail("month " + std::to_string(month) + " is out of range");
  if (day < 1 || day > DaysInMonth(year, month))
    return fail("day " + std::to_string(day) + " is out of range for " + std::string(s.substr(0, 7)));
  if (hour > 23) return fail("hour " + std::to_string(hour) + " is out of range");
  if (minute > 59) return fail("minute " + std::to_string(minute) + " is out of range");
  if (second > 60) return fail("second " + std::to_string(second) + " is out of range");
  const int64_t secs = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 +
                       hour * 3600 + minute * 60 + second - offset_minutes * 60;
  unix_us = secs * 1000000 + micros;
  return true;
}

}  // namespace hub::common
