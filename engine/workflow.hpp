#pragma once
// Automation workflows: React-Flow `nodes` and `edges` compiled once into an
// ordered list of steps, then run per trigger event.  Pure: no I/O, no clock
// except the one passed in, so it is unit-testable (STYLE.md #1).
//
// Node types handled here: `trigger` (entry point), `transform` (data.fields:
// name -> template), `notification` (data.userId/title/message templates,
// data.notificationType), `delay` (data.ms, or data.until: an RFC 3339 time or
// a template rendering one), `condition`, `http_request`, `ai_agent`.  A delay
// that has not passed and an outside call (HTTP, model) park their node: a durable step
// (ExecutionResult::parked) that the caller makes durable and whose result it
// passes back later with ResumePoint.  Nodes that do not depend on a parked
// node go on running, so independent branches wait (and call out) at the same
// time; a node waits until every node before it has finished or been
// skipped.  The execution is RUNNING while any node is parked.  Any other
// type makes the execution FAIL with an explanation rather than pretending to
// run it.
//
// Nothing a definition or an event holds makes RunWorkflow throw: every
// problem (bad definition, template error, a bound of ExecutionLimits, a value
// too long for its column) is a FAILED execution whose error names it, so it
// is charged to its event at once and never retried.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>

#include "engine/agent_step.hpp"
#include "engine/condition.hpp"
#include "engine/http_step.hpp"
#include "engine/limits.hpp"
#include "engine/template.hpp"

namespace hub::engine {

enum class ExecutionStatus { kCompleted, kFailed, kCancelled, kRunning };
const char* ToString(ExecutionStatus s);  // "COMPLETED", ...

enum class StepKind { kTrigger, kTransform, kNotification, kDelay, kHttpRequest, kCondition, kAiAgent };

struct CompiledStep {
  std::string node_id;
  StepKind kind = StepKind::kTrigger;
  std::vector<std::pair<std::string, Template>> fields;  // transform
  Template user_id, title, message;                       // notification
  int64_t delay_ms = -1;                                   // delay: data.ms (-1: until is used)
  Template until;                                          // delay: data.until
  std::shared_ptr<const HttpNodeConfig> http;              // http_request
  std::shared_ptr<const ConditionConfig> condition;        // condition
  std::shared_ptr<const AgentNodeConfig> agent;            // ai_agent
  // Edges into this node: from the step at `from` (an index into steps),
  // taken when that step ran and, for a condition, its result matches
  // `handle` ("true"/"false"; empty: always).  A node none of whose edges is
  // taken is skipped; a join runs when any branch reaching it ran.
  struct Incoming {
    size_t from = 0;
    std::string handle;
  };
  std::vector<Incoming> incoming;
  std::string notification_type = "info";
};

struct CompiledWorkflow {
  std::string id;
  std::string name;
  std::string organization_id;
  bool active = true;
  std::string updated_at;  // cache key together with id
  std::vector<CompiledStep> steps;  // execution order (topological, from the trigger)
  std::string compile_error;        // non-empty: every execution FAILs with this reason
  // Node outputs ({{nodes.<id>.output}}) are kept only when something reads
  // them or the execution can park (they are then stored with the step):
  // the all-pure workflows of the hot path do not copy their outputs twice.
  bool keeps_node_outputs = false;
  rapidjson::Document variables;    // null when the workflow has none
  rapidjson::Document meta;         // {"id": ..., "name": ...} for templates
};

// Never throws for a bad definition: the problem is kept in compile_error.
std::shared_ptr<const CompiledWorkflow> CompileWorkflow(std::string id, std::string name, std::string organization_id,
                                                        bool active, std::string updated_at,
                                                        std::string_view nodes_json, std::string_view edges_json,
                                                        std::string_view variables_json);

struct NotificationWrite {
  std::string id;
  std::string user_id;
  std::string title;
  std::string message;
  std::string type;
  std::string metadata_json;
};

// A node the execution waits at: one durable step.
struct ParkedStep {
  std::string node_id;
  std::string kind;     // "delay", "http_request" or "ai_agent"
  int64_t due_us = 0;   // when it can run (a delay: when it is over)
  std::string request;  // the request (HttpRequestSpec or AgentRequestSpec as JSON)
};

// What one execution produced; the caller turns it into rows and events.
struct ExecutionResult {
  ExecutionStatus status = ExecutionStatus::kCompleted;
  std::string output_json = "{}";
  std::string error;
  std::string logs_json = "[]";
  int nodes_executed = 0;
  // kRunning: the nodes parked by this run (those parked before keep their
  // steps), and the first node, in step order, the execution waits at.
  std::vector<ParkedStep> parked;
  std::string waiting_at;
  std::string nodes_json = "{}";  // outputs of finished nodes: {"<id>": {"output": ...}}
  // What the execution's model calls used so far (their reported usage) and
  // cost (US cents): carried over a resume (ResumePoint) and added to.
  int64_t tokens_used = 0;
  double cost = 0;
  std::vector<NotificationWrite> notifications;
};

struct TriggerInput {
  const rapidjson::Value* event = nullptr;  // the whole CloudEvent (structured)
  const rapidjson::Value* input = nullptr;  // data.input
  std::string_view execution_id;
  int64_t now_unix_us = 0;  // the clock's time: delays are measured from it
};

// Where a parked execution goes on: what it had produced so far (its output
// object, step log and node outputs, as stored) and the parked node whose
// result has come.  Which other nodes are still parked follows from the log:
// every node that could run, did not, and was not skipped.
struct ResumePoint {
  std::string_view node_id;
  std::string_view output_json;  // "{...}"
  std::string_view logs_json;    // "[...]"
  int nodes_executed = 0;
  int64_t waited_until_us = 0;   // a delay: when it was due
  std::string_view nodes_json = "{}";  // outputs of finished nodes, as stored
  // An http_request or ai_agent: its output (HttpNodeOutput,
  // AgentNodeOutput), or why it failed for good, and how many calls were made.
  std::string_view node_output_json;
  std::string_view node_error;
  int attempts = 0;
  // What the execution had used before (its tokens_used and cost, as stored).
  int64_t tokens_used = 0;
  double cost = 0;
};

// The longest delay a node may ask for.
inline constexpr int64_t kMaxDelayMs = int64_t{366} * 24 * 3600 * 1000;

// Column sizes (schemas/sql) the engine checks before anything is written.
inline constexpr size_t kMaxNotificationTitleChars = 200;  // notifications.title varchar(200)
inline constexpr size_t kMaxNotificationTypeChars = 50;    // notifications.type varchar(50)
// workflow_executions.tokens_used integer and cost numeric(12,2): what model
// calls report is added up to these (a provider's usage is not trusted to fit).
inline constexpr int64_t kMaxTokensUsed = 2147483647;
inline constexpr double kMaxCostCents = 1e9;
// An execution's error text is cut to this (it is stored and sent in the
// completion event).
inline constexpr size_t kMaxErrorBytes = 2048;

void RunWorkflow(const CompiledWorkflow& wf, const TriggerInput& trigger, const ExecutionLimits& limits,
                 ExecutionResult& out, const ResumePoint* resume = nullptr);

}  // namespace hub::engine
