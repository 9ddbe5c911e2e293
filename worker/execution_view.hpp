#pragma once
// How `trigger --wait` and `watch` show executions to people.  Pure text.
#include <cstdint>
#include <string>

namespace hub::worker {

struct ExecutionRow {
  std::string finished_at;  // as PostgreSQL prints it
  std::string id;
  std::string workflow_id;
  std::string status;
  int64_t duration_ms = 0;
  int nodes = 0;
  std::string error;  // empty unless FAILED
};

// "2026-12-04 19:10:01  wf_hello  COMPLETED  12 ms  2 nodes  [error]"
std::string ExecutionLine(const ExecutionRow& r);

// The step log (workflow_executions.logs, a JSON array) one line per node:
// "  greet  transform  COMPLETED  <other fields as k=v>"; "" for no entries.
std::string StepLogText(const std::string& logs_json);

// Exit code of `trigger --wait` by status: COMPLETED 0, FAILED 4, CANCELLED 5.
int ExitCodeOf(const std::string& status);

}  // namespace hub::worker
