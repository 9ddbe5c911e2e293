#pragma once
// What a workflow execution recorded, read back for replay (under the
// transaction's tenant): its row, its notifications and its trigger as far
// as the row keeps it.  Parameterised statements only.
#include <cstdint>
#include <optional>
#include <string>

#include <pqxx/pqxx>

#include "ops/execution_diff.hpp"

namespace hub::ops {

struct StoredExecution {
  std::string id;
  std::string workflow_id;
  std::string organization_id;
  int64_t started_us = 0;
  std::string input_json = "{}";
  std::string trigger_event_id, trigger_source, triggered_by, correlation_id, traceparent;
  std::string replay_of;  // set on executions `replay --reprocess` made
  ExecutionRecord record;  // status, output, error, logs, notifications
};

// Null when the execution is not there (or belongs to another tenant).
std::optional<StoredExecution> LoadExecution(pqxx::transaction_base& txn, const std::string& execution_id);

// The trigger event as the execution row keeps it: id, source, type, the
// trigger's time from the execution id (its first 48 bits), data with
// organizationId, workflowId, input, triggeredBy, correlationId; traceparent.
// Fields of the original event the row does not keep are not in it.
std::string TriggerOf(const StoredExecution& e);

// Inside a transaction that is rolled back (replay --dry-run): removes the
// execution's rows so that the handler can write them again.
void SetAsideForDryRun(pqxx::transaction_base& txn, const std::string& execution_id);

}  // namespace hub::ops
