#pragma once
// hub_consumer_lag{topic,partition}: how many messages of each partition
// assigned to this worker are behind its high watermark.
//
// Two writers meet here.  The consume loop says which partitions it owns
// (Assigned/Revoked) and how far it has processed each (Processed: the
// offset after the last event finished).  The lag sampler asks the cluster
// for the high watermarks every few seconds (Probes, then Sampled).  A sample
// for a partition that was revoked, or revoked and assigned again, while the
// sampler waited for the broker is dropped: after a rebalance a partition is
// reported only by the worker that owns it now.  Rows() is what /metrics
// shows: assigned partitions whose watermark has been sampled at least once.
//
// Thread-safe (one mutex; every call is short).
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace hub::common {

class PartitionLag {
 public:
  // Consume-loop side.
  void Assigned(const std::string& topic, int32_t partition);
  void Revoked(const std::string& topic, int32_t partition);
  void Processed(const std::string& topic, int32_t partition, int64_t next_offset);

  // Sampler side.  `next_offset` is -1 while nothing has been processed since
  // the assignment: the sampler then supplies the starting position (the
  // group's committed offset, or the low watermark when there is none).
  struct Probe {
    std::string topic;
    int32_t partition = 0;
    uint64_t generation = 0;
    int64_t next_offset = -1;
  };
  std::vector<Probe> Probes() const;
  void Sampled(const Probe& probe, int64_t high_watermark, int64_t start_offset);

  struct Row {
    std::string topic;
    int32_t partition = 0;
    int64_t lag = 0;
  };
  std::vector<Row> Rows() const;

 private:
  struct State {
    uint64_t generation = 0;
    int64_t next_offset = -1;     // processed position; -1 unknown
    int64_t high_watermark = -1;  // last sampled; -1 not yet
  };
  static int64_t LagOf(const State& s);

  mutable std::mutex mu_;
  std::map<std::pair<std::string, int32_t>, State> parts_;
  uint64_t next_generation_ = 1;
};

}  // namespace hub::common
