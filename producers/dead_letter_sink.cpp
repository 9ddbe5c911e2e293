#include "producers/dead_letter_sink.hpp"

#include <string_view>

#include "common/log.hpp"
#include "producers/kafka_producer.hpp"

namespace hub::producers {
namespace {

constexpr std::string_view kHeaderError = "hub-error";
constexpr std::string_view kHeaderClass = "hub-error-class";
constexpr std::string_view kHeaderTopic = "hub-source-topic";
constexpr std::string_view kHeaderPartition = "hub-source-partition";
constexpr std::string_view kHeaderOffset = "hub-source-offset";

bool IsDeadLetterHeader(std::string_view name) {
  return name == kHeaderError || name == kHeaderClass || name == kHeaderTopic || name == kHeaderPartition ||
         name == kHeaderOffset;
}

// Cuts at a UTF-8 character boundary.
std::string Truncate(const std::string& s, size_t max) {
  if (s.size() <= max) return s;
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n) + "...";
}

}  // namespace

std::vector<std::pair<std::string, std::string>> DeadLetterHeaders(const DeadLetter& letter) {
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(letter.headers.size() + 5);
  for (const auto& h : letter.headers) {
    if (!IsDeadLetterHeader(h.first)) out.push_back(h);
  }
  out.emplace_back(kHeaderError, Truncate(letter.reason, kMaxReasonBytes));
  out.emplace_back(kHeaderClass, common::ToString(letter.error_class));
  out.emplace_back(kHeaderTopic, letter.source_topic);
  out.emplace_back(kHeaderPartition, std::to_string(letter.source_partition));
  out.emplace_back(kHeaderOffset, std::to_string(letter.source_offset));
  return out;
}

KafkaDeadLetterSink::KafkaDeadLetterSink(KafkaProducer& producer, std::string topic, common::Metrics& metrics)
    : producer_(producer), topic_(std::move(topic)), metrics_(metrics) {}

void KafkaDeadLetterSink::Send(const std::vector<DeadLetter>& letters) {
  if (letters.empty()) return;
  std::vector<std::vector<std::pair<std::string, std::string>>> headers;  // keeps the views alive
  headers.reserve(letters.size());
  std::vector<ProducerMessage> messages(letters.size());
  for (size_t i = 0; i < letters.size(); ++i) {
    headers.push_back(DeadLetterHeaders(letters[i]));
    ProducerMessage& m = messages[i];
    m.topic = topic_;
    m.key = letters[i].key;
    m.value = letters[i].value;
    m.headers.reserve(headers.back().size());
    for (const auto& [name, value] : headers.back()) m.headers.emplace_back(name, value);
  }
  std::vector<Delivery> results = producer_.ProduceBatch(messages);
  size_t failed = 0;
  const Delivery* first_failure = nullptr;
  bool permanent = false;
  for (const Delivery& d : results) {
    if (d.ok) continue;
    ++failed;
    if (!first_failure) first_failure = &d;
    permanent = permanent || d.retry == common::Retry::kPermanent;
  }
  if (failed > 0) {
    // The caller sends the whole batch again, so the letters delivered this time
    // are duplicated; a dead letter is read by people and by `hubworker dlq`,
    // which tolerate that.  Nothing is counted until the batch is through.
    std::string what = "dead letter topic " + topic_ + ": " + std::to_string(failed) + " of " +
                       std::to_string(letters.size()) + " letters not delivered: " + first_failure->error;
    if (permanent) throw DeliveryFailed(what);
    throw common::TransientError(what);
  }
  for (const DeadLetter& letter : letters) {
    metrics_.events_deadlettered[static_cast<size_t>(letter.error_class)].fetch_add(1);
    common::LogWarn("event dead-lettered", {{"source_topic", letter.source_topic},
                                            {"source_partition", letter.source_partition},
                                            {"source_offset", letter.source_offset},
                                            {"error_class", common::ToString(letter.error_class)},
                                            {"reason", Truncate(letter.reason, kMaxReasonBytes)}});
  }
}

}  // namespace hub::producers
