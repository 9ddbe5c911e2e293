#pragma once
// Reads hub.workflow.completed live, from the beginning of every partition
// (the embedded broker keeps only ~5 MiB per partition, so reading after the
// fact would miss the oldest), and keeps only what the checks need: the
// distinct execution, trigger and event ids, statuses, and whether each
// ordered key's completions appeared in the order of their triggers.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace RdKafka {
class KafkaConsumer;
}

namespace hub::chaos {

class CompletionTally {
 public:
  // `ordered(key)`: whether the completions of this key must follow the order
  // of their trigger events ("ev-<i>", i increasing).
  CompletionTally(const std::string& brokers, const std::string& topic, int partitions,
                  std::function<bool(const std::string& key)> ordered);
  ~CompletionTally();
  CompletionTally(const CompletionTally&) = delete;
  CompletionTally& operator=(const CompletionTally&) = delete;

  // Reads what has arrived, for at most `budget`.
  void Poll(std::chrono::milliseconds budget);

  int64_t messages() const { return messages_; }
  size_t distinct_executions() const { return executions_.size(); }
  size_t distinct_triggers() const { return triggers_.size(); }
  size_t distinct_event_ids() const { return event_ids_.size(); }
  const std::unordered_set<std::string>& triggers() const { return triggers_; }
  const std::map<std::string, int64_t>& by_status() const { return by_status_; }
  int64_t order_violations() const { return order_violations_; }
  const std::string& first_violation() const { return first_violation_; }
  int64_t unreadable() const { return unreadable_; }

 private:
  void Take(const std::string& key, const char* data, size_t len);

  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  std::function<bool(const std::string&)> ordered_;
  int64_t messages_ = 0, order_violations_ = 0, unreadable_ = 0;
  std::unordered_set<std::string> executions_, triggers_, event_ids_;
  std::map<std::string, int64_t> by_status_;          // over distinct executions
  std::unordered_map<std::string, int64_t> last_seq_;  // ordered key -> newest trigger seen
  std::string first_violation_;
};

}  // namespace hub::chaos
