#include "tests/chaos/producer.hpp"

#include <librdkafka/rdkafkacpp.h>

#include <stdexcept>

namespace hub::chaos {

class LoadProducer::Reports : public RdKafka::DeliveryReportCb {
 public:
  void dr_cb(RdKafka::Message& m) override {
    if (m.err() == RdKafka::ERR_NO_ERROR) {
      ++delivered;
    } else if (failed++ == 0) {
      first_error = m.errstr();
    }
  }
  int64_t delivered = 0, failed = 0;
  std::string first_error;
};

LoadProducer::LoadProducer(const std::string& brokers) : reports_(std::make_unique<Reports>()) {
  std::unique_ptr<RdKafka::Conf> c(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string err;
  if (c->set("bootstrap.servers", brokers, err) != RdKafka::Conf::CONF_OK ||
      c->set("enable.idempotence", "true", err) != RdKafka::Conf::CONF_OK ||
      c->set("linger.ms", "5", err) != RdKafka::Conf::CONF_OK ||
      // One request in flight, as the worker's producer: with more, a failed
      // request followed by a successful one is taken as written (real Kafka
      // would refuse the second for the gap in the sequence; the embedded
      // mock does not check sequences of non-transactional producers), and
      // the failed request's events are lost.
      c->set("max.in.flight.requests.per.connection", "1", err) != RdKafka::Conf::CONF_OK ||
      c->set("log_level", "3", err) != RdKafka::Conf::CONF_OK ||
      // A request the embedded broker never answers (it happens after a broker
      // went down or had added RTT) is given up after 10 s, not 60 s.
      c->set("socket.timeout.ms", "10000", err) != RdKafka::Conf::CONF_OK ||
      c->set("dr_cb", reports_.get(), err) != RdKafka::Conf::CONF_OK)
    throw std::runtime_error("load producer: " + err);
  producer_.reset(RdKafka::Producer::create(c.get(), err));
  if (!producer_) throw std::runtime_error("load producer: " + err);
}

LoadProducer::~LoadProducer() {
  if (producer_) producer_->flush(5000);
}

void LoadProducer::Produce(const std::string& topic, const std::string& key, const std::string& value) {
  for (;;) {
    RdKafka::Headers* hs = RdKafka::Headers::create();
    hs->add("content-type", "application/cloudevents+json");
    const RdKafka::ErrorCode rc =
        producer_->produce(topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
                           const_cast<char*>(value.data()), value.size(), key.data(), key.size(), 0, hs, nullptr);
    if (rc == RdKafka::ERR_NO_ERROR) return;  // the headers now belong to the message
    delete hs;
    if (rc != RdKafka::ERR__QUEUE_FULL) throw std::runtime_error("produce: " + RdKafka::err2str(rc));
    producer_->poll(50);  // local queue full: let deliveries drain
  }
}

void LoadProducer::Poll() { producer_->poll(0); }

bool LoadProducer::Flush(int timeout_ms) { return producer_->flush(timeout_ms) == RdKafka::ERR_NO_ERROR; }

int64_t LoadProducer::delivered() const { return reports_->delivered; }
int64_t LoadProducer::failed() const { return reports_->failed; }
const std::string& LoadProducer::first_error() const { return reports_->first_error; }

}  // namespace hub::chaos
