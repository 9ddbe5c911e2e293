#include "tests/chaos/topic_ids.hpp"

#include <librdkafka/rdkafkacpp.h>
#include <rapidjson/document.h>

#include <stdexcept>
#include <vector>

namespace hub::chaos {

std::unique_ptr<RdKafka::KafkaConsumer> ReadFromStart(const std::string& brokers, const std::string& topic,
                                                      int partitions) {
  std::unique_ptr<RdKafka::Conf> c(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string err;
  c->set("bootstrap.servers", brokers, err);
  c->set("group.id", "hub-chaos-reader", err);  // required by the API; assign() joins no group
  c->set("enable.auto.commit", "false", err);
  c->set("fetch.wait.max.ms", "10", err);
  c->set("log_level", "3", err);
  c->set("socket.timeout.ms", "10000", err);
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(c.get(), err));
  if (!consumer) throw std::runtime_error("reader of " + topic + ": " + err);
  std::vector<RdKafka::TopicPartition*> tps;
  for (int p = 0; p < partitions; ++p)
    tps.push_back(RdKafka::TopicPartition::create(topic, p, RdKafka::Topic::OFFSET_BEGINNING));
  consumer->assign(tps);
  RdKafka::TopicPartition::destroy(tps);
  return consumer;
}

TopicIds::TopicIds(const std::string& brokers, const std::string& topic, int partitions)
    : consumer_(ReadFromStart(brokers, topic, partitions)) {}

TopicIds::~TopicIds() {
  if (consumer_) consumer_->close();
}

void TopicIds::Poll(std::chrono::milliseconds budget) {
  const auto end = std::chrono::steady_clock::now() + budget;
  do {
    std::unique_ptr<RdKafka::Message> m(consumer_->consume(10));
    if (!m || m->err() != RdKafka::ERR_NO_ERROR) continue;  // timeouts; broker faults are retried by the client
    rapidjson::Document d;
    d.Parse(static_cast<const char*>(m->payload()), m->len());
    if (!d.HasParseError() && d.IsObject() && d.HasMember("id") && d["id"].IsString()) ids_.insert(d["id"].GetString());
  } while (std::chrono::steady_clock::now() < end);
}

}  // namespace hub::chaos
