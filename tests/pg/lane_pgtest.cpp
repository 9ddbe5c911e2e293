// A lane against a real PostgreSQL, fed real Kafka messages (read back from an
// in-process mock cluster): what it reports to the consume loop when a
// partition fails while some of its messages are stale or still queued.
//
// The consume loop rewinds a partition only for a failure reported under the
// partition's current epoch, and stores offsets up to `done_through`; these
// tests pin down the two lane behaviours that this relies on.
#include <gtest/gtest.h>

#include <librdkafka/rdkafkacpp.h>

#include <memory>
#include <stdexcept>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "consumers/lane.hpp"
#include "tests/support/kafka_client.hpp"
#include "tests/support/mock_kafka.hpp"
#include "tests/support/pg_fixture.hpp"
#include "worker/seed.hpp"

namespace hub {
namespace {
using namespace std::chrono_literals;
using consumers::Completion;
using consumers::LaneMessage;
using consumers::SharedPartition;

constexpr const char* kTopic = "hub.workflow.triggered";

class NoDeadLetters : public producers::DeadLetterSink {
 public:
  void Send(const std::vector<producers::DeadLetter>& letters) override {
    ADD_FAILURE() << "unexpected dead letter: " << letters.at(0).reason;
  }
};

class LaneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    worker::SeedOptions o;
    o.organization_id = "org_a";
    o.user_id = "user_a";
    o.workflows = 1;
    const std::string wf = worker::SeedOrganization(db_.url(), o).at(0);
    // Event "e-2" (name "poison") fails with a serialization failure: a
    // transient error, retried by the consume loop.
    testing::InstallPoisonTrigger(db_.admin_url());

    kafka_.CreateTopic(kTopic, 1);
    testing::TestProducer producer(kafka_.bootstraps());
    for (int i = 0; i < kEvents; ++i)
      producer.Produce(kTopic, wf,
                       worker::MakeWorkflowTriggered("e-" + std::to_string(i), "org_a", wf,
                                                     i == 2 ? "poison" : "n" + std::to_string(i)),
                       {{"content-type", "application/cloudevents+json"}});
    producer.Flush();
    part_->topic = kTopic;
    part_->partition = 0;
    lane_ = std::make_unique<consumers::Lane>(0, consumers::LaneOptions{db_.url(), "hub.", 2000, nullptr, 0},
                                              schemas_, dead_letters_, completions_, metrics_);
  }

  void TearDown() override {
    lane_.reset();  // the messages it held go before the consumer they came from
    if (reader_) reader_->close();
  }

  // Offsets [from, to) of partition 0, read from the broker, as the consume
  // loop would dispatch them under `epoch`; `isolate` as for a retry.
  std::vector<LaneMessage> Messages(int64_t from, int64_t to, uint32_t epoch, bool isolate) {
    if (!reader_) {
      std::string err;
      std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
      conf->set("bootstrap.servers", kafka_.bootstraps(), err);
      conf->set("group.id", "lane-test", err);
      reader_.reset(RdKafka::KafkaConsumer::create(conf.get(), err));
      if (!reader_) throw std::runtime_error("kafka consumer: " + err);
    }
    std::unique_ptr<RdKafka::TopicPartition> tp(RdKafka::TopicPartition::create(kTopic, 0, from));
    std::vector<RdKafka::TopicPartition*> assignment{tp.get()};
    reader_->assign(assignment);
    std::vector<LaneMessage> out;
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (static_cast<int64_t>(out.size()) < to - from && std::chrono::steady_clock::now() < deadline) {
      std::unique_ptr<RdKafka::Message> m(reader_->consume(100));
      if (!m || m->err() != RdKafka::ERR_NO_ERROR) continue;
      if (m->offset() != from + static_cast<int64_t>(out.size())) continue;  // of an earlier assignment
      LaneMessage lm;
      lm.part = part_;
      lm.epoch = epoch;
      lm.isolate = isolate;
      lm.msg = std::move(m);
      out.push_back(std::move(lm));
    }
    EXPECT_EQ(static_cast<int64_t>(out.size()), to - from);
    return out;
  }

  // The next completion the lane reports (it reports one per partition per batch).
  Completion NextCompletion() {
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < deadline) {
      std::vector<Completion> got = completions_.Take();
      if (!got.empty()) {
        EXPECT_EQ(got.size(), 1u);
        return std::move(got.front());
      }
      completions_.WaitForPush(100ms);
    }
    ADD_FAILURE() << "no completion within 60 s";
    return {};
  }

  int64_t Executions() {
    pqxx::connection c(db_.admin_url());
    pqxx::nontransaction q(c);
    return q.exec1("SELECT count(*) FROM workflow_executions")[0].as<int64_t>();
  }

  static constexpr int kEvents = 10;
  testing::PgDatabase db_;
  testing::MockKafka kafka_;
  consumers::SchemaRegistry schemas_{consumers::SchemaRegistry::DefaultDir()};
  NoDeadLetters dead_letters_;
  consumers::CompletionQueue completions_;
  common::Metrics metrics_;
  std::shared_ptr<SharedPartition> part_ = std::make_shared<SharedPartition>();
  std::unique_ptr<RdKafka::KafkaConsumer> reader_;  // reads the messages fed to the lane
  std::unique_ptr<consumers::Lane> lane_;
};

TEST_F(LaneTest, AFailedRetryIsReportedUnderTheLiveEpochEvenBehindStaleMessages) {
  // The partition was rewound to offset 2 (epoch 0 -> 1).  The lane still holds
  // offsets 5..9 dispatched before the seek when 2..9 arrive again: one batch
  // of stale then live messages, and the retried event fails again.
  part_->epoch = 1;
  std::vector<LaneMessage> batch = Messages(5, 10, 0, false);
  for (auto& m : Messages(2, 10, 1, true)) batch.push_back(std::move(m));
  lane_->Push(std::move(batch));
  const Completion c = NextCompletion();
  EXPECT_EQ(c.epoch, 1u) << "a failure under a stale epoch is ignored by the consume loop: the partition stalls";
  EXPECT_EQ(c.failed_at, 2);
  EXPECT_EQ(c.done_through, -1);
  EXPECT_EQ(c.retired, 13);
  EXPECT_NE(c.error.find("simulated serialization failure"), std::string::npos) << c.error;
  EXPECT_EQ(Executions(), 0);
}

TEST_F(LaneTest, AfterAFailureThePartitionsQueuedMessagesWaitForTheRewind) {
  // Offsets 0..4 fail in one transaction (offset 2 is poison).  Offsets 5..9,
  // dispatched under the same epoch before the consume loop rewinds, must not
  // be applied ahead of them (per-key order) nor reported done (their offsets
  // would be stored past events that were never applied).
  lane_->Push(Messages(0, 5, 0, false));
  const Completion failed = NextCompletion();
  EXPECT_EQ(failed.epoch, 0u);
  EXPECT_EQ(failed.failed_at, 0);
  EXPECT_EQ(failed.retired, 5);
  lane_->Push(Messages(5, 10, 0, false));
  const Completion after = NextCompletion();
  EXPECT_EQ(after.failed_at, -1);
  EXPECT_EQ(after.done_through, -1);
  EXPECT_EQ(after.retired, 5);
  EXPECT_EQ(Executions(), 0);

  // The consume loop rewinds (epoch 1) and offsets 0..9 come again, the
  // failing one isolated: the events before it are applied, the rest wait.
  part_->epoch = 1;
  lane_->Push(Messages(0, 10, 1, true));
  const Completion retried = NextCompletion();
  EXPECT_EQ(retried.epoch, 1u);
  EXPECT_EQ(retried.done_through, 1);
  EXPECT_EQ(retried.failed_at, 2);
  EXPECT_EQ(retried.retired, 10);
  EXPECT_EQ(Executions(), 2);
}

}  // namespace
}  // namespace hub
