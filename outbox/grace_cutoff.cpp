#include "outbox/grace_cutoff.hpp"

namespace hub::outbox {

int64_t GraceCutoff::Cutoff(Time now, std::chrono::milliseconds grace) {
  const Time old_enough = now - grace;
  while (samples_.size() >= 2 && samples_[1].first <= old_enough) samples_.pop_front();
  return !samples_.empty() && samples_.front().first <= old_enough ? samples_.front().second : 0;
}

}  // namespace hub::outbox
