#pragma once
// Samples the high watermark of every partition the consume loop owns, every
// `interval`, into common::PartitionLag (hub_consumer_lag).  The watermarks
// are asked of the cluster (ListOffsets), not taken from librdkafka's fetch
// cache: a partition that is paused or held (back-pressure, retry) is not
// fetched, and its cached watermark would stop rising exactly while it falls
// behind.  A partition with nothing processed since its assignment starts at
// the group's committed offset (or the low watermark when there is none, as
// auto.offset.reset=earliest would).
//
// Threading: one thread of its own, started by the constructor and joined by
// Stop() (or the destructor), which must come before the consumer is closed.
// librdkafka's query calls are thread-safe; they block this thread only.
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "common/partition_lag.hpp"

namespace RdKafka {
class KafkaConsumer;
}

namespace hub::consumers {

class LagSampler {
 public:
  LagSampler(RdKafka::KafkaConsumer& consumer, common::PartitionLag& lag, std::chrono::milliseconds interval);
  ~LagSampler();
  LagSampler(const LagSampler&) = delete;
  LagSampler& operator=(const LagSampler&) = delete;

  void Stop();

 private:
  void Loop();
  void SampleOnce();

  RdKafka::KafkaConsumer& consumer_;
  common::PartitionLag& lag_;
  const std::chrono::milliseconds interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace hub::consumers
