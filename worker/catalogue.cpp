#include "worker/catalogue.hpp"

#include "consumers/integrations/webhook_handler.hpp"
#include "consumers/orders/submitted_handler.hpp"
#include "consumers/workflows/triggered_handler.hpp"
#include "worker/seed.hpp"

namespace hub::worker {
namespace {

std::unique_ptr<consumers::BatchHandler> WorkflowTriggered(const consumers::HandlerDeps& d) {
  return std::make_unique<workflows::WorkflowTriggeredHandler>(d.topic_prefix, d.limits, d.max_event_bytes, *d.clock);
}

std::unique_ptr<consumers::BatchHandler> OrderSubmitted(const consumers::HandlerDeps& d) {
  return std::make_unique<orders::OrderSubmittedHandler>(d.topic_prefix, *d.clock);
}

std::unique_ptr<consumers::BatchHandler> IntegrationWebhook(const consumers::HandlerDeps& d) {
  return std::make_unique<integrations::WebhookHandler>(d.topic_prefix, d.max_event_bytes, d.secrets, *d.clock);
}

}  // namespace

const consumers::EventCatalogue& Catalogue() {
  // type, emitted types, handler (null: on the contract, not consumed yet), demo events.
  static const consumers::EventCatalogue kCatalogue({
      {"workflow.triggered", {"workflow.completed"}, WorkflowTriggered, WorkflowDemoEvents},
      {"order.submitted", {"order.milestone", "order.completed"}, OrderSubmitted, OrderDemoEvents},
      {"integration.webhook", {"integration.processed", "workflow.triggered"}, IntegrationWebhook, nullptr},
  });
  return kCatalogue;
}

}  // namespace hub::worker
