#pragma once
// Plain librdkafka clients for tests: they drive the worker from outside, the
// way another service would.  The consumer assigns partitions directly (no
// group: group joins are slow on the mock cluster).
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace RdKafka {
class Producer;
class KafkaConsumer;
}  // namespace RdKafka

namespace hub::testing {

struct ReceivedMessage {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string key;
  std::string value;
  std::map<std::string, std::string> headers;
};

class TestProducer {
 public:
  explicit TestProducer(const std::string& brokers);
  ~TestProducer();
  void Produce(const std::string& topic, const std::string& key, const std::string& value,
               const std::vector<std::pair<std::string, std::string>>& headers = {});
  // Waits for every delivery; fails the test (throws) if some did not arrive.
  void Flush(std::chrono::milliseconds timeout = std::chrono::seconds(60));

 private:
  std::unique_ptr<RdKafka::Producer> producer_;
};

class TestConsumer {
 public:
  // Reads every partition of `topic` from the beginning.
  TestConsumer(const std::string& brokers, const std::string& topic);
  ~TestConsumer();
  // Polls into messages() until `done(messages())` or the deadline; returns done's last value.
  bool PollUntil(const std::function<bool(const std::vector<ReceivedMessage>&)>& done,
                 std::chrono::milliseconds deadline);
  const std::vector<ReceivedMessage>& messages() const { return messages_; }

 private:
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  std::vector<ReceivedMessage> messages_;
};

}  // namespace hub::testing
