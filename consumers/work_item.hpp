#pragma once
// One consumed event on its way through a batch.  Owned by the lane that
// processes the batch; handlers see it through pointers.
#include <memory>
#include <string>

#include "common/error.hpp"
#include "common/metrics.hpp"
#include "consumers/envelope.hpp"

namespace hub::consumers {

enum class ItemState {
  kPending,    // parsed and valid so far
  kFailed,     // permanent failure: dead-lettered, identity NOT recorded (a redrive can apply it)
  kDuplicate,  // identity already in processed_events: nothing done
  kApplied,    // effects and identity committed
};

struct WorkItem {
  InboundMessage in;
  Envelope env;
  int family = -1;  // index in the EventCatalogue; -1: not in it
  ItemState state = ItemState::kPending;
  common::ErrorClass error_class = common::ErrorClass::kInternal;
  std::string reason;
  // Set when the database refused this event's effects: the handler records
  // the failure instead (BatchHandler::RecordsRefusals).
  std::string refused;
  // What the event's handler loaded for it (e.g. its compiled workflow),
  // typed by the handler: the generic item knows no family's state.
  std::shared_ptr<const void> loaded;
  // `hubworker replay --reprocess` only: the execution this event's first run
  // made, and the reprocess run's id.  The handler then runs it as a new
  // execution (an id derived from the run too), marked as a replay of it.
  std::string replay_of, replay_run;
  // Set by the handler when the outcome it records is a failure (a FAILED
  // execution): counted in hub_events_failed_total{type} once committed.
  bool outcome_failed = false;

  // Ready for another event; keeps the envelope's buffers for reuse.
  void Reset() {
    in.topic = {};
    in.key = {};
    in.value = {};
    in.headers.clear();  // keeps capacity
    state = ItemState::kPending;
    error_class = common::ErrorClass::kInternal;
    reason.clear();
    refused.clear();
    loaded.reset();
    replay_of.clear();
    replay_run.clear();
    outcome_failed = false;
  }

  void Fail(common::ErrorClass cls, std::string why) {
    state = ItemState::kFailed;
    error_class = cls;
    reason = std::move(why);
  }
};

}  // namespace hub::consumers
