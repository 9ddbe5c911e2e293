#include "consumers/batch_applier.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "common/log.hpp"
#include "store/connection.hpp"
#include "store/db_errors.hpp"
#include "store/pg_array.hpp"
#include "store/statements.hpp"

namespace hub::consumers {

BatchApplier::BatchApplier(std::string database_url, std::vector<std::unique_ptr<BatchHandler>> handlers,
                           common::Metrics& metrics, OutboxCommitted on_committed)
    : url_(std::move(database_url)),
      handlers_(std::move(handlers)),
      metrics_(metrics),
      on_committed_(std::move(on_committed)) {}

BatchHandler* BatchApplier::HandlerFor(common::InputKind k) const {
  for (const auto& h : handlers_)
    if (h->kind() == k) return h.get();
  return nullptr;
}

void BatchApplier::EnsureConnected() {
  if (conn_ && conn_->is_open()) return;
  conn_.reset();
  try {
    conn_ = store::ConnectWorker(url_);
    metrics_.db_ok = true;
  } catch (const std::exception& e) {
    metrics_.db_ok = false;
    throw common::ConnectionLost(std::string("database unreachable: ") + e.what());
  }
}

void BatchApplier::Apply(const std::vector<WorkItem*>& items) {
  EnsureConnected();
  try {
    ApplyOnce(items);
    return;
  } catch (const std::exception& e) {
    outbox_.Clear();
    if (store::Classify(e) == common::Retry::kTransient) RethrowTransient(e);
    common::LogWarn("batch failed permanently; re-applying one event per transaction",
                    {{"events", items.size()}, {"error", e.what()}});
  }
  // Isolation path: every pending item on its own.
  for (auto* it : items) {
    if (it->state == ItemState::kFailed) continue;
    it->state = ItemState::kPending;
    it->workflow.reset();
  }
  for (auto* it : items) {
    if (it->state != ItemState::kPending) continue;
    try {
      ApplyOnce({it});
    } catch (const std::exception& e) {
      outbox_.Clear();
      if (store::Classify(e) == common::Retry::kTransient) RethrowTransient(e);
      std::string state = store::SqlState(e);
      it->Fail(common::ErrorClass::kInternal,
               std::string("database rejected the event's writes") + (state.empty() ? "" : " (SQLSTATE " + state + ")") +
                   ": " + e.what());
    }
  }
}

size_t BatchApplier::ApplyEach(const std::vector<WorkItem*>& items, std::string& error, bool& connection_lost) {
  for (size_t i = 0; i < items.size(); ++i) {
    try {
      Apply({items[i]});
    } catch (const common::TransientError& e) {
      error = e.what();
      connection_lost = dynamic_cast<const common::ConnectionLost*>(&e) != nullptr;
      return i;
    }
  }
  return items.size();
}

void BatchApplier::RethrowTransient(const std::exception& e) {
  const bool lost = dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr ||
                    dynamic_cast<const common::ConnectionLost*>(&e) != nullptr || !conn_ || !conn_->is_open() ||
                    store::SqlState(e).rfind("08", 0) == 0 || store::SqlState(e).rfind("57P0", 0) == 0;
  if (lost) {
    conn_.reset();
    metrics_.db_ok = false;
    throw common::ConnectionLost(e.what());
  }
  throw common::TransientError(e.what());
}

void BatchApplier::ApplyOnce(const std::vector<WorkItem*>& items) {
  // Group pending items by organisation, keeping each group in offset order.
  std::map<std::string_view, std::vector<WorkItem*>> by_org;
  for (auto* it : items)
    if (it->state == ItemState::kPending) by_org[it->env.organization_id].push_back(it);
  if (by_org.empty()) return;

  pqxx::work txn(*conn_);
  std::string tenant;  // app.organization_id as currently set in this transaction
  auto set_tenant = [&](const std::string& org) {
    if (tenant == org) return;
    store::SetTenant(txn, org);
    tenant = org;
  };
  for (auto& [org, group] : by_org) {
    const std::string org_s(org);
    set_tenant(org_s);
    if (txn.exec_prepared(store::sql::kOrganizationExists, org_s).empty()) {
      for (auto* it : group)
        it->Fail(common::ErrorClass::kTenant, "organization '" + org_s + "' does not exist (or was deleted)");
      continue;
    }
    for (const auto& h : handlers_) {
      std::vector<WorkItem*> mine;
      for (auto* it : group)
        if (it->kind == h->kind() && it->state == ItemState::kPending) mine.push_back(it);
      if (!mine.empty()) h->Load(txn, org_s, mine);
    }
    for (auto* it : group)
      if (it->state == ItemState::kPending && !HandlerFor(it->kind))
        it->Fail(common::ErrorClass::kSchema, "no handler for event type '" + it->env.type + "'");
  }

  // Identities: one statement for the whole batch.  Within the batch the first
  // occurrence of an identity wins.
  store::PgArray src, eid, topic, part, off;
  std::set<std::pair<std::string_view, std::string_view>> seen;
  std::vector<WorkItem*> candidates;
  for (auto* it : items) {
    if (it->state != ItemState::kPending) continue;
    if (!seen.emplace(it->env.source, it->env.id).second) {
      it->state = ItemState::kDuplicate;
      continue;
    }
    candidates.push_back(it);
    src.Add(it->env.source);
    eid.Add(it->env.id);
    topic.Add(it->in.topic);
    part.AddInt(it->in.partition);
    off.AddInt(it->in.offset);
  }
  std::set<std::pair<std::string, std::string>> fresh_ids;
  if (!candidates.empty()) {
    auto rows = txn.exec_prepared(store::sql::kInsertProcessed, src.str(), eid.str(), topic.str(), part.str(), off.str());
    for (const auto& r : rows) fresh_ids.emplace(r[0].as<std::string>(), r[1].as<std::string>());
  }
  std::vector<WorkItem*> fresh_all;
  for (auto* it : candidates) {
    if (fresh_ids.count({it->env.source, it->env.id})) fresh_all.push_back(it);
    else it->state = ItemState::kDuplicate;
  }

  for (auto& [org, group] : by_org) {
    const std::string org_s(org);
    for (const auto& h : handlers_) {
      std::vector<WorkItem*> fresh;
      for (auto* it : group)
        if (it->kind == h->kind() && it->state == ItemState::kPending && fresh_ids.count({it->env.source, it->env.id}))
          fresh.push_back(it);
      if (fresh.empty()) continue;
      set_tenant(org_s);
      h->Apply(txn, org_s, fresh, outbox_);
    }
  }
  outbox_.Flush(txn, /*notify=*/!on_committed_);
  txn.commit();
  metrics_.db_ok = true;
  if (outbox_.size() > 0) {
    if (on_committed_) on_committed_(outbox_.TakeCommitted());
    else outbox_.Clear();
  }
  for (auto* it : fresh_all) it->state = ItemState::kApplied;
}

}  // namespace hub::consumers
