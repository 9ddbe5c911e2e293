#pragma once
// The distinct CloudEvent ids a topic has held, read live from the beginning
// of every partition.  The chaos run reads its own input topic with it, so
// that an event the broker lost is told apart from one the workers lost.
#include <chrono>
#include <memory>
#include <string>
#include <unordered_set>

namespace RdKafka {
class KafkaConsumer;
}

namespace hub::chaos {

class TopicIds {
 public:
  TopicIds(const std::string& brokers, const std::string& topic, int partitions);
  ~TopicIds();
  TopicIds(const TopicIds&) = delete;
  TopicIds& operator=(const TopicIds&) = delete;

  // Reads what has arrived, for at most `budget`.
  void Poll(std::chrono::milliseconds budget);
  const std::unordered_set<std::string>& ids() const { return ids_; }

 private:
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  std::unordered_set<std::string> ids_;
};

// A consumer of every partition of `topic` from the beginning, with no group
// (assign only) and a short socket timeout (the embedded broker sometimes
// leaves a request unanswered after a fault).
std::unique_ptr<RdKafka::KafkaConsumer> ReadFromStart(const std::string& brokers, const std::string& topic,
                                                      int partitions);

}  // namespace hub::chaos
