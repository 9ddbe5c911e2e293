#pragma once
// `order.submitted`: builds the custom agent order named by data.orderId
// (engine/order_build.hpp decides): records its milestones, build log lines,
// the provisioned agent and the order's new status, and emits
// `order.milestone` for each milestone and `order.completed`, all in the
// batch's transaction.
//
// An order id that is not visible in the event's organisation (it does not
// exist, or row-level security hides another tenant's row) is a permanent
// `not_found` failure.  A configuration that cannot make an agent is the
// order's outcome (REJECTED, counted as a failed event), not a dead letter.
#include <string>

#include "common/clock.hpp"
#include "consumers/batch_handler.hpp"

namespace hub::orders {

class OrderSubmittedHandler : public consumers::BatchHandler {
 public:
  OrderSubmittedHandler(std::string topic_prefix, const common::Clock& clock);
  void Prepare(pqxx::connection& conn) override;
  void Load(pqxx::transaction_base& txn, const std::string& org,
            const std::vector<consumers::WorkItem*>& items) override;
  void Apply(pqxx::transaction_base& txn, const std::string& org, const std::vector<consumers::WorkItem*>& fresh,
             outbox::OutboxBatch& outbox) override;

 private:
  const std::string milestone_topic_, completed_topic_;
  const common::Clock& clock_;
};

}  // namespace hub::orders
