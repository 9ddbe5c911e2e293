#include "ops/execution_replay.hpp"

#include <algorithm>

namespace hub::ops {

ReplayedExecution ReplayExecution(const engine::CompiledWorkflow& wf, const rapidjson::Value& trigger,
                                  std::string_view execution_id, int64_t started_us, const RecordedCalls& calls,
                                  const engine::ExecutionLimits& limits) {
  ReplayedExecution out;
  const rapidjson::Value* input = nullptr;
  if (trigger.IsObject()) {
    auto data = trigger.FindMember("data");
    if (data != trigger.MemberEnd() && data->value.IsObject()) {
      auto in = data->value.FindMember("input");
      if (in != data->value.MemberEnd()) input = &in->value;
    }
  }
  int64_t now_us = started_us;
  std::vector<engine::ParkedStep> pending;  // parked and not resumed yet (branches wait side by side)
  // Takes what a run produced on the way: its notifications, the steps it parked.
  auto collect = [&] {
    for (auto& n : out.result.notifications) out.notifications.push_back(std::move(n));
    out.result.notifications.clear();
    for (auto& p : out.result.parked) pending.push_back(std::move(p));
    out.result.parked.clear();
  };
  engine::RunWorkflow(wf, engine::TriggerInput{&trigger, input, execution_id, now_us}, limits, out.result);
  out.segments = 1;
  collect();
  // Each resume decides at least one node, so an execution cannot go on more
  // often than it has nodes; the bound only guards against an engine that
  // parks without progress.
  const size_t max_segments = wf.steps.size() + 2;
  engine::ExecutionResult parked;
  while (out.result.status == engine::ExecutionStatus::kRunning && !pending.empty() &&
         static_cast<size_t>(out.segments) < max_segments) {
    // The step a worker would take first: the earliest due (calls are due at
    // once), in the order they parked.
    auto next = std::min_element(pending.begin(), pending.end(),
                                 [](const auto& a, const auto& b) { return a.due_us < b.due_us; });
    const engine::ParkedStep step = std::move(*next);
    pending.erase(next);
    engine::ResumePoint point;
    point.node_id = step.node_id;
    if (step.kind == "delay") {
      // Not waited: the replay's time moves to the delay's end.
      point.waited_until_us = step.due_us;
      now_us = std::max(now_us, step.due_us);
    } else {
      const RecordedCall* call = calls.Find(step.node_id);
      if (!call) {
        // Its branch stays parked; the others go on.
        out.not_recorded.push_back(step.node_id);
        continue;
      }
      point.node_output_json = call->output_json;
      point.node_error = call->error;
      point.attempts = call->attempts;
    }
    parked = std::move(out.result);  // the resume point's views refer to it
    point.output_json = parked.output_json;
    point.logs_json = parked.logs_json;
    point.nodes_executed = parked.nodes_executed;
    point.nodes_json = parked.nodes_json;
    point.tokens_used = parked.tokens_used;
    point.cost = parked.cost;
    engine::RunWorkflow(wf, engine::TriggerInput{&trigger, input, execution_id, now_us}, limits, out.result, &point);
    ++out.segments;
    collect();
  }
  return out;
}

}  // namespace hub::ops
