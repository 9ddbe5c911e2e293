#include "kafka/config.hpp"

#include <algorithm>

#include <librdkafka/rdkafkacpp.h>

#include <stdexcept>

#include "common/error.hpp"
#include "common/log.hpp"

namespace hub::kafka {
namespace {

// librdkafka sometimes quotes the rejected value in its message
// ("Invalid value \"s3cr3t\" for ..."): hide every occurrence of it.
std::string HideValue(std::string text, const std::string& value) {
  if (value.empty()) return text;
  static const std::string kHidden = "<value hidden>";
  for (size_t pos = text.find(value); pos != std::string::npos; pos = text.find(value, pos + kHidden.size())) {
    text.replace(pos, value.size(), kHidden);
  }
  return text;
}

common::LogLevel LevelOf(RdKafka::Event::Severity s) {
  if (s <= RdKafka::Event::EVENT_SEVERITY_ERROR) return common::LogLevel::kError;
  if (s == RdKafka::Event::EVENT_SEVERITY_WARNING) return common::LogLevel::kWarn;
  if (s <= RdKafka::Event::EVENT_SEVERITY_INFO) return common::LogLevel::kInfo;
  return common::LogLevel::kDebug;
}

class LogOnlyEventCb : public RdKafka::EventCb {
 public:
  void event_cb(RdKafka::Event& e) override { LogKafkaEvent(e); }
};

}  // namespace

void LogKafkaEvent(RdKafka::Event& e) {
  if (e.type() != RdKafka::Event::EVENT_LOG) return;
  common::LogLevel level = LevelOf(e.severity());
  if (e.fac() == "FAIL" || (e.fac() == "CONFWARN" && e.str().find("experimental") != std::string::npos))
    level = common::LogLevel::kDebug;
  if (common::LogEnabled(level)) common::Log(level, "librdkafka", {{"facility", e.fac()}, {"detail", e.str()}});
}

void RouteKafkaLogs(RdKafka::Conf& conf) {
  static LogOnlyEventCb cb;  // stateless; shared by every client that only logs
  std::string err;
  if (conf.set("event_cb", static_cast<RdKafka::EventCb*>(&cb), err) != RdKafka::Conf::CONF_OK)
    throw std::logic_error("librdkafka event_cb: " + err);
}

void ApplyKafkaConfig(RdKafka::Conf& conf, const KafkaProperties& extra) {
  for (const auto& [name, value] : extra) {
    if (name.empty()) throw common::ConfigError("HUB_KAFKA_CONFIG: empty property name (expected k=v,k=v)");
    std::string err;
    switch (conf.set(name, value, err)) {
      case RdKafka::Conf::CONF_OK:
        break;
      case RdKafka::Conf::CONF_UNKNOWN:
        throw common::ConfigError("HUB_KAFKA_CONFIG: unknown librdkafka property \"" + name + "\"");
      case RdKafka::Conf::CONF_INVALID:
      default:
        throw common::ConfigError("HUB_KAFKA_CONFIG: invalid value for librdkafka property \"" + name +
                                  "\" (value not shown): " + HideValue(err, value));
    }
  }
}

std::unique_ptr<RdKafka::Conf> MakeKafkaConf(const std::string& brokers, const KafkaProperties& extra) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  if (!brokers.empty()) {
    std::string err;
    if (conf->set("bootstrap.servers", brokers, err) != RdKafka::Conf::CONF_OK) {
      throw common::ConfigError("HUB_KAFKA_BROKERS: " + err);
    }
  }
  ApplyKafkaConfig(*conf, extra);
  return conf;
}

void SetKafkaProperty(RdKafka::Conf& conf, const std::string& name, const std::string& value) {
  std::string err;
  if (conf.set(name, value, err) != RdKafka::Conf::CONF_OK) {
    throw std::logic_error("librdkafka property " + name + ": " + err);
  }
}

std::unique_ptr<RdKafka::Conf> MakeConsumerConf(const std::string& brokers, const KafkaProperties& extra,
                                                const ConsumerSettings& consumer) {
  std::unique_ptr<RdKafka::Conf> conf = MakeKafkaConf(brokers, extra);
  SetKafkaProperty(*conf, "group.id", consumer.group);
  SetKafkaProperty(*conf, "partition.assignment.strategy", "cooperative-sticky");
  SetKafkaProperty(*conf, "enable.auto.offset.store", "false");
  SetKafkaProperty(*conf, "enable.auto.commit", "true");
  SetKafkaProperty(*conf, "auto.commit.interval.ms", "1000");
  SetKafkaProperty(*conf, "auto.offset.reset", "earliest");
  SetKafkaProperty(*conf, "fetch.wait.max.ms", std::to_string(consumer.fetch_wait_ms));
  SetKafkaProperty(*conf, "session.timeout.ms", std::to_string(consumer.session_timeout_ms));
  SetKafkaProperty(*conf, "heartbeat.interval.ms", std::to_string(std::max(500, consumer.session_timeout_ms / 4)));
  // Bound librdkafka's own prefetch buffer (backpressure and RSS).
  SetKafkaProperty(*conf, "queued.max.messages.kbytes", "16384");
  return conf;
}

}  // namespace hub::kafka
