#include "ops/topic_reader.hpp"

#include <stdexcept>
#include <unistd.h>

#include <librdkafka/rdkafkacpp.h>

#include "common/error.hpp"

namespace hub::ops {
namespace {

using Clock = std::chrono::steady_clock;

std::vector<RdKafka::TopicPartition*> Partitions(const std::string& topic, const std::map<int32_t, int64_t>& offsets) {
  std::vector<RdKafka::TopicPartition*> tps;
  for (const auto& [p, o] : offsets) tps.push_back(RdKafka::TopicPartition::create(topic, p, o));
  return tps;
}

}  // namespace

TopicReader::TopicReader(const std::string& brokers, const kafka::KafkaProperties& extra, std::string topic,
                         TopicRange range, std::chrono::milliseconds timeout)
    : topic_(std::move(topic)), range_(std::move(range)), timeout_(timeout) {
  auto conf = kafka::MakeKafkaConf(brokers, {});
  // A group id the API requires; without subscribe() it never joins a group,
  // and with auto-commit off nothing is committed under it.
  kafka::SetKafkaProperty(*conf, "group.id", "hubworker-reader-" + std::to_string(getpid()));
  kafka::SetKafkaProperty(*conf, "enable.auto.commit", "false");
  kafka::SetKafkaProperty(*conf, "enable.auto.offset.store", "false");
  kafka::SetKafkaProperty(*conf, "enable.partition.eof", "true");
  kafka::SetKafkaProperty(*conf, "fetch.wait.max.ms", "10");
  kafka::ApplyKafkaConfig(*conf, extra);
  std::string err;
  consumer_.reset(RdKafka::KafkaConsumer::create(conf.get(), err));
  if (!consumer_) throw std::runtime_error("topic reader: " + err);

  const int timeout_ms = static_cast<int>(timeout_.count());
  std::set<int32_t> partitions;
  {
    std::unique_ptr<RdKafka::Topic> t(RdKafka::Topic::create(consumer_.get(), topic_, nullptr, err));
    RdKafka::Metadata* md = nullptr;
    const auto code = consumer_->metadata(false, t.get(), &md, timeout_ms);
    std::unique_ptr<RdKafka::Metadata> holder(md);
    if (code != RdKafka::ERR_NO_ERROR)
      throw std::runtime_error("topic " + topic_ + ": no metadata: " + RdKafka::err2str(code));
    for (const auto* tm : *md->topics())
      if (tm->topic() == topic_ && tm->err() == RdKafka::ERR_NO_ERROR)
        for (const auto* pm : *tm->partitions()) partitions.insert(pm->id());
  }
  if (partitions.empty()) throw std::runtime_error("topic " + topic_ + " does not exist or has no partitions");
  for (int32_t p : range_.partitions)
    if (!partitions.count(p))
      throw common::ConfigError("topic " + topic_ + " has no partition " + std::to_string(p));
  if (!range_.partitions.empty()) partitions = range_.partitions;

  std::map<int32_t, int64_t> start;
  for (int32_t p : partitions) {
    int64_t low = 0, high = 0;
    const auto code = consumer_->query_watermark_offsets(topic_, p, &low, &high, timeout_ms);
    if (code != RdKafka::ERR_NO_ERROR)
      throw std::runtime_error("topic " + topic_ + " partition " + std::to_string(p) +
                               ": no watermarks: " + RdKafka::err2str(code));
    int64_t from = std::max(low, range_.from_offset);
    int64_t to = range_.to_offset >= 0 ? std::min(high, range_.to_offset) : high;
    start[p] = from;
    end_[p] = to;
  }
  if (range_.since_ms >= 0) {
    auto tps = Partitions(topic_, [&] {
      std::map<int32_t, int64_t> ts;
      for (int32_t p : partitions) ts[p] = range_.since_ms;
      return ts;
    }());
    const auto code = consumer_->offsetsForTimes(tps, timeout_ms);
    if (code != RdKafka::ERR_NO_ERROR) {
      RdKafka::TopicPartition::destroy(tps);
      throw std::runtime_error("topic " + topic_ + ": offsets for --since: " + RdKafka::err2str(code));
    }
    for (auto* tp : tps) {
      // A hint only: -1 means "no message at or after the time" on Kafka, but
      // also comes from brokers that do not look offsets up by time (the
      // embedded mock); the partition is then read from its start and
      // ReadAll skips the older messages.
      if (tp->offset() >= 0) start[tp->partition()] = std::max(start[tp->partition()], tp->offset());
    }
    RdKafka::TopicPartition::destroy(tps);
  }
  std::map<int32_t, int64_t> assign;
  for (auto& [p, from] : start) {
    if (from >= end_[p]) {
      end_.erase(p);
      continue;
    }
    total_ += end_[p] - from;
    assign[p] = from;
  }
  if (!assign.empty()) {
    auto tps = Partitions(topic_, assign);
    const auto code = consumer_->assign(tps);
    RdKafka::TopicPartition::destroy(tps);
    if (code != RdKafka::ERR_NO_ERROR) throw std::runtime_error("topic " + topic_ + ": assign: " + RdKafka::err2str(code));
  }
}

TopicReader::~TopicReader() {
  if (consumer_) consumer_->close();
}

bool TopicReader::ReadAll(const std::function<void(RawMessage&&)>& on_message) {
  std::map<int32_t, int64_t> open = end_;  // partitions still being read
  auto last_progress = Clock::now();
  auto finish = [&](int32_t p) {
    open.erase(p);  // later messages of it are ignored
  };
  while (!open.empty()) {
    if (Clock::now() - last_progress > timeout_) return false;
    std::unique_ptr<RdKafka::Message> m(consumer_->consume(100));
    if (!m) continue;
    if (m->err() == RdKafka::ERR__PARTITION_EOF) {
      // The high watermark can be above the last readable offset (e.g.
      // transaction markers): at end of partition its range is over.
      last_progress = Clock::now();
      finish(m->partition());
      continue;
    }
    if (m->err() != RdKafka::ERR_NO_ERROR) continue;  // transient; the deadline bounds it
    last_progress = Clock::now();
    auto it = open.find(m->partition());
    if (it == open.end()) continue;
    if (m->offset() >= it->second) {
      finish(m->partition());
      continue;
    }
    RawMessage r;
    r.topic = m->topic_name();
    r.partition = m->partition();
    r.offset = m->offset();
    const auto ts = m->timestamp();
    r.timestamp_ms = ts.type == RdKafka::MessageTimestamp::MSG_TIMESTAMP_NOT_AVAILABLE ? -1 : ts.timestamp;
    const bool last = r.offset + 1 >= it->second;
    // Timestamps need not grow along a partition (they are the producers'
    // clocks): messages outside the time range are skipped, not taken as its end.
    if ((range_.since_ms >= 0 && r.timestamp_ms < range_.since_ms) ||
        (range_.until_ms >= 0 && r.timestamp_ms >= range_.until_ms)) {
      if (last) finish(m->partition());
      continue;
    }
    if (m->key()) r.key = *m->key();
    if (m->payload()) r.value.assign(static_cast<const char*>(m->payload()), m->len());
    if (const RdKafka::Headers* hs = m->headers()) {
      for (const auto& h : hs->get_all())
        r.headers.emplace_back(h.key(), h.value() ? std::string(static_cast<const char*>(h.value()), h.value_size())
                                                  : std::string());
    }
    on_message(std::move(r));
    if (last) finish(m->partition());
  }
  return true;
}

}  // namespace hub::ops
