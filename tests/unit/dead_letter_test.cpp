#include <gtest/gtest.h>

#include <future>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <librdkafka/rdkafkacpp.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/ids.hpp"
#include "common/metrics.hpp"
#include "producers/dead_letter_sink.hpp"
#include "kafka/producer.hpp"
#include "tests/support/mock_kafka.hpp"

namespace hub::producers {
namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

DeadLetter SampleLetter() {
  DeadLetter l;
  l.source_topic = "hub.order.submitted";
  l.source_partition = 7;
  l.source_offset = 123456789012;
  l.key = "order-1";
  l.value = R"({"specversion":"1.0"})";
  l.headers = {{"content-type", "application/cloudevents+json"}, {"traceparent", "00-abc-def-01"}};
  l.error_class = common::ErrorClass::kNotFound;
  l.reason = "order order-1 not found";
  return l;
}

std::map<std::string, std::string> AsMap(const Headers& h) { return {h.begin(), h.end()}; }

TEST(DeadLetterHeaders, KeepOriginalHeadersInOrderAndAddTheFiveContractHeaders) {
  Headers h = DeadLetterHeaders(SampleLetter());
  ASSERT_EQ(h.size(), 7u);
  EXPECT_EQ(h[0], (std::pair<std::string, std::string>{"content-type", "application/cloudevents+json"}));
  EXPECT_EQ(h[1], (std::pair<std::string, std::string>{"traceparent", "00-abc-def-01"}));
  auto m = AsMap(h);
  EXPECT_EQ(m["hub-error"], "order order-1 not found");
  EXPECT_EQ(m["hub-error-class"], "not_found");
  EXPECT_EQ(m["hub-source-topic"], "hub.order.submitted");
  EXPECT_EQ(m["hub-source-partition"], "7");
  EXPECT_EQ(m["hub-source-offset"], "123456789012");
}

TEST(DeadLetterHeaders, ErrorClassNamesFollowTheContract) {
  DeadLetter l = SampleLetter();
  const std::pair<common::ErrorClass, const char*> cases[] = {
      {common::ErrorClass::kSchema, "schema"},       {common::ErrorClass::kNotFound, "not_found"},
      {common::ErrorClass::kTenant, "tenant"},       {common::ErrorClass::kSignature, "signature"},
      {common::ErrorClass::kStep, "step"},           {common::ErrorClass::kInternal, "internal"}};
  for (auto [cls, name] : cases) {
    l.error_class = cls;
    EXPECT_EQ(AsMap(DeadLetterHeaders(l))["hub-error-class"], name);
  }
}

TEST(DeadLetterHeaders, ALetterThatFailsAgainCarriesOnlyItsLatestReason) {
  DeadLetter l = SampleLetter();
  l.headers = DeadLetterHeaders(l);  // as redriven from the dead letter topic
  l.reason = "second failure";
  l.source_topic = "hub.order.submitted";
  l.source_offset = 5;
  Headers h = DeadLetterHeaders(l);
  EXPECT_EQ(h.size(), 7u);
  int errors = 0;
  for (const auto& [name, value] : h) errors += name == "hub-error";
  EXPECT_EQ(errors, 1);
  EXPECT_EQ(AsMap(h)["hub-error"], "second failure");
  EXPECT_EQ(AsMap(h)["hub-source-offset"], "5");
}

TEST(DeadLetterHeaders, ASlimLetterSaysWhatItLeftOut) {
  DeadLetter l = SampleLetter();
  Headers without_value = DeadLetterHeaders(l, Slimming::kWithoutValue);
  ASSERT_EQ(without_value.size(), 8u);
  EXPECT_EQ(without_value[0].first, "content-type");  // original headers kept
  EXPECT_EQ(AsMap(without_value)["hub-value-omitted"], std::to_string(l.value.size()));
  EXPECT_EQ(AsMap(without_value).count("hub-headers-omitted"), 0u);

  Headers bare = DeadLetterHeaders(l, Slimming::kWithoutValueAndHeaders);
  ASSERT_EQ(bare.size(), 7u);
  EXPECT_EQ(AsMap(bare).count("content-type"), 0u);
  EXPECT_EQ(AsMap(bare)["hub-headers-omitted"], "2");
  EXPECT_EQ(AsMap(bare)["hub-error-class"], "not_found");

  // Redriven and failing again in full: the earlier omission headers go.
  l.headers = bare;
  Headers again = DeadLetterHeaders(l);
  EXPECT_EQ(again.size(), 5u);
  EXPECT_EQ(AsMap(again).count("hub-value-omitted"), 0u);
}

TEST(DeadLetterHeaders, KeySha256HexIsTheLowercaseHexDigest) {
  EXPECT_EQ(KeySha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(KeySha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(DeadLetterHeaders, TheLastFormNamesTheKeysLengthAndDigestAfterTheOtherOmissionHeaders) {
  DeadLetter l = SampleLetter();
  Headers h = DeadLetterHeaders(l, Slimming::kWithoutValueHeadersAndKey);
  ASSERT_EQ(h.size(), 9u);
  EXPECT_EQ(h[0].first, "hub-error");  // no original headers
  EXPECT_EQ(h[4].first, "hub-source-offset");
  EXPECT_EQ(h[5], (std::pair<std::string, std::string>{"hub-value-omitted", std::to_string(l.value.size())}));
  EXPECT_EQ(h[6], (std::pair<std::string, std::string>{"hub-headers-omitted", "2"}));
  EXPECT_EQ(h[7], (std::pair<std::string, std::string>{"hub-key-omitted", "7"}));  // "order-1"
  EXPECT_EQ(h[8], (std::pair<std::string, std::string>{"hub-key-sha256", common::Sha256Hex("order-1")}));

  // Redriven and failing again in full: none of the omission headers stays.
  l.headers = h;
  l.headers.emplace_back("x-kept", "1");
  Headers again = DeadLetterHeaders(l);
  ASSERT_EQ(again.size(), 6u);
  EXPECT_EQ(again[0], (std::pair<std::string, std::string>{"x-kept", "1"}));
  EXPECT_EQ(AsMap(again).count("hub-key-omitted"), 0u);
  EXPECT_EQ(AsMap(again).count("hub-key-sha256"), 0u);
  EXPECT_EQ(AsMap(again).count("hub-headers-omitted"), 0u);
}

TEST(DeadLetterHeaders, AVeryLongReasonIsCutAtACharacterBoundary) {
  DeadLetter l = SampleLetter();
  l.reason.clear();
  for (int i = 0; i < 2000; ++i) l.reason += "é";  // 2 bytes each
  l.reason = "x" + l.reason;                         // odd offset: the cut falls inside a character
  std::string got = AsMap(DeadLetterHeaders(l))["hub-error"];
  EXPECT_LE(got.size(), kMaxReasonBytes + 3);
  EXPECT_EQ(got.substr(got.size() - 3), "...");
  std::string body = got.substr(0, got.size() - 3);
  EXPECT_EQ((body.size() - 1) % 2, 0u) << "a multi-byte character was split";
}

// A plain reader of what the producer wrote.
using testing::MockKafka;

struct Read {
  std::string key, value;
  Headers headers;
};

// Reads `count` messages from partition 0 of `topic` from the beginning, or
// fewer if the deadline passes.
std::vector<Read> ReadMessages(const std::string& brokers, const std::string& topic, size_t count) {
  std::string err;
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  conf->set("bootstrap.servers", brokers, err);
  conf->set("group.id", "dead-letter-test-reader", err);  // assign() only: no group join
  conf->set("enable.auto.commit", "false", err);
  conf->set("fetch.wait.max.ms", "10", err);
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf.get(), err));
  if (!consumer) throw std::runtime_error(err);
  std::vector<RdKafka::TopicPartition*> parts = {
      RdKafka::TopicPartition::create(topic, 0, RdKafka::Topic::OFFSET_BEGINNING)};
  consumer->assign(parts);
  RdKafka::TopicPartition::destroy(parts);
  std::vector<Read> out;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (out.size() < count && std::chrono::steady_clock::now() < deadline) {
    std::unique_ptr<RdKafka::Message> m(consumer->consume(100));
    if (m->err() != RdKafka::ERR_NO_ERROR) continue;
    Read r;
    if (m->key()) r.key = *m->key();
    r.value.assign(static_cast<const char*>(m->payload()), m->len());
    if (m->headers()) {
      for (const auto& h : m->headers()->get_all()) {
        r.headers.emplace_back(h.key(), std::string(static_cast<const char*>(h.value()), h.value_size()));
      }
    }
    out.push_back(std::move(r));
  }
  consumer->close();
  return out;
}

TEST(KafkaDeadLetterSink, PublishesOriginalKeyValueAndHeadersPlusReasonAndCountsByClass) {
  MockKafka kafka;
  kafka.CreateTopic("hub.deadletter", 1);
  kafka::ProducerOptions options;
  options.brokers = kafka.bootstraps();
  kafka::KafkaProducer producer(options);
  common::Metrics metrics;
  KafkaDeadLetterSink sink(producer, "hub.deadletter", metrics);

  DeadLetter schema = SampleLetter();
  schema.error_class = common::ErrorClass::kSchema;
  schema.key = "order-2";
  schema.family = 1;
  sink.Send({SampleLetter(), schema});

  EXPECT_EQ(metrics.DeadLettered(common::ErrorClass::kNotFound), 1u);
  EXPECT_EQ(metrics.DeadLettered(common::ErrorClass::kSchema), 1u);
  // By family too: the sample letter's type is not in the catalogue.
  EXPECT_EQ(metrics.events_deadlettered[1][static_cast<size_t>(common::ErrorClass::kSchema)].load(), 1u);
  EXPECT_EQ(metrics.events_deadlettered[common::Metrics::kUnknownFamilySlot]
                                       [static_cast<size_t>(common::ErrorClass::kNotFound)].load(), 1u);
  std::vector<Read> got = ReadMessages(kafka.bootstraps(), "hub.deadletter", 2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].key, "order-1");
  EXPECT_EQ(got[0].value, SampleLetter().value);
  EXPECT_EQ(got[0].headers, DeadLetterHeaders(SampleLetter()));
  EXPECT_EQ(got[1].key, "order-2");
  EXPECT_EQ(AsMap(got[1].headers)["hub-error-class"], "schema");
}

TEST(KafkaDeadLetterSink, BrokerThatCannotTakeTheLettersIsATransientError) {
  MockKafka kafka;
  kafka.CreateTopic("hub.deadletter", 1);
  kafka::ProducerOptions options;
  options.brokers = kafka.bootstraps();
  options.message_timeout_ms = 1500;
  kafka::KafkaProducer producer(options);
  common::Metrics metrics;
  KafkaDeadLetterSink sink(producer, "hub.deadletter", metrics);
  rd_kafka_mock_broker_set_down(kafka.cluster(), 1);
  EXPECT_THROW(sink.Send({SampleLetter()}), common::TransientError);
  EXPECT_EQ(metrics.DeadLettered(common::ErrorClass::kNotFound), 0u);
  rd_kafka_mock_broker_set_up(kafka.cluster(), 1);
  sink.Send({SampleLetter()});  // the same producer recovers
  EXPECT_EQ(metrics.DeadLettered(common::ErrorClass::kNotFound), 1u);
}

// A dead-letter sink whose producer takes messages of at most 10,000 bytes.
struct SmallLimitSink {
  MockKafka kafka;
  kafka::KafkaProducer producer{Options(kafka)};
  common::Metrics metrics;
  KafkaDeadLetterSink sink{producer, "hub.deadletter", metrics};

  static kafka::ProducerOptions Options(MockKafka& kafka) {
    kafka.CreateTopic("hub.deadletter", 1);
    kafka::ProducerOptions options;
    options.brokers = kafka.bootstraps();
    options.extra = {{"message.max.bytes", "10000"}};
    return options;
  }
};

TEST(KafkaDeadLetterSink, ALetterTooLargeForTheProducerGoesOutWithoutItsValueAndItsNeighboursAsTheyAre) {
  SmallLimitSink t;
  auto& [kafka, producer, metrics, sink] = t;
  DeadLetter huge = SampleLetter();
  huge.key = "order-huge";
  huge.value.assign(20000, 'x');
  sink.Send({SampleLetter(), huge});  // no exception: nothing is left to retry

  std::vector<Read> got = ReadMessages(kafka.bootstraps(), "hub.deadletter", 2);
  ASSERT_EQ(got.size(), 2u);
  const Read& normal = got[0].key == "order-1" ? got[0] : got[1];
  const Read& slim = got[0].key == "order-1" ? got[1] : got[0];
  EXPECT_EQ(normal.value, SampleLetter().value);
  EXPECT_EQ(normal.headers, DeadLetterHeaders(SampleLetter()));
  EXPECT_EQ(slim.key, "order-huge");
  EXPECT_TRUE(slim.value.empty());
  EXPECT_EQ(slim.headers, DeadLetterHeaders(huge, Slimming::kWithoutValue));
  EXPECT_EQ(AsMap(slim.headers)["hub-value-omitted"], "20000");
  EXPECT_EQ(AsMap(slim.headers)["traceparent"], "00-abc-def-01");  // the original headers stay
  EXPECT_EQ(metrics.DeadLettered(common::ErrorClass::kNotFound), 2u);
  EXPECT_EQ(metrics.deadletters_value_omitted.load(), 1u);
}

TEST(KafkaDeadLetterSink, ALetterWhoseHeadersAreTooLargeTooGoesOutWithTheHubHeadersOnly) {
  SmallLimitSink t;
  auto& [kafka, producer, metrics, sink] = t;
  DeadLetter huge = SampleLetter();
  huge.value.assign(20000, 'x');
  huge.headers.emplace_back("x-big", std::string(15000, 'h'));
  sink.Send({huge});

  std::vector<Read> got = ReadMessages(kafka.bootstraps(), "hub.deadletter", 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].key, "order-1");
  EXPECT_TRUE(got[0].value.empty());
  auto h = AsMap(got[0].headers);
  EXPECT_EQ(got[0].headers.size(), 7u) << "the five hub headers and the two omission headers";
  EXPECT_EQ(h["hub-value-omitted"], "20000");
  EXPECT_EQ(h["hub-headers-omitted"], "3");
  EXPECT_EQ(h["hub-error"], "order order-1 not found");
  EXPECT_EQ(h["hub-source-offset"], "123456789012");
  EXPECT_EQ(metrics.deadletters_value_omitted.load(), 1u);
}

TEST(KafkaDeadLetterSink, ALetterWhoseKeyAloneIsTooLargeGoesOutUnderTheKeysSha256) {
  SmallLimitSink t;
  auto& [kafka, producer, metrics, sink] = t;
  DeadLetter huge = SampleLetter();
  huge.key.assign(20000, 'k');
  huge.value = "x";
  sink.Send({huge, SampleLetter()});  // no exception: nothing is left to retry

  std::vector<Read> got = ReadMessages(kafka.bootstraps(), "hub.deadletter", 2);
  ASSERT_EQ(got.size(), 2u);
  const Read& normal = got[0].key == "order-1" ? got[0] : got[1];
  const Read& slim = got[0].key == "order-1" ? got[1] : got[0];
  EXPECT_EQ(normal.headers, DeadLetterHeaders(SampleLetter()));
  const std::string digest = common::Sha256Hex(huge.key);
  EXPECT_EQ(slim.key, digest);  // one original key, one dead-letter partition
  EXPECT_TRUE(slim.value.empty());
  EXPECT_EQ(slim.headers, DeadLetterHeaders(huge, Slimming::kWithoutValueHeadersAndKey));
  auto h = AsMap(slim.headers);
  EXPECT_EQ(h["hub-key-omitted"], "20000");
  EXPECT_EQ(h["hub-key-sha256"], digest);
  EXPECT_EQ(h["hub-value-omitted"], "1");
  EXPECT_EQ(h["hub-headers-omitted"], "2");
  EXPECT_EQ(h["hub-error"], "order order-1 not found");
  EXPECT_EQ(h["hub-source-offset"], "123456789012");
  EXPECT_EQ(metrics.DeadLettered(common::ErrorClass::kNotFound), 2u);
  EXPECT_EQ(metrics.deadletters_value_omitted.load(), 1u);
}

TEST(KafkaDeadLetterSink, ALetterTheProducerCanNeverTakeIsAPermanentFailure) {
  // Even the last form, the hub headers alone, is over message.max.bytes.
  MockKafka kafka;
  kafka.CreateTopic("hub.deadletter", 1);
  kafka::ProducerOptions options;
  options.brokers = kafka.bootstraps();
  options.extra = {{"message.max.bytes", "1000"}};  // librdkafka's minimum
  kafka::KafkaProducer producer(options);
  common::Metrics metrics;
  KafkaDeadLetterSink sink(producer, "hub.deadletter", metrics);
  DeadLetter huge = SampleLetter();
  huge.key.assign(20000, 'k');
  huge.reason.assign(kMaxReasonBytes, 'r');
  EXPECT_THROW(sink.Send({huge}), kafka::DeliveryFailed);
  EXPECT_EQ(metrics.DeadLettered(common::ErrorClass::kNotFound), 0u);
  EXPECT_EQ(metrics.deadletters_value_omitted.load(), 0u);
}

TEST(KafkaErrors, RejectionsOfTheMessageArePermanentAndOutagesAreTransient) {
  EXPECT_EQ(kafka::ClassifyKafkaError(RdKafka::ERR_MSG_SIZE_TOO_LARGE), common::Retry::kPermanent);
  EXPECT_EQ(kafka::ClassifyKafkaError(RdKafka::ERR_TOPIC_AUTHORIZATION_FAILED), common::Retry::kPermanent);
  EXPECT_EQ(kafka::ClassifyKafkaError(RdKafka::ERR_INVALID_RECORD), common::Retry::kPermanent);
  EXPECT_EQ(kafka::ClassifyKafkaError(RdKafka::ERR__MSG_TIMED_OUT), common::Retry::kTransient);
  EXPECT_EQ(kafka::ClassifyKafkaError(RdKafka::ERR__TRANSPORT), common::Retry::kTransient);
  EXPECT_EQ(kafka::ClassifyKafkaError(RdKafka::ERR_NOT_LEADER_FOR_PARTITION), common::Retry::kTransient);
  EXPECT_EQ(kafka::ClassifyKafkaError(RdKafka::ERR__FATAL), common::Retry::kTransient) << "the producer is recreated";
  EXPECT_EQ(kafka::ClassifyKafkaError(RdKafka::ERR__PURGE_QUEUE), common::Retry::kTransient);
}

TEST(KafkaProducerConfig, SwitchingOffIdempotenceIsAConfigError) {
  kafka::ProducerOptions options;
  options.brokers = "127.0.0.1:1";
  options.extra = {{"enable.idempotence", "false"}};
  try {
    kafka::KafkaProducer producer(options);
    FAIL() << "expected a ConfigError";
  } catch (const common::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("HUB_KAFKA_CONFIG"), std::string::npos) << e.what();
  }
}

TEST(KafkaProducer, AWaitEndsAtTheCutOffAndReportsUnconfirmedMessagesAsTransientFailures) {
  MockKafka kafka;
  kafka.CreateTopic("hub.deadletter", 1);
  kafka::ProducerOptions options;
  options.brokers = kafka.bootstraps();
  kafka::KafkaProducer producer(options);
  rd_kafka_mock_broker_set_down(kafka.cluster(), 1);
  kafka::SharedDeadline cut_off;
  cut_off.Set(std::chrono::steady_clock::now() + std::chrono::milliseconds(300));
  kafka::ProducerMessage m;
  m.topic = "hub.deadletter";
  m.value = "v";
  // The call ends at the cut-off (300 ms), not at its own 60 s deadline.
  auto call = std::async(std::launch::async, [&] {
    return producer.ProduceBatch({m}, std::chrono::steady_clock::now() + std::chrono::seconds(60), &cut_off);
  });
  ASSERT_EQ(call.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  std::vector<kafka::Delivery> got = call.get();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_FALSE(got[0].ok);
  EXPECT_EQ(got[0].retry, common::Retry::kTransient);
  rd_kafka_mock_broker_set_up(kafka.cluster(), 1);
}

}  // namespace
}  // namespace hub::producers
