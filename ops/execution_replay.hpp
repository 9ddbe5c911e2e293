#pragma once
// Runs a workflow execution from its trigger to its end without waiting and
// without calling out: a delay is over at once (time moves to its end), an
// outside call takes the recorded answer (RecordedCalls).  A call with no
// recorded answer stops the replay there, RUNNING, and names the node "not
// recorded".  Pure: the engine only, no I/O.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>

#include "engine/limits.hpp"
#include "engine/workflow.hpp"
#include "ops/recorded_calls.hpp"

namespace hub::ops {

struct ReplayedExecution {
  engine::ExecutionResult result;  // the last segment: final status, output, error, logs
  // Every notification written on the way (each segment's; a resumed
  // execution's earlier notifications were committed before it parked).
  std::vector<engine::NotificationWrite> notifications;
  std::vector<std::string> not_recorded;  // nodes whose call had no recorded answer
  int segments = 0;                        // 1 + times it went on after a delay or a call
};

// `trigger` is the whole CloudEvent; `started_us` the time the original
// execution started (delays are measured from it).
ReplayedExecution ReplayExecution(const engine::CompiledWorkflow& wf, const rapidjson::Value& trigger,
                                  std::string_view execution_id, int64_t started_us, const RecordedCalls& calls,
                                  const engine::ExecutionLimits& limits);

}  // namespace hub::ops
