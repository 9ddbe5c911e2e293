#include "engine/order_build.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "common/ids.hpp"
#include "common/json_text.hpp"
#include "engine/cloud_event.hpp"

namespace hub::engine {
namespace {

using common::AppendJsonString;

constexpr size_t kMaxName = 100;  // ai_agents.name varchar(100)
constexpr size_t kMaxDescription = 2000;
constexpr size_t kMaxModel = 100;
constexpr size_t kMaxCapabilities = 32;
constexpr size_t kMaxCapability = 100;

struct Stage {
  const char* stage;
  const char* name;
  const char* log;
  int progress;
};
// The build's milestones, in order.
constexpr Stage kStages[] = {
    {"review", "Requirements reviewed", "requirements reviewed: the agent configuration is complete", 25},
    {"configure", "Agent configured", "agent configured from the order's agent_config", 50},
    {"validate", "Configuration validated", "model and capabilities validated", 75},
    {"provision", "Agent provisioned", "agent provisioned", 100},
};

// Characters of valid UTF-8 text (what varchar(n) counts).
size_t Characters(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::string Serialize(const rapidjson::Value& v) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  v.Accept(w);
  return {buf.GetString(), buf.GetSize()};
}

bool OptionalObject(const rapidjson::Value& config, const char* key, std::string& out, std::string& why) {
  out = "{}";
  auto it = config.FindMember(key);
  if (it == config.MemberEnd()) return true;
  if (!it->value.IsObject()) {
    why = std::string("agent_config.") + key + " must be an object";
    return false;
  }
  out = Serialize(it->value);
  return true;
}

bool CheckModelConfig(const rapidjson::Value& config, std::string& why) {
  auto it = config.FindMember("model_config");
  if (it == config.MemberEnd()) return true;
  const rapidjson::Value& m = it->value;
  if (auto p = m.FindMember("provider"); p != m.MemberEnd()) {
    const std::string_view provider = p->value.IsString() ? p->value.GetString() : "";
    if (provider != "local" && provider != "openai" && provider != "anthropic") {
      why = "agent_config.model_config.provider must be one of local, openai, anthropic";
      return false;
    }
  }
  if (auto p = m.FindMember("model"); p != m.MemberEnd()) {
    if (!p->value.IsString() || Characters(p->value.GetString()) > kMaxModel) {
      why = "agent_config.model_config.model must be a string of at most " + std::to_string(kMaxModel) + " characters";
      return false;
    }
  }
  return true;
}

// Event ids: one per submission and milestone (a rebuild after the platform
// reset the order to SUBMITTED emits new events, which consumers must not
// take for copies).
std::string EventId(std::string_view trigger_id, const OrderRow& o, std::string_view what, int64_t now) {
  return common::TimeOrderedUuid(now / 1000, trigger_id, o.organization_id + "/" + o.id, what);
}

std::string MilestoneEvent(const OrderRow& o, const OrderMilestone& m, std::string_view trigger_id,
                           std::string_view traceparent, int64_t now) {
  std::string out;
  BeginCloudEvent(out, EventId(trigger_id, o, m.stage, now), "order.milestone", now, traceparent, o.id);
  out += "{\"organizationId\":";
  AppendJsonString(out, o.organization_id);
  out += ",\"orderId\":";
  AppendJsonString(out, o.id);
  out += ",\"milestoneId\":";
  AppendJsonString(out, m.id);
  out += ",\"name\":";
  AppendJsonString(out, m.name);
  out += ",\"stage\":";
  AppendJsonString(out, m.stage);
  out += ",\"progress\":";
  common::AppendJsonInt(out, m.progress);
  out += ",\"completed\":true}}";
  return out;
}

std::string CompletedEvent(const OrderRow& o, const OrderBuild& b, std::string_view trigger_id,
                           std::string_view traceparent, int64_t now) {
  std::string out;
  BeginCloudEvent(out, EventId(trigger_id, o, "completed", now), "order.completed", now, traceparent, o.id);
  out += "{\"organizationId\":";
  AppendJsonString(out, o.organization_id);
  out += ",\"orderId\":";
  AppendJsonString(out, o.id);
  out += ",\"status\":";
  AppendJsonString(out, b.new_status);
  if (b.agent) {
    out += ",\"agentId\":";
    AppendJsonString(out, b.agent->id);
  } else {
    out += ",\"error\":";
    AppendJsonString(out, b.error);
  }
  out += "}}";
  return out;
}

}  // namespace

bool AgentFromConfig(const OrderRow& order, ProvisionedAgent& agent, std::string& why) {
  rapidjson::Document config;
  config.Parse(order.agent_config_json.data(), order.agent_config_json.size());
  if (config.HasParseError() || !config.IsObject()) {
    why = "agent_config must be a JSON object";
    return false;
  }
  agent = ProvisionedAgent{};
  // One agent per order (a rebuild re-provisions it), in the order's organisation.
  agent.id = "agt_" + common::Sha256Hex(order.organization_id + "/" + order.id).substr(0, 32);
  if (auto it = config.FindMember("name"); it != config.MemberEnd()) {
    if (!it->value.IsString() || it->value.GetStringLength() == 0 || Characters(it->value.GetString()) > kMaxName) {
      why = "agent_config.name must be a string of 1 to " + std::to_string(kMaxName) + " characters";
      return false;
    }
    agent.name = it->value.GetString();
  } else if (!order.title.empty() && Characters(order.title) <= kMaxName) {
    agent.name = order.title;
  } else {
    why = "agent_config has no name, and the order's title is not 1 to " + std::to_string(kMaxName) +
          " characters long";
    return false;
  }
  if (auto it = config.FindMember("description"); it != config.MemberEnd()) {
    if (!it->value.IsString() || Characters(it->value.GetString()) > kMaxDescription) {
      why = "agent_config.description must be a string of at most " + std::to_string(kMaxDescription) + " characters";
      return false;
    }
    agent.description = it->value.GetString();
  }
  if (!OptionalObject(config, "personality", agent.personality_json, why) ||
      !OptionalObject(config, "model_config", agent.model_config_json, why) || !CheckModelConfig(config, why))
    return false;
  if (auto it = config.FindMember("capabilities"); it != config.MemberEnd()) {
    if (!it->value.IsArray() || it->value.Size() > kMaxCapabilities) {
      why = "agent_config.capabilities must be an array of at most " + std::to_string(kMaxCapabilities) + " strings";
      return false;
    }
    for (const auto& c : it->value.GetArray()) {
      if (!c.IsString() || c.GetStringLength() == 0 || Characters(c.GetString()) > kMaxCapability) {
        why = "agent_config.capabilities: each must be a string of 1 to " + std::to_string(kMaxCapability) +
              " characters";
        return false;
      }
      agent.capabilities.emplace_back(c.GetString(), c.GetStringLength());
    }
  }
  return true;
}

OrderBuild PlanOrderBuild(const OrderRow& order, std::string_view trigger_id, std::string_view traceparent,
                          int64_t now_unix_us) {
  OrderBuild b;
  // Build log lines are appended per submission (the table is append-only).
  auto log_id = [&](std::string_view what) {
    return common::TimeOrderedUuid(now_unix_us / 1000, trigger_id, order.organization_id + "/" + order.id, what);
  };
  if (order.status != "SUBMITTED") {
    b.outcome = OrderBuild::Outcome::kNotSubmitted;
    b.logs.push_back({log_id("ignored"), "WARN", "review",
                      "order.submitted ignored: the order is " + order.status + ", not SUBMITTED"});
    return b;
  }
  ProvisionedAgent agent;
  std::string why;
  if (!AgentFromConfig(order, agent, why)) {
    b.outcome = OrderBuild::Outcome::kRejected;
    b.new_status = "REJECTED";
    b.error = why;
    b.logs.push_back({log_id("rejected"), "ERROR", "review", "order rejected: " + why});
    b.events.push_back(CompletedEvent(order, b, trigger_id, traceparent, now_unix_us));
    return b;
  }
  b.outcome = OrderBuild::Outcome::kCompleted;
  b.new_status = "COMPLETED";
  for (const Stage& s : kStages) {
    OrderMilestone m{order.id + ":" + s.stage, s.name, s.stage, s.progress};
    b.logs.push_back({log_id(s.stage), "INFO", s.stage,
                      std::string(s.log) + (s.progress == 100 ? " as " + agent.id : std::string())});
    b.events.push_back(MilestoneEvent(order, m, trigger_id, traceparent, now_unix_us));
    b.milestones.push_back(std::move(m));
  }
  b.agent = std::move(agent);
  b.events.push_back(CompletedEvent(order, b, trigger_id, traceparent, now_unix_us));
  return b;
}

}  // namespace hub::engine
