#pragma once
// Periodically checks that the database and the Kafka cluster answer, for
// /readyz and the hub_database_up / hub_broker_up gauges.  Own thread, own
// connection and client: probing never blocks the processing threads.
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/metrics.hpp"

namespace hub::worker {

class HealthProbe {
 public:
  HealthProbe(std::string database_url, std::string brokers,
              std::vector<std::pair<std::string, std::string>> kafka_config, common::Metrics& metrics,
              int interval_ms = 2000);
  ~HealthProbe();
  void Stop();

 private:
  void Run();
  std::string db_url_, brokers_;
  std::vector<std::pair<std::string, std::string>> kafka_config_;
  common::Metrics& metrics_;
  int interval_ms_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace hub::worker
