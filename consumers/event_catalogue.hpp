#pragma once
// The event families this worker knows, one entry each: the input type (its
// topic suffix, its schema schemas/events/<type>.json and its metric label),
// the types it emits, how to build its handler, and its demo events.  The
// subscriptions, the embedded broker's topics, `hubworker demo` and the
// per-type metrics are derived from it; worker/catalogue.cpp is the list.
//
// A family without a handler is on the contract (its topic exists, other
// services may produce to it) but not consumed yet.  An event whose type is
// not in the catalogue is refused as a `schema` dead letter.
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.hpp"
#include "common/secret_box.hpp"
#include "consumers/batch_handler.hpp"
#include "engine/limits.hpp"

namespace hub::consumers {

// Everything a handler may depend on, built by worker/ and passed in: nothing
// below worker/ reaches for a global.
struct HandlerDeps {
  std::string topic_prefix = "hub.";
  const common::Clock* clock = nullptr;
  engine::ExecutionLimits limits;
  size_t max_event_bytes = 1000000 - 1024;  // the largest outgoing event the producer takes
  // HUB_SECRET_KEY (and older keys): decrypts integration credentials.  Null
  // or empty: webhooks cannot be verified (their family dead-letters them).
  std::shared_ptr<const common::SecretKeyring> secrets;
};

// What `hubworker demo` publishes for a family: (key, structured CloudEvent).
struct DemoContext {
  std::string organization_id;
  std::vector<std::string> workflows;  // active greeting workflows of the demo organisation
  std::string run;                     // unique per demo run, for event ids
  int events = 20;
  bool with_calls = false;             // wf_<org>_call exists (the demo was given an endpoint)
};
using DemoEvents = std::vector<std::pair<std::string, std::string>>;

struct EventFamily {
  std::string type;                // e.g. "workflow.triggered"
  std::vector<std::string> emits;  // e.g. {"workflow.completed"}
  std::function<std::unique_ptr<BatchHandler>(const HandlerDeps&)> make_handler;  // null: not consumed yet
  std::function<DemoEvents(const DemoContext&)> demo;                             // null: none
};

class EventCatalogue {
 public:
  // Throws std::invalid_argument on a repeated type or more than
  // common::kMaxEventFamilies families (the metrics' fixed arrays).
  explicit EventCatalogue(std::vector<EventFamily> families);
  const std::vector<EventFamily>& families() const { return families_; }
  // Index of the family of `type`, or -1.
  int IndexOf(std::string_view type) const;
  // Types of the families with a handler: the input topics to subscribe to.
  std::vector<std::string> ConsumedTypes() const;
  // Every topic of the catalogue with `prefix`: inputs, outputs, dead letters.
  std::vector<std::string> Topics(const std::string& prefix) const;
  // One handler per family (null where a family has none), indexed like families().
  std::vector<std::unique_ptr<BatchHandler>> MakeHandlers(const HandlerDeps& deps) const;

 private:
  std::vector<EventFamily> families_;
};

}  // namespace hub::consumers
