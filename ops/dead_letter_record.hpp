#pragma once
// Dead letters read back from `hub.deadletter` (the format written by
// producers/dead_letter_sink): what `hubworker dlq` lists, filters and
// redrives.  Pure: no Kafka, no database.
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hub::ops {

using Headers = std::vector<std::pair<std::string, std::string>>;

// One message as a topic reader hands it over.
struct RawMessage {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestamp_ms = -1;  // the broker's or producer's timestamp; -1 unknown
  std::string key;
  std::string value;
  Headers headers;  // in order; a name may repeat
};

struct DeadLetterRecord {
  RawMessage message;      // the letter as it is on the dead-letter topic
  std::string error_class;  // hub-error-class
  std::string reason;       // hub-error
  std::string source_topic;
  int32_t source_partition = -1;
  int64_t source_offset = -1;
  std::string type;          // the event's `type` (structured value or ce_type header); "" unknown
  std::string organization;  // data.organizationId; "" unknown
  std::string event_id;      // the event's `id`; "" unknown
  // Why the letter cannot be redriven as it is ("" when it can): its value or
  // key was left out when it was dead-lettered (dead_letter_sink Slimming).
  std::string not_redrivable;
  // Already the redrive of an earlier letter: hub-redrive-of of its headers.
  std::string redrive_of;
};

// The header names a dead letter adds (and a redrive removes again).
bool IsDeadLetterHeader(std::string_view name);

// Reads the hub headers and what it can of the event; never throws (a
// message that is not a dead letter gets error_class "").
DeadLetterRecord ParseDeadLetter(RawMessage message);

// `hubworker dlq list` / `redrive` selection; empty members select all.
struct DeadLetterFilter {
  std::set<std::string> classes;
  std::set<std::string> types;
  std::string key;
  std::string organization;
  int64_t since_ms = -1;  // message timestamp >= since
  int64_t until_ms = -1;  // message timestamp < until
  // partition:offset of single letters (dlq show / redrive 3:17 ...).
  std::set<std::pair<int32_t, int64_t>> positions;
};
bool Matches(const DeadLetterFilter& f, const DeadLetterRecord& r);

// The headers a redriven event is published with: the original headers in
// order (the dead letter's own hub-* headers and an earlier redrive's
// provenance removed), then hub-redrive-of = "<dlq topic>:<partition>:<offset>"
// (the letter), hub-redrive-error-class (why it had failed) and
// hub-redriven-at (RFC 3339, from `now_us`).
inline constexpr std::string_view kRedriveOfHeader = "hub-redrive-of";
inline constexpr std::string_view kRedriveClassHeader = "hub-redrive-error-class";
inline constexpr std::string_view kRedrivenAtHeader = "hub-redriven-at";
Headers RedriveHeaders(const DeadLetterRecord& r, int64_t now_us);

// "3:17" -> (3, 17); nullopt when malformed.
std::optional<std::pair<int32_t, int64_t>> ParsePosition(std::string_view text);

}  // namespace hub::ops
