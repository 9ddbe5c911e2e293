#include "consumers/orders/submitted_handler.hpp"

#include <map>
#include <memory>
#include <unordered_map>

#include "common/ids.hpp"
#include "common/log.hpp"
#include "consumers/orders/statements.hpp"
#include "engine/order_build.hpp"
#include "store/pg_array.hpp"

namespace hub::orders {

using consumers::WorkItem;
using store::PgArray;
using store::PgElement;

namespace {

std::string OrderIdOf(const WorkItem& item) {
  auto m = item.env.data().FindMember("orderId");
  if (m == item.env.data().MemberEnd() || !m->value.IsString()) return {};
  return {m->value.GetString(), m->value.GetStringLength()};
}

void Write(pqxx::transaction_base& txn, const std::string& org, const engine::OrderRow& order,
           const engine::OrderBuild& b, const std::string& now) {
  PgArray log_id(PgElement::kText), level(PgElement::kText), log_stage(PgElement::kText), message(PgElement::kText);
  for (const auto& l : b.logs) {
    log_id.Add(l.id);
    level.Add(l.level);
    log_stage.Add(l.stage);
    message.Add(l.message);
  }
  txn.exec_prepared(sql::kAppendBuildLogs, log_id.param(), org, order.id, level.param(), log_stage.param(),
                    message.param(), now);
  if (b.outcome == engine::OrderBuild::Outcome::kNotSubmitted) return;
  if (b.agent) {
    const auto& a = *b.agent;
    PgArray capabilities(PgElement::kText);
    for (const auto& c : a.capabilities) capabilities.Add(c);
    txn.exec_prepared(sql::kProvisionAgent, a.id, org, a.name, a.description, a.personality_json,
                      a.model_config_json, capabilities.param(), order.created_by, now);
  }
  if (!b.milestones.empty()) {
    PgArray id(PgElement::kText), name(PgElement::kText), stage(PgElement::kText), progress(PgElement::kInt4);
    for (const auto& m : b.milestones) {
      id.Add(m.id);
      name.Add(m.name);
      stage.Add(m.stage);
      progress.AddInt(m.progress);
    }
    txn.exec_prepared(sql::kCompleteMilestones, id.param(), org, order.id, name.param(), stage.param(),
                      progress.param(), now);
  }
  txn.exec_prepared(sql::kFinishOrder, order.id, b.new_status, b.agent ? 100 : 0, b.agent ? b.agent->id : "",
                    b.error, now);
}

}  // namespace

OrderSubmittedHandler::OrderSubmittedHandler(std::string topic_prefix, const common::Clock& clock)
    : milestone_topic_(topic_prefix + "order.milestone"),
      completed_topic_(topic_prefix + "order.completed"),
      clock_(clock) {}

void OrderSubmittedHandler::Prepare(pqxx::connection& conn) { PrepareStatements(conn); }

void OrderSubmittedHandler::Load(pqxx::transaction_base& txn, const std::string& org,
                                 const std::vector<WorkItem*>& items) {
  PgArray ids(PgElement::kText);
  for (auto* it : items) ids.Add(OrderIdOf(*it));
  std::map<std::string, std::shared_ptr<const engine::OrderRow>> found;
  for (const auto& r : txn.exec_prepared(sql::kLoadOrders, ids.param())) {
    auto row = std::make_shared<engine::OrderRow>();
    row->id = r[0].as<std::string>();
    row->organization_id = org;
    row->status = r[1].as<std::string>();
    row->title = r[2].as<std::string>();
    row->agent_config_json = r[3].as<std::string>();
    row->created_by = r[4].as<std::string>();
    found.emplace(row->id, std::move(row));
  }
  for (auto* it : items) {
    const std::string id = OrderIdOf(*it);
    auto f = found.find(id);
    if (f == found.end())
      it->Fail(common::ErrorClass::kNotFound, "order '" + id + "' not found in organization '" + org +
                                                  "' (it does not exist, or belongs to another organization)");
    else
      it->loaded = f->second;
  }
}

void OrderSubmittedHandler::Apply(pqxx::transaction_base& txn, const std::string& org,
                                  const std::vector<WorkItem*>& fresh, outbox::OutboxBatch& outbox) {
  // Several submissions of one order in a batch: each sees the status the
  // one before it left (only the first builds).
  std::unordered_map<std::string, std::string> status_now;
  const int64_t now_us = clock_.NowUnixMicros();
  const std::string now = common::FormatRfc3339(now_us);
  const std::string ts = common::LogTimestamp();
  for (WorkItem* it : fresh) {
    engine::OrderRow order = *std::static_pointer_cast<const engine::OrderRow>(it->loaded);
    if (auto s = status_now.find(order.id); s != status_now.end()) order.status = s->second;
    const engine::OrderBuild b =
        engine::PlanOrderBuild(order, it->env.source + "\x1f" + it->env.id, it->env.traceparent, now_us);
    Write(txn, org, order, b, now);
    if (!b.new_status.empty()) status_now[order.id] = b.new_status;
    it->outcome_failed = b.outcome == engine::OrderBuild::Outcome::kRejected;
    // One line per submission, written after the commit (OutboxBatch::log_lines).
    const std::string_view trace =
        it->env.traceparent.size() >= 35 ? std::string_view(it->env.traceparent).substr(3, 32) : std::string_view();
    using Outcome = engine::OrderBuild::Outcome;
    common::AppendLogRecord(outbox.log_lines(), b.outcome == Outcome::kCompleted ? common::LogLevel::kInfo
                                                                                   : common::LogLevel::kWarn,
                            ts,
                            b.outcome == Outcome::kCompleted  ? "order built"
                            : b.outcome == Outcome::kRejected ? "order rejected"
                                                              : "order.submitted ignored: the order is not SUBMITTED",
                            {{"order", order.id},
                             {"organization", org},
                             {"status", b.outcome == Outcome::kNotSubmitted ? std::string_view(order.status)
                                                                            : std::string_view(b.new_status)},
                             {"agent", b.agent ? std::string_view(b.agent->id) : std::string_view()},
                             {"trace_id", trace},
                             {"error", b.error}});
    // The milestones' events, then the order's completion (always last).
    for (size_t i = 0; i < b.events.size(); ++i)
      outbox.Add(i + 1 < b.events.size() ? milestone_topic_ : completed_topic_, order.id, b.events[i]);
  }
}

}  // namespace hub::orders
