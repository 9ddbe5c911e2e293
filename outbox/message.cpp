#include "outbox/message.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "common/log.hpp"

namespace hub::outbox {
namespace {

constexpr std::string_view kContentType = "content-type";
constexpr std::string_view kCloudEventsJson = "application/cloudevents+json";

}  // namespace

void BuildOutboxMessage(std::string_view topic, std::string_view key, std::string_view payload,
                        std::string_view headers_json, std::deque<std::string>& storage, kafka::ProducerMessage& out) {
  out.topic = topic;
  out.key = key;
  out.value = payload;
  out.headers.clear();
  out.headers.emplace_back(kContentType, kCloudEventsJson);
  if (headers_json.size() <= 2) return;  // "{}"
  rapidjson::Document doc;
  doc.Parse(headers_json.data(), headers_json.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    common::LogWarn("outbox row headers are not a JSON object; ignored");
    return;
  }
  for (auto it = doc.MemberBegin(); it != doc.MemberEnd(); ++it) {
    storage.emplace_back(it->name.GetString(), it->name.GetStringLength());
    std::string_view name = storage.back();
    if (it->value.IsString()) {
      storage.emplace_back(it->value.GetString(), it->value.GetStringLength());
    } else {
      rapidjson::StringBuffer buf;
      rapidjson::Writer<rapidjson::StringBuffer> writer(buf);
      it->value.Accept(writer);
      storage.emplace_back(buf.GetString(), buf.GetSize());
    }
    if (name == kContentType) out.headers.erase(out.headers.begin());  // the row's own wins
    out.headers.emplace_back(name, storage.back());
  }
}

}  // namespace hub::outbox
