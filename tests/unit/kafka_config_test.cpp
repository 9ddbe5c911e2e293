#include "kafka/config.hpp"

#include <gtest/gtest.h>
#include <librdkafka/rdkafkacpp.h>

#include "common/error.hpp"

namespace hub::kafka {
namespace {

std::string Get(RdKafka::Conf& conf, const std::string& name) {
  std::string value;
  EXPECT_EQ(conf.get(name, value), RdKafka::Conf::CONF_OK) << name;
  return value;
}

// The message of the ConfigError thrown by MakeKafkaConf, or "" when none.
std::string ConfigErrorOf(const KafkaProperties& extra) {
  try {
    MakeKafkaConf("127.0.0.1:9092", extra);
  } catch (const common::ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(KafkaConfig, BrokersBecomeBootstrapServers) {
  auto conf = MakeKafkaConf("a:9092,b:9093", {});
  EXPECT_EQ(Get(*conf, "bootstrap.servers"), "a:9092,b:9093");
}

TEST(KafkaConfig, TheConsumersDeliveryPropertiesWinOverTheOperatorsExtras) {
  // Offsets are stored by the worker after the transaction commits; an
  // operator's property must not turn that into auto-store (lost events).
  auto conf = MakeConsumerConf("a:9092",
                               {{"enable.auto.offset.store", "true"}, {"group.id", "other"}, {"linger.ms", "7"}},
                               {"hub-workers", 100, 10000});
  EXPECT_EQ(Get(*conf, "enable.auto.offset.store"), "false");
  EXPECT_EQ(Get(*conf, "group.id"), "hub-workers");
  EXPECT_EQ(Get(*conf, "partition.assignment.strategy"), "cooperative-sticky");
  EXPECT_EQ(Get(*conf, "heartbeat.interval.ms"), "2500");
  EXPECT_EQ(Get(*conf, "linger.ms"), "7");  // what the consumer does not decide stays the operator's
}

TEST(KafkaConfig, ExtraPropertiesAreApplied) {
  auto conf = MakeKafkaConf("a:9092", {{"security.protocol", "sasl_ssl"},
                                       {"sasl.mechanisms", "SCRAM-SHA-512"},
                                       {"sasl.username", "hub"},
                                       {"sasl.password", "pw"},
                                       {"linger.ms", "7"}});
  EXPECT_EQ(Get(*conf, "security.protocol"), "sasl_ssl");
  EXPECT_EQ(Get(*conf, "sasl.mechanisms"), "SCRAM-SHA-512");
  EXPECT_EQ(Get(*conf, "sasl.username"), "hub");
  EXPECT_EQ(Get(*conf, "linger.ms"), "7");
}

TEST(KafkaConfig, ExtraCanOverrideBootstrapServers) {
  auto conf = MakeKafkaConf("a:9092", {{"bootstrap.servers", "b:9092"}});
  EXPECT_EQ(Get(*conf, "bootstrap.servers"), "b:9092");
}

TEST(KafkaConfig, UnknownPropertyIsAConfigErrorNamingSettingAndProperty) {
  std::string msg = ConfigErrorOf({{"no.such.property", "value-123"}});
  EXPECT_NE(msg.find("HUB_KAFKA_CONFIG"), std::string::npos) << msg;
  EXPECT_NE(msg.find("no.such.property"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("value-123"), std::string::npos) << msg;
}

TEST(KafkaConfig, InvalidValueIsAConfigErrorThatNeverEchoesTheValue) {
  // librdkafka's own message would quote the value; it may be a password.
  for (const auto& [name, value] : KafkaProperties{{"security.protocol", "Sup3rS3cret!"},
                                                   {"enable.idempotence", "Sup3rS3cret!"},
                                                   {"linger.ms", "-987654"}}) {
    std::string msg = ConfigErrorOf({{name, value}});
    ASSERT_FALSE(msg.empty()) << name;
    EXPECT_NE(msg.find("HUB_KAFKA_CONFIG"), std::string::npos) << msg;
    EXPECT_NE(msg.find(name), std::string::npos) << msg;
    EXPECT_EQ(msg.find(value), std::string::npos) << msg;
  }
}

TEST(KafkaConfig, EmptyPropertyNameIsAConfigError) {
  EXPECT_NE(ConfigErrorOf({{"", "x"}}).find("HUB_KAFKA_CONFIG"), std::string::npos);
}

}  // namespace
}  // namespace hub::kafka
