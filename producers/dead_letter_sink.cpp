#include "producers/dead_letter_sink.hpp"

#include <stdexcept>
#include <string_view>

#include "common/ids.hpp"
#include "common/log.hpp"
#include "kafka/producer.hpp"

namespace hub::producers {
namespace {

constexpr std::string_view kHeaderError = "hub-error";
constexpr std::string_view kHeaderClass = "hub-error-class";
constexpr std::string_view kHeaderTopic = "hub-source-topic";
constexpr std::string_view kHeaderPartition = "hub-source-partition";
constexpr std::string_view kHeaderOffset = "hub-source-offset";
constexpr std::string_view kHeaderValueOmitted = "hub-value-omitted";
constexpr std::string_view kHeaderHeadersOmitted = "hub-headers-omitted";
constexpr std::string_view kHeaderKeyOmitted = "hub-key-omitted";
constexpr std::string_view kHeaderKeySha256 = "hub-key-sha256";

bool IsDeadLetterHeader(std::string_view name) {
  return name == kHeaderError || name == kHeaderClass || name == kHeaderTopic || name == kHeaderPartition ||
         name == kHeaderOffset || name == kHeaderValueOmitted || name == kHeaderHeadersOmitted ||
         name == kHeaderKeyOmitted || name == kHeaderKeySha256;
}

// The next form to try after `form` was refused as too large; kNone if none is left.
Slimming Slimmer(Slimming form) {
  switch (form) {
    case Slimming::kNone: return Slimming::kWithoutValue;
    case Slimming::kWithoutValue: return Slimming::kWithoutValueAndHeaders;
    case Slimming::kWithoutValueAndHeaders: return Slimming::kWithoutValueHeadersAndKey;
    case Slimming::kWithoutValueHeadersAndKey: return Slimming::kNone;
  }
  return Slimming::kNone;
}

const char* LeftOut(Slimming form) {
  switch (form) {
    case Slimming::kNone: return "nothing";
    case Slimming::kWithoutValue: return "its value";
    case Slimming::kWithoutValueAndHeaders: return "its value and original headers";
    case Slimming::kWithoutValueHeadersAndKey: return "its value, original headers and key (the key's SHA-256 instead)";
  }
  return "?";
}

// Cuts at a UTF-8 character boundary.
std::string Truncate(const std::string& s, size_t max) {
  if (s.size() <= max) return s;
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n) + "...";
}

}  // namespace

std::string KeySha256Hex(std::string_view key) { return common::Sha256Hex(key); }

std::vector<std::pair<std::string, std::string>> DeadLetterHeaders(const DeadLetter& letter, Slimming slimming) {
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(letter.headers.size() + 9);
  const bool without_headers =
      slimming == Slimming::kWithoutValueAndHeaders || slimming == Slimming::kWithoutValueHeadersAndKey;
  size_t dropped = 0;
  for (const auto& h : letter.headers) {
    if (IsDeadLetterHeader(h.first)) continue;
    if (without_headers) {
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
  if (without_headers) out.emplace_back(kHeaderHeadersOmitted, std::to_string(dropped));
  if (slimming == Slimming::kWithoutValueHeadersAndKey) {
    out.emplace_back(kHeaderKeyOmitted, std::to_string(letter.key.size()));
    out.emplace_back(kHeaderKeySha256, KeySha256Hex(letter.key));
  }
  return out;
}

KafkaDeadLetterSink::KafkaDeadLetterSink(kafka::KafkaProducer& producer, std::string topic, common::Metrics& metrics)
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
    std::vector<kafka::ProducerMessage> messages(pending.size());
    for (size_t j = 0; j < pending.size(); ++j) {
      const DeadLetter& letter = letters[pending[j]];
      const Slimming slimming = form[pending[j]];
      headers.push_back(DeadLetterHeaders(letter, slimming));
      kafka::ProducerMessage& m = messages[j];
      m.topic = topic_;
      // In the last form the key is the original key's digest: hub-key-sha256, the last header.
      m.key = slimming == Slimming::kWithoutValueHeadersAndKey ? std::string_view(headers.back().back().second)
                                                               : std::string_view(letter.key);
      if (slimming == Slimming::kNone) m.value = letter.value;
      m.headers.reserve(headers.back().size());
      for (const auto& [name, value] : headers.back()) m.headers.emplace_back(name, value);
    }
    std::vector<kafka::Delivery> results = producer_.ProduceBatch(messages);
    std::vector<size_t> slimmer;
    for (size_t j = 0; j < results.size(); ++j) {
      const kafka::Delivery& d = results[j];
      if (d.ok) continue;
      const size_t i = pending[j];
      if (d.rejected && Slimmer(form[i]) != Slimming::kNone) {
        // Refused by the client itself, so no other letter was affected, and
        // sending it unchanged again could never succeed.
        form[i] = Slimmer(form[i]);
        common::LogWarn(std::string("dead letter too large for the producer; sending it again without ") +
                            LeftOut(form[i]),
                        {{"source_topic", letters[i].source_topic},
                         {"source_partition", letters[i].source_partition},
                         {"source_offset", letters[i].source_offset},
                         {"key_bytes", static_cast<int64_t>(letters[i].key.size())},
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
    if (permanent) throw kafka::DeliveryFailed(what);
    throw common::TransientError(what);
  }
  for (size_t i = 0; i < letters.size(); ++i) {
    const DeadLetter& letter = letters[i];
    metrics_.events_deadlettered[common::Metrics::FamilySlot(letter.family)][static_cast<size_t>(letter.error_class)]
        .fetch_add(1);
    if (form[i] != Slimming::kNone) metrics_.deadletters_value_omitted.fetch_add(1);
    // Never the key itself: it can be anything up to the size of a message.
    common::LogWarn("event dead-lettered",
                    {{"source_topic", letter.source_topic},
                     {"source_partition", letter.source_partition},
                     {"source_offset", letter.source_offset},
                     {"error_class", common::ToString(letter.error_class)},
                     {"value_omitted", form[i] != Slimming::kNone ? "true" : "false"},
                     {"key_omitted", form[i] == Slimming::kWithoutValueHeadersAndKey ? "true" : "false"},
                     {"reason", Truncate(letter.reason, kMaxReasonBytes)},
                     {"traceparent", letter.traceparent}});
  }
}

}  // namespace hub::producers
