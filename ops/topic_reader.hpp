#pragma once
// Reads a range of a topic with a consumer of its own: partitions are
// assigned directly (no subscribe, so no group join and no rebalance of the
// running workers' group), auto-commit is off and nothing is ever committed.
// The range ends at each partition's high watermark as it was when Open()
// looked, so a read always finishes even while producers go on.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "ops/dead_letter_record.hpp"
#include "kafka/config.hpp"

namespace RdKafka {
class KafkaConsumer;
}

namespace hub::ops {

struct TopicRange {
  std::set<int32_t> partitions;  // empty: every partition
  int64_t from_offset = -1;      // -1: the partition's first
  int64_t to_offset = -1;        // exclusive; -1: the high watermark
  int64_t since_ms = -1;         // messages with an earlier timestamp are skipped
  int64_t until_ms = -1;         // messages with this timestamp or a later one are skipped
};

class TopicReader {
 public:
  // Throws common::ConfigError for a bad HUB_KAFKA_CONFIG item,
  // std::runtime_error when the topic cannot be found.
  TopicReader(const std::string& brokers, const kafka::KafkaProperties& extra, std::string topic,
              TopicRange range, std::chrono::milliseconds timeout = std::chrono::seconds(30));
  ~TopicReader();
  TopicReader(const TopicReader&) = delete;
  TopicReader& operator=(const TopicReader&) = delete;

  // Messages in the range (known once constructed; an upper bound with
  // since_ms or until_ms: timestamps are judged as messages arrive).
  int64_t total() const { return total_; }
  // Calls `on_message` for every message of the range, partition by
  // partition interleaved as the broker delivers.  Returns false if the
  // timeout passed without progress (the broker stopped answering).
  bool ReadAll(const std::function<void(RawMessage&&)>& on_message);

 private:
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  std::string topic_;
  TopicRange range_;
  std::chrono::milliseconds timeout_;
  std::map<int32_t, int64_t> end_;  // partition -> exclusive end offset
  int64_t total_ = 0;
};

}  // namespace hub::ops
