#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace hub::common {

// A time-ordered, name-based UUID: the first 48 bits are `unix_ms` (as in
// RFC 9562 version 7), the other 74 free bits come from SHA-1 of `a` NUL `b`
// (NUL `c` when given; the parts must not contain NUL, which event validation
// refuses);
// version 8 ("custom") because they are not random.  The same inputs always
// give the same id, so an execution and its completion event keep their
// identity however often the trigger is redelivered; and ids made at about the
// same time sort together, so inserting them appends to the right edge of a
// B-tree instead of descending to a random leaf (measured: PERFORMANCE.md).
// unix_ms is clamped to [0, 2^48).
std::string TimeOrderedUuid(int64_t unix_ms, std::string_view a, std::string_view b,
                            std::string_view c = {});

// The lowercase hex SHA-256 of `data` (64 characters).
std::string Sha256Hex(std::string_view data);

// Current time as RFC 3339 UTC with microseconds, and unix microseconds.
int64_t NowUnixMicros();
std::string FormatRfc3339(int64_t unix_us);

// RFC 3339 date-time ("2024-05-01T12:00:00.5+02:00"; `T`/`Z` in either case,
// any number of fraction digits, truncated to microseconds; a leap second 60 is
// accepted and counts into the next minute) to microseconds since the Unix epoch.
// Returns false and sets `why` (e.g. "month 13 is out of range") when `s` is not one.
bool ParseRfc3339(std::string_view s, int64_t& unix_us, std::string* why = nullptr);

}  // namespace hub::common
