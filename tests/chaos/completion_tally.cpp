#include "tests/chaos/completion_tally.hpp"

#include <librdkafka/rdkafkacpp.h>
#include <rapidjson/document.h>

#include <stdexcept>
#include <vector>

#include "tests/chaos/load.hpp"
#include "tests/chaos/topic_ids.hpp"

namespace hub::chaos {
namespace {

std::string StringAt(const rapidjson::Value& obj, const char* name) {
  auto m = obj.FindMember(name);
  return m != obj.MemberEnd() && m->value.IsString() ? std::string(m->value.GetString()) : std::string();
}

}  // namespace

CompletionTally::CompletionTally(const std::string& brokers, const std::string& topic, int partitions,
                                 std::function<bool(const std::string& key)> ordered)
    : ordered_(std::move(ordered)) {
  consumer_ = ReadFromStart(brokers, topic, partitions);
}

CompletionTally::~CompletionTally() {
  if (consumer_) consumer_->close();
}

void CompletionTally::Poll(std::chrono::milliseconds budget) {
  const auto end = std::chrono::steady_clock::now() + budget;
  do {
    std::unique_ptr<RdKafka::Message> m(consumer_->consume(10));
    if (!m || m->err() == RdKafka::ERR__TIMED_OUT) continue;
    if (m->err() != RdKafka::ERR_NO_ERROR) continue;  // broker faults are expected here; the client retries
    Take(m->key() ? *m->key() : std::string(), static_cast<const char*>(m->payload()), m->len());
  } while (std::chrono::steady_clock::now() < end);
}

void CompletionTally::Take(const std::string& key, const char* data, size_t len) {
  ++messages_;
  rapidjson::Document d;
  d.Parse(data, len);
  if (d.HasParseError() || !d.IsObject() || !d.HasMember("data") || !d["data"].IsObject()) {
    ++unreadable_;
    return;
  }
  const rapidjson::Value& body = d["data"];
  const std::string execution = StringAt(body, "executionId"), trigger = StringAt(body, "triggerEventId");
  event_ids_.insert(StringAt(d, "id"));
  if (!executions_.insert(execution).second) return;  // a re-publication: same event again
  by_status_[StringAt(body, "status")]++;
  triggers_.insert(trigger);
  if (!ordered_(key)) return;
  const int64_t seq = SequenceOf(trigger);
  auto [at, fresh] = last_seq_.try_emplace(key, seq);
  if (fresh) return;
  if (seq < at->second) {
    if (order_violations_++ == 0)
      first_violation_ = key + ": " + trigger + " after ev-" + std::to_string(at->second);
    return;
  }
  at->second = seq;
}

}  // namespace hub::chaos
