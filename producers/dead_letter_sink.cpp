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
constexpr std::string_view kHeaderValueOmitted = "hub-value-omitted";
constexpr std::string_view kHeaderHeadersOmitted = "hub-headers-omitted";

bool IsDeadLetterHeader(std::string_view name) {
  return name == kHeaderError || name == kHeaderClass || name == kHeaderTopic || name == kHeaderPartition ||
         name == kHeaderOffset || name == kHeaderValueOmitted || name == kHeaderHeadersOmitted;
}

// Cuts at a UTF-8 character boundary.
std::string Truncate(const std::string& s, size_t max) {
  if (s.size() <= max) return s;
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n) + "...";
}

}  // namespace

std::vector<std::pair<std::string, std::string>> DeadLetterHeaders(const DeadLetter& letter, Slimming slimming) {
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(letter.headers.size() + 7);
  size_t dropped = 0;
  for (const auto& h : letter.headers) {
    if (IsDeadLetterHeader(h.first)) continue;
    if (slimming == Slimming::kWithoutValueAndHeaders) {
      ++dropped;
      continue;
    }
    out.push_back(h);
  }
  out.emplace_back(kHeaderError, Truncate(letter.reason, kMaxReasonBytes));
  out.emplace_back(kHeaderClass, common::ToString(letter.error_class));
  out.emplace_back(kHeaderTopic, letter.source_topic);
  out.emplace_back(kHeaderPartition, std::to_string(letter.source_partition));
  out.emplace_back(kHeaderOffset, std::to_string(letter.source_offset));
  if (slimming != Slimming::kNone) out.emplace_back(kHeaderValueOmitted, std::to_string(letter.value.size()));
  if (slimming == Slimming::kWithoutValueAndHeaders) out.emplace_back(kHeaderHeadersOmitted, std::to_string(dropped));
  return out;
}

KafkaDeadLetterSink::KafkaDeadLetterSink(KafkaProducer& producer, std::string topic, common::Metrics& metrics)
    : producer_(producer), topic_(std::move(topic)), metrics_(metrics) {}

void KafkaDeadLetterSink::Send(const std::vector<DeadLetter>& letters) {
  if (letters.empty()) return;
  // Which form each letter is sent in; a letter the producer refuses as too
  // large is sent again slimmer (see Slimming).
  std::vector<Slimming> form(letters.size(), Slimming::kNone);
  std::vector<size_t> pending(letters.size());
  for (size_t i = 0; i < letters.size(); ++i) pending[i] = i;
  size_t failed = 0;
  std::string first_failure;
  bool permanent = false;
  while (!pending.empty()) {
    std::vector<std::vector<std::pair<std::string, std::string>>> headers;  // keeps the views alive
    headers.reserve(pending.size());
    std::vector<ProducerMessage> messages(pending.size());
    for (size_t j = 0; j < pending.size(); ++j) {
      const DeadLetter& letter = letters[pending[j]];
      const Slimming slimming = form[pending[j]];
      headers.push_back(DeadLetterHeaders(letter, slimming));
      ProducerMessage& m = messages[j];
      m.topic = topic_;
      m.key = letter.key;
      if (slimming == Slimming::kNone) m.value = letter.value;
      m.headers.reserve(headers.back().size());
      for (const auto& [name, value] : headers.back()) m.headers.emplace_back(name, value);
    }
    std::vector<Delivery> results = producer_.ProduceBatch(messages);
    std::vector<size_t> slimmer;
    for (size_t j = 0; j < results.size(); ++j) {
      const Delivery& d = results[j];
      if (d.ok) continue;
      const size_t i = pending[j];
      if (d.rejected && form[i] != Slimming::kWithoutValueAndHeaders) {
        // Refused by the client itself, so no other letter was affected, and
        // sending it unchanged again could never succeed.
        form[i] = form[i] == Slimming::kNone ? Slimming::kWithoutValue : Slimming::kWithoutValueAndHeaders;
        common::LogWarn("dead letter too large for the producer; sending it again without its " +
                            std::string(form[i] == Slimming::kWithoutValue ? "value" : "value and original headers"),
                        {{"source_topic", letters[i].source_topic},
                         {"source_partition", letters[i].source_partition},
                         {"source_offset", letters[i].source_offset},
                         {"value_bytes", static_cast<int64_t>(letters[i].value.size())},
                         {"error", d.error}});
        slimmer.push_back(i);
        continue;
      }
      ++failed;
      if (first_failure.empty()) first_failure = d.error;
      permanent = permanent || d.retry == common::Retry::kPermanent;
    }
    if (failed > 0) break;
    pending = std::move(slimmer);
  }
  if (failed > 0) {
    // The caller sends the whole batch again, so the letters delivered this time
    // are duplicated; a dead letter is read by people and by `hubworker dlq`,
    // which tolerate that.  Nothing is counted until the batch is through.
    std::string what = "dead letter topic " + topic_ + ": " + std::to_string(failed) + " of " +
                       std::to_string(letters.size()) + " letters not delivered: " + first_failure;
    if (permanent) throw DeliveryFailed(what);
    throw common::TransientError(what);
  }
  for (size_t i = 0; i < letters.size(); ++i) {
    const DeadLetter& letter = letters[i];
    metrics_.events_deadlettered[static_cast<size_t>(letter.error_class)].fetch_add(1);
    if (form[i] != Slimming::kNone) metrics_.deadletters_value_omitted.fetch_add(1);
    common::LogWarn("event dead-lettered", {{"source_topic", letter.source_topic},
                                            {"source_partition", letter.source_partition},
                                            {"source_offset", letter.source_offset},
                                            {"error_class", common::ToString(letter.error_class)},
                                            {"value_omitted", form[i] != Slimming::kNone ? "true" : "false"},
                                            {"reason", Truncate(letter.reason, kMaxReasonBytes)}});
  }
}

}  // namespace hub::producers
