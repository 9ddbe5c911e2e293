#include "consumers/batch_applier.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "common/log.hpp"
#include "outbox/rows.hpp"
#include "store/connection.hpp"
#include "store/db_errors.hpp"
#include "store/pg_array.hpp"
#include "store/statements.hpp"

namespace hub::consumers {
namespace {

// An event's identity (source, id) within its organisation, as views into
// its envelope.
struct Identity {
  std::string_view organization, source, id;
  bool operator==(const Identity& o) const {
    return id == o.id && source == o.source && organization == o.organization;
  }
};
struct IdentityHash {
  size_t operator()(const Identity& i) const {
    size_t h = std::hash<std::string_view>{}(i.source);
    h ^= std::hash<std::string_view>{}(i.id) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    return h ^ (std::hash<std::string_view>{}(i.organization) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
  }
};

constexpr int kCarefulBatches = 32;

// Thrown by the optimistic identity INSERT of ApplyOnce: an event of the
// batch was recorded before.  Nothing of the batch has been written yet.
struct IdentitySeen {};

}  // namespace

BatchApplier::BatchApplier(std::string database_url, std::vector<std::unique_ptr<BatchHandler>> handlers,
                           common::Metrics& metrics, OutboxCommitted on_committed)
    : url_(std::move(database_url)),
      handlers_(std::move(handlers)),
      metrics_(metrics),
      on_committed_(std::move(on_committed)) {}

BatchHandler* BatchApplier::HandlerFor(int family) const {
  return family >= 0 && static_cast<size_t>(family) < handlers_.size() ? handlers_[family].get() : nullptr;
}

void BatchApplier::EnsureConnected() {
  if (conn_ && conn_->is_open()) return;
  conn_.reset();
  try {
    conn_ = store::ConnectWorker(url_);
    outbox::PrepareStatements(*conn_);
    for (auto& h : handlers_)
      if (h) h->Prepare(*conn_);
    metrics_.db_ok = true;
  } catch (const std::exception& e) {
    metrics_.db_ok = false;
    throw common::ConnectionLost(std::string("database unreachable: ") + e.what());
  }
}

void BatchApplier::Apply(const std::vector<WorkItem*>& items) {
  EnsureConnected();
  try {
    ApplyTransaction(items);
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
    it->loaded.reset();
  }
  for (auto* it : items) {
    if (it->state != ItemState::kPending) continue;
    try {
      ApplyTransaction({it});
      continue;
    } catch (const std::exception& e) {
      outbox_.Clear();
      if (store::Classify(e) == common::Retry::kTransient) RethrowTransient(e);
      const std::string state = store::SqlState(e);
      it->refused = std::string("the database refused the execution's writes") +
                    (state.empty() ? "" : " (SQLSTATE " + state + ")") + ": " + e.what();
    }
    // The handler records what it can (e.g. a FAILED execution that says
    // why) instead of the effects; only if even that is refused does the
    // event become a dead letter.
    BatchHandler* handler = HandlerFor(it->family);
    if (!handler || !handler->RecordsRefusals()) {
      it->Fail(common::ErrorClass::kInternal, it->refused);
      continue;
    }
    it->state = ItemState::kPending;
    it->loaded.reset();
    try {
      ApplyTransaction({it});
    } catch (const std::exception& e) {
      outbox_.Clear();
      if (store::Classify(e) == common::Retry::kTransient) RethrowTransient(e);
      it->Fail(common::ErrorClass::kInternal, it->refused);
    }
  }
}

size_t BatchApplier::ApplyEach(const std::vector<WorkItem*>& items, std::string& error, bool& connection_lost) {
  for (size_t i = 0; i < items.size(); ++i) {
    bool reached = false;
    try {
      EnsureConnected();
      reached = true;
      Apply({items[i]});
    } catch (const common::TransientError& e) {
      error = e.what();
      // The server was reached for this one event and the connection broke
      // while applying it.  An outage that starts right then is not counted
      // again (the next attempts cannot connect); a break that repeats after
      // every reconnect is the event's (e.g. a message the server cannot
      // take), so it counts towards its dead letter like any other failure.
      connection_lost = dynamic_cast<const common::ConnectionLost*>(&e) != nullptr && !reached;
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

void BatchApplier::ApplyTransaction(const std::vector<WorkItem*>& items) {
  if (careful_batches_ > 0) {
    --careful_batches_;
    ApplyOnce(items, /*assume_fresh=*/false);
    return;
  }
  try {
    ApplyOnce(items, /*assume_fresh=*/true);
  } catch (const IdentitySeen&) {
    outbox_.Clear();
    careful_batches_ = kCarefulBatches;
    ApplyOnce(items, /*assume_fresh=*/false);
  }
}

void BatchApplier::ApplyOnce(const std::vector<WorkItem*>& items, bool assume_fresh) {
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
    for (size_t f = 0; f < handlers_.size(); ++f) {
      if (!handlers_[f]) continue;
      std::vector<WorkItem*> mine;
      for (auto* it : group)
        if (it->family == static_cast<int>(f) && it->state == ItemState::kPending) mine.push_back(it);
      if (!mine.empty()) handlers_[f]->Load(txn, org_s, mine);
    }
    for (auto* it : group)
      if (it->state == ItemState::kPending && !HandlerFor(it->family))
        it->Fail(common::ErrorClass::kSchema, "no handler for event type '" + it->env.type + "'");
  }

  // Identities: one statement for the whole batch.  Within the batch the first
  // occurrence of an identity wins.
  // Hash containers keyed by views: identities share long prefixes (one
  // source), which made ordered sets of strings compare them byte by byte.
  store::PgArray org_ids(store::PgElement::kText), src(store::PgElement::kText), eid(store::PgElement::kText),
      topic(store::PgElement::kText), part(store::PgElement::kInt4), off(store::PgElement::kInt8);
  std::unordered_map<Identity, WorkItem*, IdentityHash> candidate_of;
  candidate_of.reserve(items.size());
  std::vector<WorkItem*> candidates;
  for (auto* it : items) {
    if (it->state != ItemState::kPending) continue;
    if (!candidate_of.emplace(Identity{it->env.organization_id, it->env.source, it->env.id}, it).second) {
      it->state = ItemState::kDuplicate;
      continue;
    }
    candidates.push_back(it);
    org_ids.Add(it->env.organization_id);
    src.Add(it->env.source);
    eid.Add(it->env.id);
    topic.Add(it->in.topic);
    part.AddInt(it->in.partition);
    off.AddInt(it->in.offset);
  }
  // Afterwards the candidates seen before are kDuplicate; the rest stay pending.
  if (!candidates.empty() && assume_fresh) {
    try {
      txn.exec_prepared(store::sql::kInsertProcessedNew, org_ids.param(), src.param(), eid.param(), topic.param(),
                        part.param(), off.param());
    } catch (const pqxx::unique_violation&) {
      throw IdentitySeen{};  // rolls the transaction back
    }
  } else if (!candidates.empty()) {
    auto rows = txn.exec_prepared(store::sql::kInsertProcessed, org_ids.param(), src.param(), eid.param(),
                                  topic.param(), part.param(), off.param());
    std::unordered_set<const WorkItem*> fresh;  // identities inserted now: not seen before
    fresh.reserve(rows.size());
    for (const auto& r : rows) {
      auto c = candidate_of.find(Identity{std::string_view(r[0].c_str(), r[0].size()),
                                          std::string_view(r[1].c_str(), r[1].size()),
                                          std::string_view(r[2].c_str(), r[2].size())});
      if (c != candidate_of.end()) fresh.insert(c->second);
    }
    for (auto* it : candidates)
      if (!fresh.count(it)) it->state = ItemState::kDuplicate;
  }
  std::vector<WorkItem*> fresh_all;
  for (auto* it : candidates)
    if (it->state == ItemState::kPending) fresh_all.push_back(it);

  for (auto& [org, group] : by_org) {
    const std::string org_s(org);
    for (size_t f = 0; f < handlers_.size(); ++f) {
      if (!handlers_[f]) continue;
      std::vector<WorkItem*> mine;
      for (auto* it : group)
        if (it->family == static_cast<int>(f) && it->state == ItemState::kPending) mine.push_back(it);
      if (mine.empty()) continue;
      set_tenant(org_s);
      handlers_[f]->Apply(txn, org_s, mine, outbox_);
    }
  }
  outbox_.Flush(txn, /*notify=*/!on_committed_);
  txn.commit();
  metrics_.db_ok = true;
  // Log lines go out with their batch even when it emitted no event (an
  // order submission that changed nothing still says so).
  if (outbox_.size() > 0 || !outbox_.log_lines().empty()) {
    if (on_committed_) on_committed_(outbox_.TakeCommitted());
    else outbox_.Clear();
  }
  for (auto* it : fresh_all) it->state = ItemState::kApplied;
}

}  // namespace hub::consumers
