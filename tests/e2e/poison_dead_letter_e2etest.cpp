// A dead letter must always be deliverable (issue "Poison inputs"): a record
// whose key alone nearly fills a Kafka message is dead-lettered under the
// key's SHA-256, and the events before and after it on its partition, and on
// the others, are all processed -- its partition is not rewound to it forever.
#include <gtest/gtest.h>
#include <librdkafka/rdkafkacpp.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/ids.hpp"
#include "tests/support/pipeline_fixture.hpp"

namespace hub {
namespace {
using namespace std::chrono_literals;
using testing::ReceivedMessage;
using testing::TestConsumer;

// A producer that writes to the partition it is told (the test producer of
// tests/support lets the partitioner choose) and reports each record's offset.
class PartitionProducer : public RdKafka::DeliveryReportCb {
 public:
  explicit PartitionProducer(const std::string& brokers) {
    std::unique_ptr<RdKafka::Conf> c(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    std::string err;
    c->set("bootstrap.servers", brokers, err);
    c->set("enable.idempotence", "true", err);
    c->set("dr_cb", static_cast<RdKafka::DeliveryReportCb*>(this), err);
    producer_.reset(RdKafka::Producer::create(c.get(), err));
    if (!producer_) throw std::runtime_error("producer: " + err);
  }
  ~PartitionProducer() override {
    if (producer_) producer_->flush(5000);
  }

  // Produces and waits for the delivery; returns the record's offset.
  int64_t ProduceAndWait(const std::string& topic, int32_t partition, const std::string& key,
                         const std::string& value) {
    RdKafka::Headers* hs = RdKafka::Headers::create();
    hs->add("content-type", "application/cloudevents+json");
    int64_t offset = -1;
    RdKafka::ErrorCode rc = producer_->produce(topic, partition, RdKafka::Producer::RK_MSG_COPY,
                                               const_cast<char*>(value.data()), value.size(), key.data(), key.size(),
                                               0, hs, &offset);
    if (rc != RdKafka::ERR_NO_ERROR) {
      delete hs;
      throw std::runtime_error("produce: " + RdKafka::err2str(rc));
    }
    if (producer_->flush(60000) != RdKafka::ERR_NO_ERROR || offset < 0)
      throw std::runtime_error("record not delivered: " + error_);
    return offset;
  }

  void dr_cb(RdKafka::Message& m) override {
    if (m.err() != RdKafka::ERR_NO_ERROR) error_ = m.errstr();
    else *static_cast<int64_t*>(m.msg_opaque()) = m.offset();
  }

 private:
  std::unique_ptr<RdKafka::Producer> producer_;
  std::string error_;
};

class PoisonDeadLetterTest : public testing::PipelineFixture {};

TEST_F(PoisonDeadLetterTest, ARecordWhoseKeyFillsAMessageIsDeadLetteredAndItsPartitionMovesOn) {
  auto worker = StartWorker();
  PartitionProducer producer(broker_->bootstrap());
  const std::string topic = "hub.workflow.triggered";
  constexpr int32_t kPoisoned = 3;
  std::vector<std::string> valid_ids;
  auto valid = [&](const std::string& id, int32_t partition) {
    const std::string& wf = workflows_[valid_ids.size() % workflows_.size()];
    producer.ProduceAndWait(topic, partition, wf, worker::MakeWorkflowTriggered(id, "org_a", wf, "x"));
    valid_ids.push_back(id);
  };

  for (int i = 0; i < 5; ++i) valid("before-" + std::to_string(i), kPoisoned);
  // 999,900 bytes of key and a 1-byte value fit the producer's default
  // message.max.bytes (1,000,000); the dead letter with the hub headers does not.
  const std::string huge_key(999900, 'k');
  const int64_t poisoned_offset = producer.ProduceAndWait(topic, kPoisoned, huge_key, "x");
  for (int i = 0; i < 5; ++i) valid("after-" + std::to_string(i), kPoisoned);
  for (int32_t p = 0; p < broker_->partitions(); ++p) {
    if (p != kPoisoned) valid("other-" + std::to_string(p), p);
  }

  const std::string digest = common::Sha256Hex(huge_key);
  TestConsumer dead(broker_->bootstrap(), "hub.deadletter");
  const ReceivedMessage* letter = nullptr;
  ASSERT_TRUE(dead.PollUntil(
      [&](const std::vector<ReceivedMessage>& ms) {
        for (const auto& m : ms)
          if (m.headers.count("hub-key-sha256") && m.headers.at("hub-key-sha256") == digest) letter = &m;
        return letter != nullptr;
      },
      120s))
      << "no dead letter with hub-key-sha256 " << digest << "\n"
      << worker->StderrText().substr(0, 20000) << Progress();
  EXPECT_EQ(letter->key, digest);
  EXPECT_TRUE(letter->value.empty());
  EXPECT_EQ(letter->headers.at("hub-error-class"), "schema");
  EXPECT_EQ(letter->headers.at("hub-source-topic"), topic);
  EXPECT_EQ(letter->headers.at("hub-source-partition"), std::to_string(kPoisoned));
  EXPECT_EQ(letter->headers.at("hub-source-offset"), std::to_string(poisoned_offset));
  EXPECT_EQ(letter->headers.at("hub-key-omitted"), "999900");
  EXPECT_EQ(letter->headers.at("hub-value-omitted"), "1");
  EXPECT_FALSE(letter->headers.at("hub-error").empty());

  // Every valid event completed, those after the record on its partition too.
  TestConsumer completions(broker_->bootstrap(), "hub.workflow.completed");
  ASSERT_TRUE(WaitDistinctCompletions(completions, valid_ids.size(), 120s))
      << worker->StderrText().substr(0, 20000) << Progress();
  std::set<std::string> triggers;
  for (const auto& m : completions.messages()) triggers.insert(testing::JsonString(m.value, "data", "triggerEventId"));
  for (const auto& id : valid_ids) EXPECT_EQ(triggers.count(id), 1u) << id;
  EXPECT_EQ(Count("SELECT count(*) FROM workflow_executions"), static_cast<int64_t>(valid_ids.size()));

  std::cout << "worker peak RSS (VmHWM): " << testing::PeakRssKb(worker->pid()) / 1024 << " MiB\n";
  StopWorker(*worker);
}

}  // namespace
}  // namespace hub
