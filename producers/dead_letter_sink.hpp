#pragma once
// Dead letters: events that cannot be processed, published to `hub.deadletter`
// (the platform's dead-letter format).  A dead letter keeps the original key, value and headers and
// adds hub-error, hub-error-class, hub-source-topic, hub-source-partition and
// hub-source-offset.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.hpp"
#include "common/metrics.hpp"

namespace hub::kafka {
class KafkaProducer;
}  // namespace hub::kafka

namespace hub::producers {

// How much of the original a dead letter carries.  The contract's form keeps
// the value, key and headers; a letter the producer refuses as too large
// (message.max.bytes: an event near the limit plus the hub headers, or a topic
// allowing larger messages than this producer) would otherwise be refused on
// every retry and hold its partition forever.  It is then sent without the
// value, if still refused without the original headers too, and if even that
// is refused (the key alone is too large) with the lowercase hex SHA-256 of
// the original key as its key: the same original key still goes to the same
// dead-letter partition.  Such letters carry `hub-value-omitted` (the value's
// size in bytes), from the second form on `hub-headers-omitted` (how many),
// and in the last `hub-key-omitted` (the key's size in bytes) and
// `hub-key-sha256` (the hex digest, also the letter's key); the event itself
// is still on its source topic at hub-source-topic / -partition / -offset.
enum class Slimming { kNone, kWithoutValue, kWithoutValueAndHeaders, kWithoutValueHeadersAndKey };

// The lowercase hex SHA-256 of `key` (64 characters).
std::string KeySha256Hex(std::string_view key);

struct DeadLetter {
  std::string source_topic;
  int32_t source_partition = 0;
  int64_t source_offset = 0;
  std::string key;    // original, unchanged (but see Slimming::kWithoutValueHeadersAndKey)
  std::string value;  // original, unchanged
  std::vector<std::pair<std::string, std::string>> headers;  // original headers, kept
  common::ErrorClass error_class = common::ErrorClass::kInternal;
  std::string reason;  // human-readable
  std::string traceparent;  // of the event, when it had one: only for the log line
  int family = -1;          // index in the event catalogue (-1: not in it), for the metrics
};

class DeadLetterSink {
 public:
  virtual ~DeadLetterSink() = default;
  // Blocks until every letter is delivered; throws common::TransientError if the
  // broker can't take them (retry later), kafka::DeliveryFailed if it never will.
  virtual void Send(const std::vector<DeadLetter>& letters) = 0;
};

// The headers of the dead letter of `letter`: its original headers in order,
// without any earlier hub-error* / hub-source-* / hub-*-omitted /
// hub-key-sha256 (a letter that fails again after a redrive carries only its
// latest reason), then the five hub headers, then the omission headers of
// `slimming` in the order described there.  The reason is cut to
// kMaxReasonBytes.  Pure.
inline constexpr size_t kMaxReasonBytes = 2048;
std::vector<std::pair<std::string, std::string>> DeadLetterHeaders(const DeadLetter& letter,
                                                                   Slimming slimming = Slimming::kNone);

// Publishes to one topic through a shared kafka::KafkaProducer; any thread (Send
// blocks its caller only).  Counts metrics.events_deadlettered[family][class] once a
// letter is delivered (and deadletters_value_omitted for slimmed ones).  A
// letter the producer refuses as too large is sent again slimmer (Slimming)
// in the same call; only other failures, or a refusal of the last form, reach
// the caller.
class KafkaDeadLetterSink : public DeadLetterSink {
 public:
  KafkaDeadLetterSink(kafka::KafkaProducer& producer, std::string topic /* e.g. "hub.deadletter" */,
                      common::Metrics& metrics);
  void Send(const std::vector<DeadLetter>& letters) override;

 private:
  kafka::KafkaProducer& producer_;
  const std::string topic_;
  common::Metrics& metrics_;
};

}  // namespace hub::producers
