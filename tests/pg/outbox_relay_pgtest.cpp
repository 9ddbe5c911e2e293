// OutboxRelay against a real PostgreSQL (a fresh migrated database per test)
// and an in-process librdkafka mock cluster.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <librdkafka/rdkafkacpp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/pqxx>

#include "common/metrics.hpp"
#include "outbox/shard.hpp"
#include "kafka/producer.hpp"
#include "outbox/relay.hpp"
#include "store/pg_array.hpp"
#include "tests/support/mock_kafka.hpp"
#include "tests/support/pg_fixture.hpp"
#include "tests/support/process.hpp"

namespace hub::outbox {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr const char* kTopic = "hub.test.out";
constexpr int kPartitions = 4;
constexpr int16_t kApiKeyProduce = 0;  // Kafka protocol ApiKey of Produce requests

// Polls `cond` until it holds or `timeout` passes.
bool WaitFor(const std::function<bool()>& cond, std::chrono::milliseconds timeout = 30s) {
  return testing::WaitFor(cond, timeout, 5ms);
}


struct Received {
  int32_t partition = 0;
  int64_t offset = 0;
  std::string key, value;
  std::map<std::string, std::string> headers;
};

// Reads every partition of kTopic from the beginning (assign(), no group).
class Reader {
 public:
  explicit Reader(const std::string& brokers) {
    std::string err;
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    conf->set("bootstrap.servers", brokers, err);
    conf->set("group.id", "outbox-relay-test-reader", err);
    conf->set("enable.auto.commit", "false", err);
    conf->set("fetch.wait.max.ms", "10", err);
    conf->set("log_level", "2", err);  // quiet while a test holds the broker down
    consumer_.reset(RdKafka::KafkaConsumer::create(conf.get(), err));
    if (!consumer_) throw std::runtime_error(err);
    std::vector<RdKafka::TopicPartition*> parts;
    for (int p = 0; p < kPartitions; ++p)
      parts.push_back(RdKafka::TopicPartition::create(kTopic, p, RdKafka::Topic::OFFSET_BEGINNING));
    consumer_->assign(parts);
    RdKafka::TopicPartition::destroy(parts);
  }
  ~Reader() { consumer_->close(); }

  bool PollUntil(const std::function<bool(const std::vector<Received>&)>& done, std::chrono::milliseconds timeout = 30s) {
    auto deadline = Clock::now() + timeout;
    while (!done(messages_)) {
      if (Clock::now() >= deadline) return false;
      std::unique_ptr<RdKafka::Message> m(consumer_->consume(50));
      if (m->err() != RdKafka::ERR_NO_ERROR) continue;
      Received r;
      r.partition = m->partition();
      r.offset = m->offset();
      if (m->key()) r.key = *m->key();
      r.value.assign(static_cast<const char*>(m->payload()), m->len());
      if (m->headers()) {
        for (const auto& h : m->headers()->get_all())
          r.headers[h.key()] = std::string(static_cast<const char*>(h.value()), h.value_size());
      }
      messages_.push_back(std::move(r));
    }
    return true;
  }
  bool PollUntilCount(size_t n, std::chrono::milliseconds timeout = 30s) {
    return PollUntil([n](const std::vector<Received>& m) { return m.size() >= n; }, timeout);
  }
  // Reads every partition up to its current high watermark: everything on the
  // topic now, duplicates included (a count can be reached by duplicates
  // before the last rows are read).
  bool ReadToEnd(std::chrono::milliseconds timeout = 30s) {
    std::map<int32_t, int64_t> high;
    for (int p = 0; p < kPartitions; ++p) {
      int64_t lo = 0, hi = 0;
      if (consumer_->query_watermark_offsets(kTopic, p, &lo, &hi, 5000) != RdKafka::ERR_NO_ERROR) return false;
      high[p] = hi;
    }
    return PollUntil(
        [&high](const std::vector<Received>& msgs) {
          std::map<int32_t, int64_t> next;
          for (const Received& m : msgs) next[m.partition] = std::max(next[m.partition], m.offset + 1);
          for (const auto& [p, hi] : high)
            if (next[p] < hi) return false;
          return true;
        },
        timeout);
  }
  const std::vector<Received>& messages() const { return messages_; }

 private:
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  std::vector<Received> messages_;
};

std::string KeyOf(int64_t seq, int keys) { return "k" + std::to_string(seq % keys); }

int64_t SeqOf(const std::string& value) {
  auto pos = value.find("\"seq\":");
  if (pos == std::string::npos) throw std::runtime_error("no seq in " + value);
  return std::stoll(value.substr(pos + 6));
}

// Inserts rows seq = first..first+n-1 (key k<seq % keys>) in one transaction
// with the NOTIFY the writers send, as the processing path does.
void InsertRows(pqxx::connection& conn, int64_t first, int n, int keys, const std::string& headers = "{}",
                const std::string& created_at_offset = "0 seconds", size_t payload_bytes = 0) {
  using store::PgElement;
  store::PgArray shard(PgElement::kInt2), topic(PgElement::kText), key(PgElement::kText), payload(PgElement::kText),
      hdrs(PgElement::kJsonb);
  for (int64_t seq = first; seq < first + n; ++seq) {
    std::string k = KeyOf(seq, keys);
    shard.AddInt(OutboxShard(k));
    topic.Add(kTopic);
    key.Add(k);
    std::string p = R"({"specversion":"1.0","key":")" + k + R"(","seq":)" + std::to_string(seq);
    if (p.size() + 12 < payload_bytes) p += R"(,"data":")" + std::string(payload_bytes - p.size() - 12, 'x') + '"';
    payload.Add(p + "}");
    hdrs.Add(headers);
  }
  pqxx::work tx(conn);
  tx.exec_params(
      "INSERT INTO outbox (shard, topic, kafka_key, payload, headers, created_at)"
      " SELECT s, t, k, p, h, now() - $6::interval"
      " FROM unnest($1::smallint[], $2::text[], $3::text[], $4::text[], $5::jsonb[]) AS u(s, t, k, p, h)",
      shard.param(), topic.param(), key.param(), payload.param(), hdrs.param(), created_at_offset);
  tx.exec("SELECT pg_notify('hub_outbox', '')");
  tx.commit();
}

int64_t OutboxCount(pqxx::connection& conn) {
  pqxx::nontransaction tx(conn);
  return tx.exec1("SELECT count(*) FROM outbox")[0].as<int64_t>();
}

// Every seq in [0, n) arrived; each key's events arrived in seq order (by
// first occurrence); with `exactly_once`, no seq arrived twice.
void ExpectAllInKeyOrder(const std::vector<Received>& msgs, int64_t n, bool exactly_once) {
  std::map<int64_t, int> seen;
  std::map<std::string, int64_t> last_per_key;
  std::map<std::string, int32_t> partition_of_key;
  int reordered = 0;
  for (const Received& m : msgs) {
    int64_t seq = SeqOf(m.value);
    auto [pit, first_key_msg] = partition_of_key.emplace(m.key, m.partition);
    EXPECT_EQ(pit->second, m.partition) << "key " << m.key << " on two partitions";
    if (seen[seq]++ > 0) continue;  // a duplicate: only first occurrences carry the order
    auto it = last_per_key.find(m.key);
    if (it != last_per_key.end() && seq < it->second) ++reordered;
    last_per_key[m.key] = std::max(seq, it == last_per_key.end() ? seq : it->second);
  }
  EXPECT_EQ(reordered, 0) << "events of one key out of order";
  int missing = 0, duplicated = 0;
  for (int64_t seq = 0; seq < n; ++seq) {
    auto it = seen.find(seq);
    if (it == seen.end()) {
      ++missing;
    } else if (it->second > 1) {
      ++duplicated;
    }
  }
  EXPECT_EQ(missing, 0);
  if (exactly_once) {
    EXPECT_EQ(duplicated, 0);
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(n)) << "unexpected seqs";
}

kafka::ProducerOptions ProducerFor(const testing::MockKafka& kafka) {
  kafka::ProducerOptions o;
  o.brokers = kafka.bootstraps();
  o.extra = {{"reconnect.backoff.max.ms", "200"}, {"log_level", "3"}};
  return o;
}

const common::SystemClock& SystemClockForTests() {
  static const common::SystemClock clock;
  return clock;
}

RelayOptions RelayFor(const testing::PgDatabase& db, int batch = 2000) {
  RelayOptions o;
  o.database_url = db.url();
  o.batch = batch;
  o.poll_ms = 200;
  o.sample_ms = 100;
  o.clock = &SystemClockForTests();
  return o;
}

// The URL with application_name set, so a test can find the relay's session.
std::string WithApplicationName(const std::string& url, const std::string& name) {
  return url + (url.find('?') == std::string::npos ? "?" : "&") + "application_name=" + name;
}

class OutboxRelayTest : public ::testing::Test {
 protected:
  OutboxRelayTest() { kafka.CreateTopic(kTopic, kPartitions); }
  testing::PgDatabase db;
  testing::MockKafka kafka;
  pqxx::connection writer{db.url()};
};

TEST_F(OutboxRelayTest, EveryRowIsPublishedExactlyOnceAndTheOutboxEmpties) {
  kafka::KafkaProducer producer(ProducerFor(kafka));
  common::Metrics metrics;
  OutboxRelay relay(RelayFor(db, 500), producer, metrics);
  relay.Start();
  constexpr int kRows = 5000;
  for (int i = 0; i < kRows; i += 1000) InsertRows(writer, i, 1000, 37);

  Reader reader(kafka.bootstraps());
  ASSERT_TRUE(reader.PollUntilCount(kRows));
  ASSERT_TRUE(WaitFor([&] { return OutboxCount(writer) == 0; }));
  relay.Stop(Clock::now() + 5s);

  ExpectAllInKeyOrder(reader.messages(), kRows, /*exactly_once=*/true);
  EXPECT_EQ(metrics.outbox_published.load(), static_cast<uint64_t>(kRows));
  EXPECT_EQ(metrics.outbox_publish_errors.load(), 0u);
  EXPECT_EQ(metrics.relay_shards_owned.load(), 0) << "Stop releases every shard";
  EXPECT_FALSE(reader.PollUntilCount(kRows + 1, 300ms)) << "nothing published twice";
}

TEST_F(OutboxRelayTest, ARowTheProducerRefusesAsTooLargeIsQuarantinedAndDoesNotHoldBackItsShard) {
  // One key (one shard): a small row, one larger than the producer's
  // message.max.bytes (refused for good), another small one.
  InsertRows(writer, 0, 1, 1);
  InsertRows(writer, 1, 1, 1, "{}", "0 seconds", 10000);
  InsertRows(writer, 2, 1, 1);
  kafka::ProducerOptions po = ProducerFor(kafka);
  po.extra.emplace_back("message.max.bytes", "4000");
  kafka::KafkaProducer producer(po);
  common::Metrics metrics;
  OutboxRelay relay(RelayFor(db), producer, metrics);
  EXPECT_EQ(relay.PublishOnce(), 2u);

  Reader reader(kafka.bootstraps());
  ASSERT_TRUE(reader.PollUntilCount(2));
  EXPECT_EQ(SeqOf(reader.messages()[0].value), 0);
  EXPECT_EQ(SeqOf(reader.messages()[1].value), 2);
  EXPECT_EQ(OutboxCount(writer), 0);
  EXPECT_EQ(metrics.outbox_quarantined.load(), 1u);
  EXPECT_EQ(metrics.outbox_publish_errors.load(), 0u);
  {
    pqxx::nontransaction q(writer);
    pqxx::result r = q.exec("SELECT kafka_key, length(payload), error, topic FROM outbox_quarantine");
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0][0].as<std::string>(), "k0");
    EXPECT_GT(r[0][1].as<int>(), 9000) << "the whole payload is kept";
    EXPECT_NE(r[0][2].as<std::string>().find("too large"), std::string::npos) << r[0][2].as<std::string>();
    EXPECT_EQ(r[0][3].as<std::string>(), kTopic);
  }
  // Nothing is retried: the next round finds nothing to publish.
  EXPECT_EQ(relay.PublishOnce(), 0u);
  EXPECT_FALSE(reader.PollUntilCount(3, 300ms));
}

TEST_F(OutboxRelayTest, RowHeadersAreCarriedNextToTheCloudEventsContentType) {
  InsertRows(writer, 0, 1, 1, R"({"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01","x-attempt":3})");
  InsertRows(writer, 1, 1, 1, R"({"content-type":"application/json"})");
  kafka::KafkaProducer producer(ProducerFor(kafka));
  common::Metrics metrics;
  OutboxRelay relay(RelayFor(db), producer, metrics);
  EXPECT_EQ(relay.PublishOnce(), 2u);

  Reader reader(kafka.bootstraps());
  ASSERT_TRUE(reader.PollUntilCount(2));
  const Received& first = reader.messages()[0];
  EXPECT_EQ(first.key, "k0");
  EXPECT_EQ(SeqOf(first.value), 0);
  EXPECT_EQ(first.headers.at("content-type"), "application/cloudevents+json");
  EXPECT_EQ(first.headers.at("traceparent"), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  EXPECT_EQ(first.headers.at("x-attempt"), "3");
  EXPECT_EQ(reader.messages()[1].headers.at("content-type"), "application/json") << "the row's own header wins";
  EXPECT_EQ(OutboxCount(writer), 0);
}

TEST_F(OutboxRelayTest, TwoRelaysShareTheShardsAndPublishEveryRowOnceInKeyOrder) {
  kafka::KafkaProducer producer_a(ProducerFor(kafka)), producer_b(ProducerFor(kafka));
  common::Metrics metrics_a, metrics_b;
  OutboxRelay a(RelayFor(db, 300), producer_a, metrics_a);
  OutboxRelay b(RelayFor(db, 300), producer_b, metrics_b);
  a.Start();
  b.Start();
  // They split the shards between them: ceil(64 / 2) each.
  ASSERT_TRUE(WaitFor([&] { return a.ShardsOwned() == 32 && b.ShardsOwned() == 32; }))
      << a.ShardsOwned() << " + " << b.ShardsOwned();

  constexpr int kRows = 6000;
  for (int i = 0; i < kRows; i += 500) InsertRows(writer, i, 500, 101);
  Reader reader(kafka.bootstraps());
  ASSERT_TRUE(reader.PollUntilCount(kRows));
  ASSERT_TRUE(WaitFor([&] { return OutboxCount(writer) == 0; }));
  a.Stop(Clock::now() + 5s);
  b.Stop(Clock::now() + 5s);

  ExpectAllInKeyOrder(reader.messages(), kRows, /*exactly_once=*/true);
  EXPECT_GT(metrics_a.outbox_published.load(), 0u);
  EXPECT_GT(metrics_b.outbox_published.load(), 0u);
  EXPECT_EQ(metrics_a.outbox_published.load() + metrics_b.outbox_published.load(), static_cast<uint64_t>(kRows));
  EXPECT_FALSE(reader.PollUntilCount(kRows + 1, 300ms)) << "no row published by both";
}

TEST_F(OutboxRelayTest, ARelayThatStopsMidwayLeavesTheRestToAnother) {
  constexpr int kRows = 1000;
  InsertRows(writer, 0, kRows, 13);
  kafka::KafkaProducer producer(ProducerFor(kafka));
  common::Metrics metrics_a, metrics_b;
  {
    OutboxRelay a(RelayFor(db, 100), producer, metrics_a);
    EXPECT_EQ(a.PublishOnce(), 100u);
    EXPECT_EQ(a.PublishOnce(), 100u);
    EXPECT_EQ(a.ShardsOwned(), kOutboxShards);
    a.Stop(Clock::now());  // gives its shards up with rows left in them
  }
  EXPECT_EQ(OutboxCount(writer), kRows - 200);
  OutboxRelay b(RelayFor(db, 100), producer, metrics_b);
  b.Start();
  ASSERT_TRUE(WaitFor([&] { return OutboxCount(writer) == 0; }));
  b.Stop(Clock::now() + 5s);

  Reader reader(kafka.bootstraps());
  ASSERT_TRUE(reader.PollUntilCount(kRows));
  ExpectAllInKeyOrder(reader.messages(), kRows, /*exactly_once=*/true);
  EXPECT_EQ(metrics_b.outbox_published.load(), static_cast<uint64_t>(kRows - 200));
}

TEST_F(OutboxRelayTest, ShardsOfARelayWhoseSessionDiesAreTakenOverAndItRejoinsAfterReconnecting) {
  kafka::KafkaProducer producer(ProducerFor(kafka));
  common::Metrics metrics_a, metrics_b;
  RelayOptions options_a = RelayFor(db, 200);
  options_a.database_url = WithApplicationName(db.url(), "relay_a");
  OutboxRelay a(options_a, producer, metrics_a);
  OutboxRelay b(RelayFor(db, 200), producer, metrics_b);
  a.Start();
  b.Start();
  ASSERT_TRUE(WaitFor([&] { return a.ShardsOwned() == 32 && b.ShardsOwned() == 32; }));

  {
    pqxx::nontransaction tx(writer);
    auto killed = tx.exec(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE application_name = 'relay_a' AND datname = current_database()");
    ASSERT_EQ(killed.size(), 1u);
  }
  constexpr int kRows = 3000;
  for (int i = 0; i < kRows; i += 300) InsertRows(writer, i, 300, 29);
  Reader reader(kafka.bootstraps());
  ASSERT_TRUE(reader.PollUntilCount(kRows));
  ASSERT_TRUE(WaitFor([&] { return OutboxCount(writer) == 0; }));
  // A reconnects, rejoins and the shards are split again.
  ASSERT_TRUE(WaitFor([&] { return a.ShardsOwned() == 32 && b.ShardsOwned() == 32; }))
      << a.ShardsOwned() << " + " << b.ShardsOwned();
  a.Stop(Clock::now() + 5s);
  b.Stop(Clock::now() + 5s);
  ExpectAllInKeyOrder(reader.messages(), kRows, /*exactly_once=*/true);
}

TEST_F(OutboxRelayTest, RowsOfShardsHeldElsewhereWaitAndAreCountedAsPending) {
  // Another session (a relay elsewhere) holds every shard.
  pqxx::connection other(db.url());
  {
    pqxx::nontransaction tx(other);
    tx.exec_params("SELECT pg_advisory_lock($1::int, s) FROM generate_series(0, $2::int - 1) s",
                   kRelayLockClass, kOutboxShards);
  }
  InsertRows(writer, 0, 10, 3, "{}", "5 seconds");
  kafka::KafkaProducer producer(ProducerFor(kafka));
  common::Metrics metrics;
  OutboxRelay relay(RelayFor(db), producer, metrics);
  EXPECT_EQ(relay.PublishOnce(), 0u);
  EXPECT_EQ(relay.ShardsOwned(), 0);
  EXPECT_EQ(metrics.outbox_pending.load(), 10);
  EXPECT_GE(metrics.outbox_oldest_age_ms.load(), 5000);

  {
    pqxx::nontransaction tx(other);
    tx.exec("SELECT pg_advisory_unlock_all()");
  }
  ASSERT_TRUE(WaitFor([&] { return relay.PublishOnce() > 0; }));  // takes the free shards
  EXPECT_EQ(relay.ShardsOwned(), kOutboxShards);
  EXPECT_EQ(metrics.relay_shards_owned.load(), kOutboxShards);
  ASSERT_TRUE(WaitFor([&] {
    relay.PublishOnce();
    return OutboxCount(writer) == 0;
  }));
  Reader reader(kafka.bootstraps());
  ASSERT_TRUE(reader.PollUntilCount(10));
  ExpectAllInKeyOrder(reader.messages(), 10, /*exactly_once=*/true);
}

// The gauges read the outbox through its key (not a scan of every deleted
// row): still the exact number of pending rows, and the age of the oldest.
TEST_F(OutboxRelayTest, GaugesCountPendingRowsAndTheOldestAmongManyDeletedOnes) {
  pqxx::connection other(db.url());  // holds every shard: nothing is published
  {
    pqxx::nontransaction tx(other);
    tx.exec_params("SELECT pg_advisory_lock($1::int, s) FROM generate_series(0, $2::int - 1) s",
                   kRelayLockClass, kOutboxShards);
  }
  InsertRows(writer, 0, 3000, 50);
  {
    pqxx::nontransaction tx(writer);
    tx.exec("DELETE FROM outbox");  // dead rows the gauges must not count
  }
  InsertRows(writer, 3000, 5, 3, "{}", "30 seconds");
  InsertRows(writer, 3005, 20, 7, "{}", "1 seconds");
  kafka::KafkaProducer producer(ProducerFor(kafka));
  common::Metrics metrics;
  OutboxRelay relay(RelayFor(db), producer, metrics);
  EXPECT_EQ(relay.PublishOnce(), 0u);
  EXPECT_EQ(metrics.outbox_pending.load(), 25);
  EXPECT_GE(metrics.outbox_oldest_age_ms.load(), 30000);
  EXPECT_LT(metrics.outbox_oldest_age_ms.load(), 60000);
}

TEST_F(OutboxRelayTest, ProduceRequestsRejectedByTheBrokerAreRetriedAndNothingIsLost) {
  constexpr int kRows = 400;
  InsertRows(writer, 0, kRows, 7);
  // 2 ms, so that a round is normally one batch per partition: with 0 the
  // first messages leave alone and librdkafka may already have built the
  // partition's next request when the rejection comes back; it still sends
  // it, and the mock (no sequence checks for non-transactional producers)
  // writes it ahead of the rejected rows where a real broker answers
  // OUT_OF_ORDER_SEQUENCE_NUMBER.  The split case is the next test's.
  kafka::ProducerOptions po = ProducerFor(kafka);
  po.linger_ms = 2;
  kafka::KafkaProducer producer(po);
  common::Metrics metrics;
  OutboxRelay relay(RelayFor(db), producer, metrics);
  // Retriable errors are retried inside the producer; non-retriable ones fail
  // the messages (and stop the gapless producer, which is recreated), and the
  // relay publishes them again in a later round.  A rejected request was not
  // written, so nothing arrives twice.
  rd_kafka_mock_push_request_errors(kafka.cluster(), kApiKeyProduce, 4, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                    RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_INVALID_RECORD,
                                    RD_KAFKA_RESP_ERR_INVALID_RECORD);
  size_t first = relay.PublishOnce();
  EXPECT_LT(first, static_cast<size_t>(kRows));
  EXPECT_GT(metrics.outbox_publish_errors.load(), 0u);
  ASSERT_TRUE(WaitFor([&] {
    relay.PublishOnce();
    return OutboxCount(writer) == 0;
  }));
  Reader reader(kafka.bootstraps());
  ASSERT_TRUE(reader.ReadToEnd());
  ExpectAllInKeyOrder(reader.messages(), kRows, /*exactly_once=*/true);
}

// A Produce request rejected for good fails its batch.  Without the gapless
// guarantee the idempotent producer then bumps its epoch, renumbers and sends
// the partition's LATER batches, which are written (a real broker accepts
// them too): the relay publishes the rejected rows again after their
// successors, and the successors of the same shard twice.  With it, the
// producer stops at the failed batch, is recreated, and the rest of the round
// is published again in order.  Small batches make sure the partition has
// later batches queued behind the rejected one.
//
// Mock limit: librdkafka may already have built the partition's next request
// when the rejection arrives; it still sends it, and the mock (which checks
// sequence numbers only for transactional producers) writes it, where a real
// broker answers OUT_OF_ORDER_SEQUENCE_NUMBER.  So at most that one batch may
// be out of place here; without the guarantee every later batch is.
TEST_F(OutboxRelayTest, ARejectedBatchIsNotOvertakenByTheLaterBatchesOfItsPartition) {
  constexpr int kRows = 400;
  constexpr int kBatch = 10;
  InsertRows(writer, 0, kRows, 7);
  kafka::ProducerOptions po = ProducerFor(kafka);
  po.linger_ms = 0;
  po.extra.emplace_back("batch.num.messages", std::to_string(kBatch));
  kafka::KafkaProducer producer(po);
  common::Metrics metrics;
  OutboxRelay relay(RelayFor(db), producer, metrics);
  rd_kafka_mock_push_request_errors(kafka.cluster(), kApiKeyProduce, 1, RD_KAFKA_RESP_ERR_INVALID_RECORD);
  EXPECT_LT(relay.PublishOnce(), static_cast<size_t>(kRows));
  EXPECT_GT(metrics.outbox_publish_errors.load(), 0u);
  ASSERT_TRUE(WaitFor([&] {
    relay.PublishOnce();
    return OutboxCount(writer) == 0;
  }));
  EXPECT_EQ(producer.Recreations(), 1u) << "the rejected batch stopped the producer";
  Reader reader(kafka.bootstraps());
  ASSERT_TRUE(reader.ReadToEnd());
  std::set<int64_t> seqs;
  for (const Received& m : reader.messages()) seqs.insert(SeqOf(m.value));
  EXPECT_EQ(seqs.size(), static_cast<size_t>(kRows)) << "every row arrived";
  EXPECT_LE(reader.messages().size(), static_cast<size_t>(kRows + kBatch))
      << "rows written after a rejected batch of their partition (duplicated when published again)";
}

TEST_F(OutboxRelayTest, ABrokerThatIsDownForAWhileDelaysRowsButLosesNone) {
  kafka::ProducerOptions po = ProducerFor(kafka);
  po.message_timeout_ms = 300;  // deliveries fail while the broker is down
  kafka::KafkaProducer producer(po);
  common::Metrics metrics;
  OutboxRelay relay(RelayFor(db), producer, metrics);
  relay.Start();
  InsertRows(writer, 0, 100, 5);
  Reader reader(kafka.bootstraps());
  ASSERT_TRUE(reader.PollUntilCount(100));

  rd_kafka_mock_broker_set_down(kafka.cluster(), 1);
  InsertRows(writer, 100, 400, 5);
  ASSERT_TRUE(WaitFor([&] { return metrics.outbox_publish_errors.load() > 0; }));
  EXPECT_GT(OutboxCount(writer), 0);
  rd_kafka_mock_broker_set_up(kafka.cluster(), 1);

  ASSERT_TRUE(WaitFor([&] { return OutboxCount(writer) == 0; }));
  ASSERT_TRUE(reader.PollUntilCount(500));
  relay.Stop(Clock::now() + 5s);
  ASSERT_TRUE(reader.ReadToEnd());
  ExpectAllInKeyOrder(reader.messages(), 500, /*exactly_once=*/false);
}

TEST_F(OutboxRelayTest, AFatalProducerErrorRecreatesTheProducerAndRowsStillArrive) {
  kafka::KafkaProducer producer(ProducerFor(kafka));
  common::Metrics metrics;
  OutboxRelay relay(RelayFor(db), producer, metrics);
  InsertRows(writer, 0, 50, 5);
  EXPECT_EQ(relay.PublishOnce(), 50u);
  producer.InjectFatalErrorForTesting();
  ASSERT_TRUE(WaitFor([&] { return producer.Recreations() == 1; }));
  InsertRows(writer, 50, 50, 5);
  ASSERT_TRUE(WaitFor([&] {
    relay.PublishOnce();
    return OutboxCount(writer) == 0;
  }));
  Reader reader(kafka.bootstraps());
  ASSERT_TRUE(reader.PollUntilCount(100));
  ExpectAllInKeyOrder(reader.messages(), 100, /*exactly_once=*/true);
}

TEST_F(OutboxRelayTest, StopPublishesWhatIsPendingBeforeReturning) {
  kafka::KafkaProducer producer(ProducerFor(kafka));
  common::Metrics metrics;
  RelayOptions options = RelayFor(db, 100);
  options.poll_ms = 60000;  // only Stop or a NOTIFY wakes it
  OutboxRelay relay(options, producer, metrics);
  relay.Start();
  ASSERT_TRUE(WaitFor([&] { return relay.ShardsOwned() == kOutboxShards; }));
  {
    // Rows written without NOTIFY: the relay sleeps on.
    pqxx::work tx(writer);
    tx.exec_params(
        "INSERT INTO outbox (shard, topic, kafka_key, payload)"
        " SELECT $1::smallint, $2, 'k', '{\"seq\":' || g || '}' FROM generate_series(0, 999) g",
        OutboxShard("k"), kTopic);
    tx.commit();
  }
  relay.Stop(Clock::now() + 10s);
  EXPECT_EQ(OutboxCount(writer), 0);
  EXPECT_EQ(metrics.outbox_published.load(), 1000u);
}

// Throughput of one relay: 100,000 rows of ~400 bytes written up front,
// drained by one relay (PostgreSQL with durable settings when measured).
TEST_F(OutboxRelayTest, OneRelayThroughput) {
  constexpr int kRows = 100000;
  for (int i = 0; i < kRows; i += 10000) InsertRows(writer, i, 10000, 1000, "{}", "0 seconds", 400);
  kafka::KafkaProducer producer(ProducerFor(kafka));
  common::Metrics metrics;
  OutboxRelay relay(RelayFor(db, 2000), producer, metrics);
  auto start = Clock::now();
  relay.Start();
  ASSERT_TRUE(WaitFor([&] { return metrics.outbox_published.load() == static_cast<uint64_t>(kRows); }, 120s));
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  relay.Stop(Clock::now() + 5s);
  EXPECT_EQ(OutboxCount(writer), 0);
  std::printf("[ relay    ] %d rows in %.2f s = %.0f rows/s\n", kRows, seconds, kRows / seconds);
  RecordProperty("rows_per_second", static_cast<int>(kRows / seconds));
}

}  // namespace
}  // namespace hub::outbox
