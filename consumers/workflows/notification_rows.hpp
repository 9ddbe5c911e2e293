#pragma once
// The notifications written by workflow executions, as the columns of one
// multi-row INSERT (where executions finish: a trigger's batch and the step
// runner).
#include <string>

#include <pqxx/pqxx>

#include "engine/workflow.hpp"
#include "store/pg_array.hpp"
#include "consumers/workflows/statements.hpp"

namespace hub::workflows {

class NotificationRows {
 public:
  void Add(const engine::NotificationWrite& n) {
    id_.Add(n.id);
    user_.Add(n.user_id);
    title_.Add(n.title);
    message_.Add(n.message);
    type_.Add(n.type);
    meta_.Add(n.metadata_json);
  }
  // One statement for the rows added (none: nothing), under `org`'s tenant.
  void Insert(pqxx::transaction_base& txn, const std::string& org) {
    if (id_.size() == 0) return;
    txn.exec_prepared(sql::kInsertNotifications, id_.param(), org, user_.param(), title_.param(),
                      message_.param(), type_.param(), meta_.param());
  }

 private:
  using PgArray = store::PgArray;
  using PgElement = store::PgElement;
  PgArray id_{PgElement::kText}, user_{PgElement::kText}, title_{PgElement::kText}, message_{PgElement::kText},
      type_{PgElement::kText}, meta_{PgElement::kJsonb};
};

}  // namespace hub::workflows
