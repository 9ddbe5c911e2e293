#include "worker/execution_view.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace hub::worker {
namespace {

std::string Pad(std::string s, size_t width) {
  if (s.size() < width) s.resize(width, ' ');
  return s;
}

std::string Compact(const rapidjson::Value& v) {
  if (v.IsString()) return std::string(v.GetString(), v.GetStringLength());
  rapidjson::StringBuffer b;
  rapidjson::Writer<rapidjson::StringBuffer> w(b);
  v.Accept(w);
  return std::string(b.GetString(), b.GetSize());
}

std::string Field(const rapidjson::Value& entry, const char* name) {
  auto it = entry.FindMember(name);
  return it == entry.MemberEnd() ? "" : Compact(it->value);
}

}  // namespace

std::string ExecutionLine(const ExecutionRow& r) {
  std::string line = Pad(r.finished_at.substr(0, 19), 20) + Pad(r.workflow_id, 24) + " " + Pad(r.status, 10) + " " +
                     Pad(std::to_string(r.duration_ms) + " ms", 9) + " " + std::to_string(r.nodes) +
                     (r.nodes == 1 ? " node " : " nodes") + "  " + r.id;
  if (!r.error.empty()) line += "\n    error: " + r.error;
  return line;
}

std::string StepLogText(const std::string& logs_json) {
  rapidjson::Document d;
  d.Parse(logs_json.c_str());
  if (d.HasParseError() || !d.IsArray()) return "";
  std::string out;
  for (const auto& e : d.GetArray()) {
    if (!e.IsObject()) continue;
    std::string line = "  " + Pad(Field(e, "nodeId"), 14) + " " + Pad(Field(e, "type"), 13) + " " +
                       Pad(Field(e, "status"), 10);
    for (const auto& m : e.GetObject()) {
      const std::string k(m.name.GetString(), m.name.GetStringLength());
      if (k == "nodeId" || k == "type" || k == "status") continue;
      std::string v = Compact(m.value);
      if (v.size() > 200) v = v.substr(0, 200) + "…";
      line += " " + k + "=" + v;
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

int ExitCodeOf(const std::string& status) {
  if (status == "COMPLETED") return 0;
  if (status == "CANCELLED") return 5;
  return 4;
}

}  // namespace hub::worker
