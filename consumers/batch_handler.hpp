#pragma once
// What an event type contributes to a batch.  The lane owns the transaction,
// the tenant setting, deduplication and the commit; a handler only reads the
// state its events need and writes their effects.  The decisions themselves
// are pure functions (engine/) that a handler calls, so they are testable
// without servers.
//
// Both calls run inside the lane's transaction with app.organization_id set to
// `org` (row-level security applies).  A handler instance belongs to one lane
// (one thread), so it may keep caches without locks.
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "common/metrics.hpp"
#include "consumers/work_item.hpp"
#include "outbox/rows.hpp"

namespace hub::consumers {

class BatchHandler {
 public:
  virtual ~BatchHandler() = default;
  // Prepares the family's named statements on a new connection of the lane.
  virtual void Prepare(pqxx::connection& conn) = 0;
  // Loads what `items` refer to; Fail()s the ones that cannot be applied
  // (e.g. a workflow that does not exist in this organisation).
  virtual void Load(pqxx::transaction_base& txn, const std::string& org, const std::vector<WorkItem*>& items) = 0;
  // Writes the effects of items seen for the first time, and their outgoing
  // events into `outbox`.
  virtual void Apply(pqxx::transaction_base& txn, const std::string& org, const std::vector<WorkItem*>& fresh,
                     outbox::OutboxBatch& outbox) = 0;
  // Whether Apply() records an item whose `refused` is set (the database
  // refused its effects once) as a failure of its own, e.g. a FAILED
  // execution with that reason and its completion event, instead of its
  // effects.  Otherwise such an item is dead-lettered.
  virtual bool RecordsRefusals() const { return false; }
};

}  // namespace hub::consumers
