#pragma once
// `integration.webhook`: verifies a webhook the platform's gateway received
// for an integration, records an integration operation, triggers the
// organisation's workflows that listen to the integration and event type
// (as `workflow.triggered` events through the outbox, in the same
// transaction), and emits `integration.processed`.
//
// Refused, as dead letters (the identity is not recorded, so a redrive after
// the cause is fixed applies it):
//   not_found  the integration is not visible in the event's organisation;
//   signature  the signature is missing, malformed, wrong, stale or a replay,
//              the integration has no signing secret or it cannot be
//              decrypted, or this worker has no HUB_SECRET_KEY.
// An inactive integration whose webhook verifies is recorded as a
// `cancelled` operation that triggers nothing.
//
// Verification runs in Load, before the batch records identities: a
// webhook whose operation is already recorded is a redelivery and is not
// verified again (its timestamp may be stale by now); the batch then skips
// it as a duplicate.
#include <memory>
#include <string>

#include "common/clock.hpp"
#include "common/secret_box.hpp"
#include "consumers/batch_handler.hpp"

namespace hub::integrations {

// The operation a webhook event records: derived from its identity within
// `org`, so a redelivery finds it.
std::string OperationIdOf(const consumers::WorkItem& item, std::string_view org);

class WebhookHandler : public consumers::BatchHandler {
 public:
  // `secrets` may be null or empty: every webhook is then refused (signature).
  WebhookHandler(std::string topic_prefix, size_t max_event_bytes, std::shared_ptr<const common::SecretKeyring> secrets,
                 const common::Clock& clock);
  void Prepare(pqxx::connection& conn) override;
  void Load(pqxx::transaction_base& txn, const std::string& org,
            const std::vector<consumers::WorkItem*>& items) override;
  void Apply(pqxx::transaction_base& txn, const std::string& org, const std::vector<consumers::WorkItem*>& fresh,
             outbox::OutboxBatch& outbox) override;

 private:
  const std::string triggered_topic_, processed_topic_;
  const size_t max_event_bytes_;
  const std::shared_ptr<const common::SecretKeyring> secrets_;
  const common::Clock& clock_;  // signature timestamps, replay memory, operation times
};

// How long an accepted signature without a timestamp (GitHub's) is
// remembered to refuse replays; a timestamped one is remembered until its
// timestamp falls out of tolerance.
inline constexpr int64_t kUntimestampedReplayMemoryS = 24 * 3600;

}  // namespace hub::integrations
