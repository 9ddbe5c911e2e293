#include "ops/execution_diff.hpp"

#include <cstdio>
#include <map>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace hub::ops {
namespace {

constexpr const char* kNone = "(none)";

std::string Text(const rapidjson::Value& v) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  v.Accept(w);
  return {buf.GetString(), buf.GetSize()};
}

// JSON texts equal as values; texts that do not parse are compared as text.
bool SameJson(const std::string& a, const std::string& b) {
  if (a == b) return true;
  rapidjson::Document da, db;
  da.Parse(a.data(), a.size());
  db.Parse(b.data(), b.size());
  if (da.HasParseError() || db.HasParseError()) return false;
  return da == db;
}

// nodeId -> entry (without the fields not compared), in log order.
struct NodeLog {
  rapidjson::Document doc;
  std::vector<std::string> order;
  std::map<std::string, const rapidjson::Value*> by_node;
};

void ReadLog(const std::string& logs_json, NodeLog& out) {
  out.doc.Parse(logs_json.data(), logs_json.size());
  if (out.doc.HasParseError() || !out.doc.IsArray()) {
    out.doc.SetArray();
    return;
  }
  for (auto& entry : out.doc.GetArray()) {
    if (!entry.IsObject()) continue;
    auto id = entry.FindMember("nodeId");
    if (id == entry.MemberEnd() || !id->value.IsString()) continue;
    entry.RemoveMember("until");
    std::string node(id->value.GetString(), id->value.GetStringLength());
    if (!out.by_node.count(node)) out.order.push_back(node);
    out.by_node[node] = &entry;  // a node logged twice: its last entry
  }
}

std::string NotificationText(const engine::NotificationWrite& n) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("userId");
  w.String(n.user_id.data(), static_cast<rapidjson::SizeType>(n.user_id.size()));
  w.Key("title");
  w.String(n.title.data(), static_cast<rapidjson::SizeType>(n.title.size()));
  w.Key("message");
  w.String(n.message.data(), static_cast<rapidjson::SizeType>(n.message.size()));
  w.Key("type");
  w.String(n.type.data(), static_cast<rapidjson::SizeType>(n.type.size()));
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

// As workflow_executions.cost keeps it: numeric(12,2).
std::string Cents(double cents) {
  char text[48];
  std::snprintf(text, sizeof text, "%.2f", cents);
  return text;
}

}  // namespace

std::vector<Difference> DiffExecutions(const ExecutionRecord& recorded, const ExecutionRecord& replayed) {
  std::vector<Difference> out;
  if (recorded.status != replayed.status) out.push_back({"status", recorded.status, replayed.status});
  const std::string& ro = recorded.output_json.empty() ? std::string(kNone) : recorded.output_json;
  const std::string& po = replayed.output_json.empty() ? std::string(kNone) : replayed.output_json;
  if (!SameJson(ro, po)) out.push_back({"output", ro, po});
  if (recorded.error != replayed.error)
    out.push_back({"error", recorded.error.empty() ? kNone : recorded.error,
                   replayed.error.empty() ? kNone : replayed.error});
  if (recorded.nodes_executed != replayed.nodes_executed)
    out.push_back({"nodes_executed", std::to_string(recorded.nodes_executed), std::to_string(replayed.nodes_executed)});
  if (recorded.tokens_used != replayed.tokens_used)
    out.push_back({"tokens_used", std::to_string(recorded.tokens_used), std::to_string(replayed.tokens_used)});
  if (Cents(recorded.cost) != Cents(replayed.cost)) out.push_back({"cost", Cents(recorded.cost), Cents(replayed.cost)});

  NodeLog a, b;
  ReadLog(recorded.logs_json, a);
  ReadLog(replayed.logs_json, b);
  std::vector<std::string> nodes = a.order;
  for (const auto& n : b.order)
    if (!a.by_node.count(n)) nodes.push_back(n);
  for (const auto& n : nodes) {
    auto x = a.by_node.find(n);
    auto y = b.by_node.find(n);
    if (x != a.by_node.end() && y != b.by_node.end()) {
      if (!(*x->second == *y->second)) out.push_back({"node " + n, Text(*x->second), Text(*y->second)});
    } else {
      out.push_back({"node " + n, x == a.by_node.end() ? kNone : Text(*x->second),
                     y == b.by_node.end() ? kNone : Text(*y->second)});
    }
  }

  std::map<std::string, std::string> na, nb;
  for (const auto& n : recorded.notifications) na[n.id] = NotificationText(n);
  for (const auto& n : replayed.notifications) nb[n.id] = NotificationText(n);
  for (const auto& [id, text] : na) {
    auto it = nb.find(id);
    if (it == nb.end()) out.push_back({"notification " + id, text, kNone});
    else if (it->second != text) out.push_back({"notification " + id, text, it->second});
  }
  for (const auto& [id, text] : nb)
    if (!na.count(id)) out.push_back({"notification " + id, kNone, text});
  return out;
}

ExecutionRecord RecordOf(const engine::ExecutionResult& r, std::vector<engine::NotificationWrite> notifications) {
  ExecutionRecord e;
  e.status = engine::ToString(r.status);
  // As stored: the output is null when the execution has an error.
  e.output_json = r.error.empty() ? r.output_json : std::string();
  e.error = r.error;
  e.logs_json = r.logs_json;
  e.nodes_executed = r.nodes_executed;
  e.tokens_used = r.tokens_used;
  e.cost = r.cost;
  e.notifications = std::move(notifications);
  return e;
}

}  // namespace hub::ops
