#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace hub::common {

// A name-based UUID (version 5 layout, SHA-1) of `a` NUL `b`: the same inputs
// always give the same id, so an execution and its completion event get the
// same identity however often the trigger is redelivered.
std::string DeterministicUuid(std::string_view a, std::string_view b);

// Current time as RFC 3339 UTC with microseconds, and unix microseconds.
int64_t NowUnixMicros();
std::string FormatRfc3339(int64_t unix_us);

}  // namespace hub::common
