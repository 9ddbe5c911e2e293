#pragma once
// librdkafka configuration shared by the consumer and the producers.
//
// HUB_KAFKA_CONFIG carries extra librdkafka properties (security.protocol,
// sasl.*, ssl.*, tuning).  They are checked here, before anything connects
// (STYLE.md #7): an unknown or invalid property is a common::ConfigError that
// names HUB_KAFKA_CONFIG and the property.  Values are never echoed — they may be
// passwords — not even inside librdkafka's own error text.
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace RdKafka {
class Conf;
class Event;
}

namespace hub::kafka {

using KafkaProperties = std::vector<std::pair<std::string, std::string>>;

// Global configuration with bootstrap.servers = `brokers` (left unset when
// empty) and then every item of `extra` applied in order.
std::unique_ptr<RdKafka::Conf> MakeKafkaConf(const std::string& brokers, const KafkaProperties& extra);

// Applies `extra` (HUB_KAFKA_CONFIG items) to `conf`; throws common::ConfigError
// on the first unknown or invalid property.  For callers that set their own
// defaults first and let the operator override them.
void ApplyKafkaConfig(RdKafka::Conf& conf, const KafkaProperties& extra);

// Sets one property that the program itself chose (not operator input): a
// failure is a programming error and throws std::logic_error naming it.
void SetKafkaProperty(RdKafka::Conf& conf, const std::string& name, const std::string& value);

// What the worker's consumer needs beyond the shared configuration.
struct ConsumerSettings {
  std::string group;
  int fetch_wait_ms = 0;
  int session_timeout_ms = 0;
};

// The consumer's configuration: MakeKafkaConf, then the properties the
// delivery contract depends on (offsets stored only after commit, cooperative
// rebalancing, bounded prefetch), which HUB_KAFKA_CONFIG cannot override.
std::unique_ptr<RdKafka::Conf> MakeConsumerConf(const std::string& brokers, const KafkaProperties& extra,
                                                const ConsumerSettings& consumer);

// A librdkafka log event through common/log at its own level, except what is
// reported elsewhere or chosen on purpose: connection failures ("FAIL", also
// error events) and warnings about experimental properties this program sets
// (enable.gapless.guarantee) are debug lines.  Other events are ignored.
void LogKafkaEvent(RdKafka::Event& e);

// Installs an event callback that only logs (LogKafkaEvent), for clients that
// have no events of their own to handle; without one librdkafka prints its
// lines to stderr itself.  `conf` must not outlive the process.
void RouteKafkaLogs(RdKafka::Conf& conf);

}  // namespace hub::kafka
