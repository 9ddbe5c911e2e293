#include "common/clock.hpp"

namespace hub::common {

int64_t SystemClock::NowUnixMicros() const {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace hub::common
