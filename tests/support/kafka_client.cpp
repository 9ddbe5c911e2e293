#include "tests/support/kafka_client.hpp"

#include <librdkafka/rdkafkacpp.h>

#include <stdexcept>

namespace hub::testing {
namespace {
std::unique_ptr<RdKafka::Conf> Conf(const std::string& brokers) {
  std::unique_ptr<RdKafka::Conf> c(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string err;
  c->set("bootstrap.servers", brokers, err);
  return c;
}
}  // namespace

TestProducer::TestProducer(const std::string& brokers) {
  auto c = Conf(brokers);
  std::string err;
  c->set("enable.idempotence", "true", err);
  c->set("linger.ms", "5", err);
  c->set("partitioner", "murmur2_random", err);
  producer_.reset(RdKafka::Producer::create(c.get(), err));
  if (!producer_) throw std::runtime_error("test producer: " + err);
}

TestProducer::~TestProducer() {
  if (producer_) producer_->flush(5000);
}

void TestProducer::Produce(const std::string& topic, const std::string& key, const std::string& value,
                           const std::vector<std::pair<std::string, std::string>>& headers) {
  RdKafka::Headers* hs = RdKafka::Headers::create();
  for (const auto& [k, v] : headers) hs->add(k, v);
  for (;;) {
    RdKafka::ErrorCode rc = producer_->produce(topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
                                               const_cast<char*>(value.data()), value.size(), key.data(), key.size(),
                                               0, hs, nullptr);
    if (rc == RdKafka::ERR_NO_ERROR) return;
    if (rc != RdKafka::ERR__QUEUE_FULL) {
      delete hs;
      throw std::runtime_error("produce: " + RdKafka::err2str(rc));
    }
    producer_->poll(50);  // local queue full: let deliveries drain
  }
}

void TestProducer::Flush(std::chrono::milliseconds timeout) {
  RdKafka::ErrorCode rc = producer_->flush(static_cast<int>(timeout.count()));
  if (rc != RdKafka::ERR_NO_ERROR) throw std::runtime_error("flush: " + RdKafka::err2str(rc));
}

TestConsumer::TestConsumer(const std::string& brokers, const std::string& topic) {
  auto c = Conf(brokers);
  std::string err;
  c->set("group.id", "hub-test-reader", err);  // required by the API; no subscribe, so no group join
  c->set("enable.auto.commit", "false", err);
  c->set("fetch.wait.max.ms", "10", err);
  consumer_.reset(RdKafka::KafkaConsumer::create(c.get(), err));
  if (!consumer_) throw std::runtime_error("test consumer: " + err);
  // Find the partitions (the topic may be auto-created on first use).
  std::unique_ptr<RdKafka::Topic> t(RdKafka::Topic::create(consumer_.get(), topic, nullptr, err));
  int partitions = 0;
  for (int attempt = 0; attempt < 50 && partitions == 0; ++attempt) {
    RdKafka::Metadata* md = nullptr;
    if (consumer_->metadata(false, t.get(), &md, 2000) == RdKafka::ERR_NO_ERROR) {
      for (const auto* tm : *md->topics())
        if (tm->topic() == topic) partitions = static_cast<int>(tm->partitions()->size());
    }
    delete md;
  }
  if (partitions == 0) throw std::runtime_error("topic has no partitions: " + topic);
  std::vector<RdKafka::TopicPartition*> tps;
  for (int p = 0; p < partitions; ++p)
    tps.push_back(RdKafka::TopicPartition::create(topic, p, RdKafka::Topic::OFFSET_BEGINNING));
  consumer_->assign(tps);
  RdKafka::TopicPartition::destroy(tps);
}

TestConsumer::~TestConsumer() {
  if (consumer_) consumer_->close();
}

bool TestConsumer::PollUntil(const std::function<bool(const std::vector<ReceivedMessage>&)>& done,
                             std::chrono::milliseconds deadline) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (!done(messages_)) {
    if (std::chrono::steady_clock::now() >= end) return false;
    std::unique_ptr<RdKafka::Message> m(consumer_->consume(100));
    if (!m || m->err() != RdKafka::ERR_NO_ERROR) continue;
    ReceivedMessage r;
    r.topic = m->topic_name();
    r.partition = m->partition();
    r.offset = m->offset();
    if (m->key()) r.key = *m->key();
    r.value.assign(static_cast<const char*>(m->payload()), m->len());
    if (const RdKafka::Headers* hs = m->headers())
      for (const auto& h : hs->get_all())
        r.headers[h.key()] = std::string(static_cast<const char*>(h.value()), h.value_size());
    messages_.push_back(std::move(r));
  }
  return true;
}

}  // namespace hub::testing
