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
#include "consumers/workflows/cache.hpp"
#include "engine/workflow.hpp"

namespace hub::workflows {

// The id of the execution `item` makes: derived from the trigger's identity
// within `org` (a redelivered trigger finds its execution), and for a
// reprocess (WorkItem::replay_of) from the run's id as well.
std::string ExecutionIdOf(const consumers::WorkItem& item, std::string_view org);

class WorkflowTriggeredHandler : public consumers::BatchHandler {
 public:
  // `max_event_bytes`: the largest completion event the producer takes.
  WorkflowTriggeredHandler(std::string topic_prefix, engine::ExecutionLimits limits, size_t max_event_bytes,
                           const common::Clock& clock);
  void Prepare(pqxx::connection& conn) override;
  void Load(pqxx::transaction_base& txn, const std::string& org,
            const std::vector<consumers::WorkItem*>& items) override;
  void Apply(pqxx::transaction_base& txn, const std::string& org, const std::vector<consumers::WorkItem*>& fresh,
             outbox::OutboxBatch& outbox) override;
  bool RecordsRefusals() const override { return true; }

 private:
  std::string completed_topic_;
  const engine::ExecutionLimits limits_;
  const size_t max_event_bytes_;
  const common::Clock& clock_;  // execution start and end times
  WorkflowCache cache_;  // lane-confined
};

}  // namespace hub::workflows
