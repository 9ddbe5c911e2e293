#pragma once
// Recorded against replayed: what an execution wrote (status, output, error,
// tokens used and cost, step log node by node, notifications) compared with what a replay produced.
// Pure.
//
// Step log entries are compared as JSON values (member order does not
// matter) without `until`: a delay's end is measured from when the worker
// resumed, which a replay, which does not wait, cannot reproduce.
#include <string>
#include <vector>

#include "engine/workflow.hpp"

namespace hub::ops {

// What an execution wrote, as stored (or as a replay produced it).
struct ExecutionRecord {
  std::string status;            // COMPLETED, FAILED, CANCELLED, RUNNING
  std::string output_json;       // "" when null
  std::string error;
  std::string logs_json = "[]";  // the step log
  int nodes_executed = 0;
  int64_t tokens_used = 0;
  double cost = 0;  // US cents; compared as stored (two decimals)
  std::vector<engine::NotificationWrite> notifications;
};

struct Difference {
  std::string where;     // "status", "output", "error", "nodes_executed", "tokens_used", "cost", "node <id>",
                         // "notification <id>"
  std::string recorded;  // JSON or text; "(none)" when absent
  std::string replayed;
};

std::vector<Difference> DiffExecutions(const ExecutionRecord& recorded, const ExecutionRecord& replayed);

// An ExecutionRecord from a replay's result (notifications passed apart:
// ReplayedExecution collects them across segments).
ExecutionRecord RecordOf(const engine::ExecutionResult& r, std::vector<engine::NotificationWrite> notifications);

}  // namespace hub::ops
