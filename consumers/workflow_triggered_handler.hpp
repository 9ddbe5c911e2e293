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

#include "consumers/batch_handler.hpp"
#include "engine/workflow.hpp"

namespace hub::consumers {

class WorkflowTriggeredHandler : public BatchHandler {
 public:
  explicit WorkflowTriggeredHandler(std::string topic_prefix);
  common::InputKind kind() const override { return common::InputKind::kWorkflowTriggered; }
  void Load(pqxx::transaction_base& txn, const std::string& org, const std::vector<WorkItem*>& items) override;
  void Apply(pqxx::transaction_base& txn, const std::string& org, const std::vector<WorkItem*>& fresh,
             store::OutboxBatch& outbox) override;

 private:
  struct CacheEntry {
    size_t fingerprint = 0;
    std::shared_ptr<const engine::CompiledWorkflow> compiled;
  };
  std::string completed_topic_;
  // Compiled definitions by (organisation, workflow id), re-compiled when the
  // row changes.  Lane-confined.
  std::unordered_map<std::string, CacheEntry> cache_;
};

}  // namespace hub::consumers
