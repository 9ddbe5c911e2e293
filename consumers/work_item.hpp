#pragma once
// One consumed event on its way through a batch.  Owned by the lane that
// processes the batch; handlers see it through pointers.
#include <memory>
#include <string>

#include <librdkafka/rdkafkacpp.h>

#include "common/error.hpp"
#include "common/metrics.hpp"
#include "consumers/envelope.hpp"
#include "engine/workflow.hpp"

namespace hub::consumers {

enum class ItemState {
  kPending,    // parsed and valid so far
  kFailed,     // permanent failure: dead-lettered, identity NOT recorded (a redrive can apply it)
  kDuplicate,  // identity already in processed_events: nothing done
  kApplied,    // effects and identity committed
};

struct WorkItem {
  std::unique_ptr<RdKafka::Message> raw;  // keeps the buffers `in` points into
  InboundMessage in;
  Envelope env;
  common::InputKind kind = common::InputKind::kWorkflowTriggered;
  ItemState state = ItemState::kPending;
  common::ErrorClass error_class = common::ErrorClass::kInternal;
  std::string reason;
  // Set by the consumer when transient failures exhausted the retries: the
  // event is dead-lettered with this reason instead of being processed again.
  std::string give_up_reason;

  // Handler scratch space (loaded state for this event).
  std::shared_ptr<const engine::CompiledWorkflow> workflow;

  void Fail(common::ErrorClass cls, std::string why) {
    state = ItemState::kFailed;
    error_class = cls;
    reason = std::move(why);
  }
};

}  // namespace hub::consumers
