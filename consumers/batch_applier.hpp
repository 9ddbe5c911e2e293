#pragma once
// Applies a batch of parsed events in ONE database transaction.
//
// Delivery contract (the consume loop relies on it): effects, the events'
// identities (processed_events) and their outgoing events (outbox) commit
// together; only after Apply() returns does the caller store the Kafka
// offsets.  A crash in between means redelivery, and redelivered identities
// are found in processed_events and skipped — so an event's effects are
// applied once however often it is delivered.
//
// Steps inside the transaction, per organisation (SET LOCAL
// app.organization_id, so row-level security isolates tenants):
//   1. the organisation must exist (else permanent `tenant` failure);
//   2. handlers Load() the state their events need (may Fail() items);
//   3. the identities of the still-valid items are inserted into
//      processed_events in one statement; those already there are duplicates;
//   4. handlers Apply() the fresh items; outgoing events go to the outbox.
// If a statement fails permanently (bad data, constraint), the batch is
// rolled back and re-applied one event per transaction, so that one bad
// event is dead-lettered without undoing or blocking its neighbours.  A
// transient failure rolls back and throws common::TransientError: the caller
// retries the whole batch later (commits that did happen are recognised by
// step 3 — an in-doubt commit is resolved by the dedupe table, never by
// re-executing effects).
//
// Confined to one lane thread; owns that lane's database connection.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "common/metrics.hpp"
#include "consumers/batch_handler.hpp"
#include "consumers/work_item.hpp"

namespace hub::consumers {

// Receives the outbox rows of every committed transaction (on the lane
// thread, right after COMMIT), to publish them from memory.
using OutboxCommitted = std::function<void(outbox::CommittedOutbox&&)>;

class BatchApplier {
 public:
  // `handlers` are indexed by event family (WorkItem::family; null where a
  // family has none).  Without `on_committed`, transactions NOTIFY the relays
  // instead.
  BatchApplier(std::string database_url, std::vector<std::unique_ptr<BatchHandler>> handlers,
               common::Metrics& metrics, OutboxCommitted on_committed = nullptr);
  // Items must be kPending or kFailed (already failed items are left alone).
  // On return each pending item is kApplied, kDuplicate or kFailed.
  // Throws common::TransientError (common::ConnectionLost when the database
  // is unreachable) after rolling back.
  void Apply(const std::vector<WorkItem*>& items);
  // Applies the items one per transaction, in order, stopping at the first
  // transient failure: returns its index, or items.size() when all finished.
  // Used for partitions that are being retried, so that a failure is charged
  // to exactly the event that caused it.
  size_t ApplyEach(const std::vector<WorkItem*>& items, std::string& error, bool& connection_lost);
  // Opens the connection if needed (also used by readiness checks).
  void EnsureConnected();

 private:
  // One transaction.  `assume_fresh`: record the identities with a plain
  // INSERT, which throws IdentitySeen when one of them was recorded before.
  void ApplyOnce(const std::vector<WorkItem*>& items, bool assume_fresh);
  // ApplyOnce, optimistic first: nearly every batch is new, and a plain INSERT
  // costs a third less of the database than INSERT ... ON CONFLICT DO NOTHING
  // RETURNING (speculative insertion; measured in PERFORMANCE.md).  A batch
  // with an event seen before is rolled back and applied again with ON
  // CONFLICT, and so are the next kCarefulBatches batches: redeliveries come
  // in runs (a rebalance, a restart).
  void ApplyTransaction(const std::vector<WorkItem*>& items);
  // Throws ConnectionLost (and drops the connection) when the server is gone,
  // else TransientError.
  [[noreturn]] void RethrowTransient(const std::exception& e);
  BatchHandler* HandlerFor(int family) const;

  std::string url_;
  std::vector<std::unique_ptr<BatchHandler>> handlers_;
  common::Metrics& metrics_;
  std::unique_ptr<pqxx::connection> conn_;
  outbox::OutboxBatch outbox_;
  OutboxCommitted on_committed_;
  int careful_batches_ = 0;  // batches left to apply with ON CONFLICT
};

}  // namespace hub::consumers
