#include "worker/health_probe.hpp"

#include <librdkafka/rdkafkacpp.h>

#include <memory>
#include <pqxx/pqxx>

#include "common/log.hpp"
#include "kafka/config.hpp"

namespace hub::worker {

HealthProbe::HealthProbe(std::string database_url, std::string brokers,
                         std::vector<std::pair<std::string, std::string>> kafka_config, common::Metrics& metrics,
                         int interval_ms)
    : db_url_(std::move(database_url)),
      brokers_(std::move(brokers)),
      kafka_config_(std::move(kafka_config)),
      metrics_(metrics),
      interval_ms_(interval_ms) {
  thread_ = std::thread([this] { Run(); });
}

HealthProbe::~HealthProbe() { Stop(); }

void HealthProbe::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void HealthProbe::Run() {
  std::unique_ptr<pqxx::connection> db;
  std::unique_ptr<RdKafka::Producer> kafka;
  try {
    auto conf = kafka::MakeKafkaConf(brokers_, kafka_config_);
    std::string err;
    conf->set("client.id", "hubworker-health", err);
    kafka::RouteKafkaLogs(*conf);
    kafka.reset(RdKafka::Producer::create(conf.get(), err));
  } catch (const std::exception& e) {
    common::LogWarn("health probe: no kafka client", {{"error", e.what()}});
  }
  for (;;) {
    try {
      if (!db || !db->is_open()) db = std::make_unique<pqxx::connection>(db_url_);
      pqxx::nontransaction q(*db);
      q.exec("SELECT 1");
      metrics_.db_ok = true;
    } catch (const std::exception&) {
      db.reset();
      metrics_.db_ok = false;
    }
    if (kafka) {
      RdKafka::Metadata* md = nullptr;
      RdKafka::ErrorCode rc = kafka->metadata(false, nullptr, &md, 1500);
      metrics_.broker_ok = rc == RdKafka::ERR_NO_ERROR;
      delete md;
    }
    std::unique_lock<std::mutex> l(mu_);
    if (cv_.wait_for(l, std::chrono::milliseconds(interval_ms_), [&] { return stop_; })) return;
  }
}

}  // namespace hub::worker
