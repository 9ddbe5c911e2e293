#pragma once
// Which outbox rows are old enough for the relay: rows younger than the grace
// period belong to the publisher of the worker that committed them.  Their age
// is judged by id, not created_at: the relay samples the last id handed out
// now and then, and the newest sample taken at least `grace` ago bounds the
// ids of the rows inserted before then.  An index range on (shard, id) then
// reads the old rows only; a created_at filter had to read (and skip) every
// young row of the owned shards on every round.  Pure: time is passed in.
#include <chrono>
#include <cstdint>
#include <deque>
#include <utility>

namespace hub::outbox {

class GraceCutoff {
 public:
  using Time = std::chrono::steady_clock::time_point;
  explicit GraceCutoff(std::chrono::milliseconds sample_every = std::chrono::milliseconds(100))
      : sample_every_(sample_every) {}
  bool WantsSample(Time now) const { return samples_.empty() || now - samples_.back().first >= sample_every_; }
  void AddSample(Time now, int64_t last_id) { samples_.emplace_back(now, last_id); }
  // Rows with an id up to the result were inserted at least `grace` before
  // `now`; 0 when no sample is that old yet.  Drops samples it no longer needs.
  int64_t Cutoff(Time now, std::chrono::milliseconds grace);

 private:
  std::chrono::milliseconds sample_every_;
  std::deque<std::pair<Time, int64_t>> samples_;
};

}  // namespace hub::outbox
