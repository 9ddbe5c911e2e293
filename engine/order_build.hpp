#pragma once
// The build of a custom agent order (`order.submitted`), as pure decisions:
// the order's row and the time in, the rows to write and the events to emit
// out.  A SUBMITTED order whose agent_config describes an agent goes through
// four milestones (requirements reviewed, agent configured, configuration
// validated, agent provisioned), each with a build log line and an
// `order.milestone` event, provisions the agent (an ai_agents row) and ends
// COMPLETED with `order.completed` naming it.  A configuration that cannot
// make an agent ends the order REJECTED with the reason, in the log and in
// `order.completed`.  An order that is not SUBMITTED (already built, cancelled,
// still a draft) is left as it is: one WARN log line, no event.
//
// The agent's and the milestones' ids are derived from the order: one agent
// and one row per milestone per order, re-provisioned and updated if the
// platform resets the order to SUBMITTED for a rebuild.  Log lines and events
// get ids of their submission (`trigger_id`).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hub::engine {

struct OrderRow {
  std::string id;
  std::string organization_id;
  std::string status;             // order_status
  std::string title;
  std::string agent_config_json;  // the agent_config column, JSON text
  std::string created_by;         // "" when none
};

struct OrderMilestone {
  std::string id;
  std::string name;
  std::string stage;
  int progress = 0;
};

struct BuildLogLine {
  std::string id;
  std::string level;  // log_level: INFO | WARN | ERROR
  std::string stage;
  std::string message;
};

struct ProvisionedAgent {
  std::string id;
  std::string name;
  std::string description;        // "" when none
  std::string personality_json;   // JSON object text
  std::string model_config_json;  // JSON object text
  std::vector<std::string> capabilities;
};

struct OrderBuild {
  enum class Outcome { kNotSubmitted, kCompleted, kRejected };
  Outcome outcome = Outcome::kNotSubmitted;
  std::string new_status;  // COMPLETED | REJECTED; "" when the order is left as it is
  std::string error;       // kRejected: why
  std::vector<OrderMilestone> milestones;
  std::vector<BuildLogLine> logs;
  std::optional<ProvisionedAgent> agent;
  // Structured CloudEvents, in the order they are to be published (Kafka key:
  // the order id): the milestones' `order.milestone`, then `order.completed`.
  std::vector<std::string> events;
};

// `trigger_id` identifies the submission; `traceparent` is carried into the
// events.
OrderBuild PlanOrderBuild(const OrderRow& order, std::string_view trigger_id, std::string_view traceparent,
                          int64_t now_unix_us);

// False (and `why`) when `agent_config_json` cannot make an agent: it must be
// a JSON object; `name` (or else the order's title) 1..100 characters;
// `description` a string of at most 2000; `personality` and `model_config`
// objects; `model_config.provider` one of local, openai, anthropic;
// `model_config.model` a string of at most 100; `capabilities` at most 32
// strings of 1..100 characters.
bool AgentFromConfig(const OrderRow& order, ProvisionedAgent& agent, std::string& why);

}  // namespace hub::engine
