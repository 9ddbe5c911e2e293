#pragma once
// `workflow.triggered`: runs the automation workflow named by data.workflowId,
// records a workflow_executions row (with step logs), its notifications and
// the workflow's counters, and emits `workflow.completed`.
//
// A workflow id that is not visible in the event's organisation (it does not
// exist, or row-level security hides another tenant's row) is a permanent
// `not_found` failure; an inactive workflow is recorded as a CANCELLED
// execution with the reason, and its completion event says so.
#include <memory>
#include <string>
#include <unordered_map>

#include "common/clock.hpp"
#include "consumers/batch_handler.hpp"
#include "engine/workflow.hpp"

namespace hub::consumers {

class WorkflowTriggeredHandler : public BatchHandler {
 public:
  // `max_event_bytes`: the largest completion event the producer takes.
  WorkflowTriggeredHandler(std::string topic_prefix, engine::ExecutionLimits limits, size_t max_event_bytes,
                           const common::Clock& clock);
  void Load(pqxx::transaction_base& txn, const std::string& org, const std::vector<WorkItem*>& items) override;
  void Apply(pqxx::transaction_base& txn, const std::string& org, const std::vector<WorkItem*>& fresh,
             store::OutboxBatch& outbox) override;
  bool RecordsRefusals() const override { return true; }

 private:
  struct CacheEntry {
    size_t fingerprint = 0;
    std::shared_ptr<const engine::CompiledWorkflow> compiled;
  };
  std::string completed_topic_;
  const engine::ExecutionLimits limits_;
  const size_t max_event_bytes_;
  const common::Clock& clock_;  // execution start and end times
  // Compiled definitions by (organisation, workflow id), re-compiled when the
  // row changes.  Lane-confined; bounded by the definitions' size, so that
  // large definitions cannot make it hold gigabytes.
  std::unordered_map<std::string, CacheEntry> cache_;
  size_t cache_bytes_ = 0;
};

}  // namespace hub::consumers
