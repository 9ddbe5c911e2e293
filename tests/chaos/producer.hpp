#pragma once
// The chaos run's event source: an idempotent librdkafka producer (order
// per key held across retries) that never blocks the driver: Produce queues,
// Poll serves delivery reports and counts what the broker acknowledged.
#include <cstdint>
#include <memory>
#include <string>

namespace RdKafka {
class Producer;
class DeliveryReportCb;
}  // namespace RdKafka

namespace hub::chaos {

class LoadProducer {
 public:
  explicit LoadProducer(const std::string& brokers);
  ~LoadProducer();
  LoadProducer(const LoadProducer&) = delete;
  LoadProducer& operator=(const LoadProducer&) = delete;

  // Structured mode (content-type application/cloudevents+json).
  void Produce(const std::string& topic, const std::string& key, const std::string& value);
  void Poll();
  // Waits up to `timeout_ms` for every delivery; true when none is outstanding.
  bool Flush(int timeout_ms);
  int64_t delivered() const;
  int64_t failed() const;
  const std::string& first_error() const;

 private:
  class Reports;
  std::unique_ptr<Reports> reports_;
  std::unique_ptr<RdKafka::Producer> producer_;
};

}  // namespace hub::chaos
