#include "ops/dead_letter_record.hpp"

#include <charconv>

#include <rapidjson/document.h>

#include "common/ids.hpp"

namespace hub::ops {
namespace {

std::string HeaderValue(const Headers& h, std::string_view name) {
  std::string out;
  for (const auto& [n, v] : h)
    if (n == name) out = v;  // the last one: a letter that failed again carries its latest reason
  return out;
}

bool HasHeader(const Headers& h, std::string_view name) {
  for (const auto& [n, v] : h)
    if (n == name) return true;
  return false;
}

template <typename T>
bool ParseNumber(std::string_view s, T& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

std::string StringMember(const rapidjson::Value& v, const char* name) {
  if (!v.IsObject()) return {};
  auto m = v.FindMember(name);
  if (m == v.MemberEnd() || !m->value.IsString()) return {};
  return {m->value.GetString(), m->value.GetStringLength()};
}

}  // namespace

bool IsDeadLetterHeader(std::string_view name) {
  return name == "hub-error" || name == "hub-error-class" || name == "hub-source-topic" ||
         name == "hub-source-partition" || name == "hub-source-offset" || name == "hub-value-omitted" ||
         name == "hub-headers-omitted" || name == "hub-key-omitted" || name == "hub-key-sha256";
}

DeadLetterRecord ParseDeadLetter(RawMessage message) {
  DeadLetterRecord r;
  const Headers& h = message.headers;
  r.error_class = HeaderValue(h, "hub-error-class");
  r.reason = HeaderValue(h, "hub-error");
  r.source_topic = HeaderValue(h, "hub-source-topic");
  if (!ParseNumber(HeaderValue(h, "hub-source-partition"), r.source_partition)) r.source_partition = -1;
  if (!ParseNumber(HeaderValue(h, "hub-source-offset"), r.source_offset)) r.source_offset = -1;
  r.redrive_of = HeaderValue(h, kRedriveOfHeader);
  // Binary mode keeps the attributes in ce_* headers and `data` as the value;
  // structured mode has the whole event as the value.
  r.type = HeaderValue(h, "ce_type");
  r.event_id = HeaderValue(h, "ce_id");
  rapidjson::Document doc;
  doc.Parse(message.value.data(), message.value.size());
  if (!doc.HasParseError() && doc.IsObject()) {
    if (r.type.empty()) {
      r.type = StringMember(doc, "type");
      r.event_id = StringMember(doc, "id");
      auto data = doc.FindMember("data");
      if (data != doc.MemberEnd()) r.organization = StringMember(data->value, "organizationId");
    } else {
      r.organization = StringMember(doc, "organizationId");
    }
  }
  if (r.error_class.empty() || r.source_topic.empty())
    r.not_redrivable = "not a dead letter (no hub-error-class / hub-source-topic header)";
  else if (HasHeader(h, "hub-key-omitted"))
    r.not_redrivable = "its key was left out (too large); the event is only at its source offset";
  else if (HasHeader(h, "hub-value-omitted"))
    r.not_redrivable = "its value was left out (too large); the event is only at its source offset";
  r.message = std::move(message);
  return r;
}

bool Matches(const DeadLetterFilter& f, const DeadLetterRecord& r) {
  if (!f.classes.empty() && !f.classes.count(r.error_class)) return false;
  if (!f.types.empty() && !f.types.count(r.type)) return false;
  if (!f.key.empty() && r.message.key != f.key) return false;
  if (!f.organization.empty() && r.organization != f.organization) return false;
  if (f.since_ms >= 0 && r.message.timestamp_ms < f.since_ms) return false;
  if (f.until_ms >= 0 && r.message.timestamp_ms >= f.until_ms) return false;
  if (!f.positions.empty() && !f.positions.count({r.message.partition, r.message.offset})) return false;
  return true;
}

Headers RedriveHeaders(const DeadLetterRecord& r, int64_t now_us) {
  Headers out;
  for (const auto& h : r.message.headers) {
    if (IsDeadLetterHeader(h.first) || h.first == kRedriveOfHeader || h.first == kRedriveClassHeader ||
        h.first == kRedrivenAtHeader)
      continue;
    out.push_back(h);
  }
  out.emplace_back(kRedriveOfHeader, r.message.topic + ":" + std::to_string(r.message.partition) + ":" +
                                         std::to_string(r.message.offset));
  out.emplace_back(kRedriveClassHeader, r.error_class);
  out.emplace_back(kRedrivenAtHeader, common::FormatRfc3339(now_us));
  return out;
}

std::optional<std::pair<int32_t, int64_t>> ParsePosition(std::string_view text) {
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  int32_t p = 0;
  int64_t o = 0;
  if (!ParseNumber(text.substr(0, colon), p) || !ParseNumber(text.substr(colon + 1), o) || p < 0 || o < 0)
    return std::nullopt;
  return std::make_pair(p, o);
}

}  // namespace hub::ops
