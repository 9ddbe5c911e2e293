// OutboxPublisher: committed outbox rows are published from memory and then
// deleted; rows whose delivery failed stay for the relay, which leaves young
// rows alone (its grace period) and takes the old ones.  Real PostgreSQL, the
// librdkafka mock cluster, a separate consumer.
#include <gtest/gtest.h>

#include "common/clock.hpp"
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>

#include <pqxx/pqxx>

#include "common/clock.hpp"
#include "common/metrics.hpp"
#include "kafka/producer.hpp"
#include "outbox/publisher.hpp"
#include "outbox/relay.hpp"
#include "store/connection.hpp"
#include "outbox/rows.hpp"
#include "tests/support/kafka_client.hpp"
#include "tests/support/mock_kafka.hpp"
#include "tests/support/pg_fixture.hpp"
#include "tests/support/process.hpp"

namespace hub::outbox {
namespace {

using namespace std::chrono_literals;
constexpr const char* kTopic = "hub.test.published";
constexpr int16_t kApiKeyProduce = 0;

class OutboxPublisherTest : public ::testing::Test {
 protected:
  OutboxPublisherTest() { kafka_.CreateTopic(kTopic, 4); }

  kafka::ProducerOptions FastFailingProducer() {
    kafka::ProducerOptions po;
    po.brokers = kafka_.bootstraps();
    po.message_timeout_ms = 3000;
    return po;
  }

  // Commits `n` outbox rows (keys k0..k4) in one transaction, as a lane does,
  // and returns them as the lane hands them over.
  CommittedOutbox Commit(int first, int n) {
    OutboxBatch batch;
    for (int i = first; i < first + n; ++i)
      batch.Add(kTopic, "k" + std::to_string(i % 5), R"({"seq":)" + std::to_string(i) + "}",
                i % 2 ? R"({"traceparent":"00-abc-def-01"})" : "{}");
    auto conn = store::ConnectWorker(db_.url());
    PrepareStatements(*conn);
    pqxx::work txn(*conn);
    batch.Flush(txn, /*notify=*/false);
    txn.commit();
    return batch.TakeCommitted();
  }

  int64_t OutboxRows() {
    pqxx::connection c(db_.url());
    pqxx::nontransaction q(c);
    return q.exec1("SELECT count(*) FROM outbox")[0].as<int64_t>();
  }

  std::multiset<std::string> Values(const testing::TestConsumer& reader) {
    std::multiset<std::string> v;
    for (const auto& m : reader.messages()) v.insert(m.value);
    return v;
  }

  // A publisher on this test's database and producer (destroy it before the fixture).
  std::unique_ptr<OutboxPublisher> MakePublisher(size_t max_queued = PublisherOptions{}.max_queued) {
    PublisherOptions o;
    o.database_url = db_.url();
    o.max_queued = max_queued;
    return std::make_unique<OutboxPublisher>(o, producer_, metrics_);
  }

  testing::MockKafka kafka_{3};
  testing::PgDatabase db_;
  common::Metrics metrics_;
  kafka::KafkaProducer producer_{FastFailingProducer()};
};

TEST_F(OutboxPublisherTest, PublishesCommittedRowsInKeyOrderAndDeletesThem) {
  auto publisher_ptr = MakePublisher();
  OutboxPublisher& publisher = *publisher_ptr;
  publisher.Start();
  for (int b = 0; b < 10; ++b) ASSERT_TRUE(publisher.Submit(Commit(b * 100, 100)));

  testing::TestConsumer reader(kafka_.bootstraps(), kTopic);
  ASSERT_TRUE(reader.PollUntil([](const auto& m) { return m.size() >= 1000; }, 30s));
  EXPECT_TRUE(testing::WaitFor([&] { return OutboxRows() == 0; }, 30s, 10ms));
  EXPECT_EQ(Values(reader).size(), 1000u);
  std::map<std::string, int> last_seq;  // per key, increasing
  for (const auto& m : reader.messages()) {
    const int seq = std::stoi(m.value.substr(7));
    auto [it, fresh] = last_seq.emplace(m.key, seq);
    if (!fresh) {
      EXPECT_LT(it->second, seq) << m.key;
      it->second = seq;
    }
    EXPECT_EQ(m.headers.at("content-type"), "application/cloudevents+json");
    if (seq % 2) {
      EXPECT_EQ(m.headers.at("traceparent"), "00-abc-def-01");
    }
  }
  EXPECT_EQ(metrics_.outbox_published.load(), 1000u);
  publisher.Stop(std::chrono::steady_clock::now() + 5s);
}

TEST_F(OutboxPublisherTest, WaitPublishedReturnsOnceEverythingSubmittedBeforeItIsDelivered) {
  auto publisher_ptr = MakePublisher();
  OutboxPublisher& publisher = *publisher_ptr;
  publisher.Start();
  for (int b = 0; b < 3; ++b) ASSERT_TRUE(publisher.Submit(Commit(b * 100, 100)));
  ASSERT_TRUE(publisher.WaitPublished(std::chrono::steady_clock::now() + 30s));
  EXPECT_EQ(metrics_.outbox_published.load(), 300u);  // acknowledged before it returned
  EXPECT_TRUE(publisher.WaitPublished(std::chrono::steady_clock::now()));  // nothing new: at once
  publisher.Stop(std::chrono::steady_clock::now() + 5s);
  EXPECT_EQ(OutboxRows(), 0);  // stopping deletes what was delivered
}

TEST_F(OutboxPublisherTest, RowsWhoseDeliveryFailedStayForTheRelayWhichWaitsOutItsGrace) {
  auto publisher_ptr = MakePublisher();
  OutboxPublisher& publisher = *publisher_ptr;
  publisher.Start();
  producer_.WarmUp({kTopic}, 5s);
  // Every Produce request is refused for good (not retriable by the client).
  std::vector<rd_kafka_resp_err_t> errors(50, RD_KAFKA_RESP_ERR_INVALID_RECORD);
  rd_kafka_mock_push_request_errors_array(kafka_.cluster(), kApiKeyProduce, errors.size(), errors.data());
  ASSERT_TRUE(publisher.Submit(Commit(0, 20)));
  ASSERT_TRUE(testing::WaitFor([&] { return metrics_.outbox_publish_errors.load() > 0; }, 30s, 10ms));
  publisher.Stop(std::chrono::steady_clock::now() + 5s);
  rd_kafka_mock_clear_request_errors(kafka_.cluster(), kApiKeyProduce);
  EXPECT_EQ(OutboxRows(), 20 - static_cast<int64_t>(metrics_.outbox_published.load()));
  const auto left = OutboxRows();
  ASSERT_GT(left, 0);

  // A relay with an hour of grace leaves them alone while they are younger
  // (its clock is a manual one: nobody waits an hour)...
  common::ManualClock clock;
  RelayOptions ro;
  ro.database_url = db_.url();
  ro.grace_ms = 3600 * 1000;
  ro.clock = &clock;
  OutboxRelay relay(ro, producer_, metrics_);
  EXPECT_EQ(relay.PublishOnce(), 0u);
  clock.Advance(std::chrono::minutes(59));
  EXPECT_EQ(relay.PublishOnce(), 0u);
  EXPECT_EQ(OutboxRows(), left);
  // ...and publishes them once they are older than its grace.
  clock.Advance(std::chrono::minutes(2));
  ASSERT_TRUE(testing::WaitFor([&] { relay.PublishOnce(); return OutboxRows() == 0; }, 30s, 10ms));
  testing::TestConsumer reader(kafka_.bootstraps(), kTopic);
  EXPECT_TRUE(reader.PollUntil([&](const auto& m) { return static_cast<int64_t>(m.size()) >= 20; }, 30s));
  EXPECT_EQ(Values(reader).size(), 20u);  // every row, none twice
}

TEST_F(OutboxPublisherTest, TakesABatchLargerThanItsBoundIntoAnEmptyQueueAndNothingWhenNotRunning) {
  auto publisher_ptr = MakePublisher(10);
  OutboxPublisher& publisher = *publisher_ptr;
  EXPECT_FALSE(publisher.Submit(Commit(0, 5)));  // not started: left to the relay
  publisher.Start();
  EXPECT_TRUE(publisher.Submit(Commit(5, 11)));  // larger than the bound, but the queue is empty
  EXPECT_TRUE(testing::WaitFor([&] { return OutboxRows() == 5; }, 30s, 10ms));
  publisher.Stop(std::chrono::steady_clock::now() + 5s);
  EXPECT_FALSE(publisher.Submit(Commit(16, 1)));  // stopped: left to the relay
  EXPECT_EQ(OutboxRows(), 6);
  EXPECT_EQ(metrics_.outbox_published.load(), 11u);
}

}  // namespace
}  // namespace hub::outbox
