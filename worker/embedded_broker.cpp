#include "worker/embedded_broker.hpp"

// rdkafka.h must come before rdkafka_mock.h (TOOLCHAIN.md).
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <algorithm>
#include <stdexcept>

#include "common/log.hpp"

namespace hub::worker {
namespace {

// librdkafka's log callback, called on librdkafka threads.  The mock's own
// chatter is debug-level for us; warnings and errors stay visible.
void LogFromLibrdkafka(const rd_kafka_t*, int level, const char* fac, const char* buf) {
  common::LogLevel l = common::LogLevel::kDebug;
  if (level <= 3) l = common::LogLevel::kError;       // LOG_ERR and worse
  else if (level == 4) l = common::LogLevel::kWarn;   // LOG_WARNING
  if (!common::LogEnabled(l)) return;
  common::Log(l, "embedded broker: librdkafka", {{"facility", fac}, {"message", buf}});
}

}  // namespace

std::vector<std::string> EmbeddedBroker::ContractTopics(const std::string& prefix) {
  static const char* const kNames[] = {
      "workflow.triggered", "order.submitted",  "integration.webhook",   "workflow.completed",
      "order.milestone",    "order.completed",  "integration.processed", "deadletter",
  };
  std::vector<std::string> out;
  for (const char* n : kNames) out.push_back(prefix + n);
  return out;
}

EmbeddedBroker::EmbeddedBroker(int brokers, int partitions, const std::string& topic_prefix)
    : brokers_(brokers), partitions_(partitions), topics_(ContractTopics(topic_prefix)) {
  if (brokers < 1) throw std::invalid_argument("embedded broker: broker count must be >= 1");
  if (partitions < 1) throw std::invalid_argument("embedded broker: partition count must be >= 1");

  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set_log_cb(conf, LogFromLibrdkafka);
  // The handle only hosts the cluster; it never connects anywhere.  Without a
  // bootstrap list librdkafka warns once at start-up, which is expected here.
  if (rd_kafka_conf_set(conf, "client.id", "hub-embedded-broker", err, sizeof err) != RD_KAFKA_CONF_OK) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(std::string("embedded broker: ") + err);
  }
  handle_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);  // takes conf on success
  if (!handle_) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(std::string("embedded broker: rd_kafka_new failed: ") + err);
  }
  cluster_ = rd_kafka_mock_cluster_new(handle_, brokers);
  if (!cluster_) {
    rd_kafka_destroy(handle_);
    throw std::runtime_error("embedded broker: rd_kafka_mock_cluster_new failed");
  }
  bootstrap_ = rd_kafka_mock_cluster_bootstraps(cluster_);

  const int replication = std::min(3, brokers);
  for (const auto& t : topics_) {
    const rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(cluster_, t.c_str(), partitions, replication);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      const std::string what = "embedded broker: creating topic " + t + " failed: " + rd_kafka_err2str(e);
      rd_kafka_mock_cluster_destroy(cluster_);
      rd_kafka_destroy(handle_);
      throw std::runtime_error(what);
    }
  }
  common::LogInfo("embedded broker started", {{"bootstrap", bootstrap_},
                                              {"brokers", brokers},
                                              {"partitions", partitions},
                                              {"replication", replication},
                                              {"topics", static_cast<int>(topics_.size())}});
}

EmbeddedBroker::~EmbeddedBroker() {
  // The cluster first: it lives on the handle's bookkeeping.
  rd_kafka_mock_cluster_destroy(cluster_);
  rd_kafka_destroy(handle_);
}

}  // namespace hub::worker
