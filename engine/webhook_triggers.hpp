#pragma once
// What a verified webhook does, pure: which workflows it triggers and the
// events it emits.
//
// A workflow listens to an integration through its trigger node:
//
//   {"id":"trigger","type":"trigger","data":{"integrationId":"int_1","eventTypes":["push","issues"]}}
//
// `eventTypes` missing or empty, or containing "*", means every event type.
// Each triggered workflow gets a `workflow.triggered` event whose id is
// derived from the webhook's operation (so a redelivered webhook, should it
// get this far, triggers nothing twice) and which goes through the ordinary
// workflow machinery.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>

namespace hub::engine {

// At most this many workflows are triggered by one webhook (a tenant's
// workflows are many; each trigger carries the body again).  The rest are
// reported in the operation's result.
inline constexpr size_t kMaxTriggeredWorkflows = 50;

// Whether the workflow whose React-Flow `nodes` these are has a trigger node
// that listens to `integration_id` for `event_type`.
bool TriggerListens(const rapidjson::Value& nodes, std::string_view integration_id, std::string_view event_type);

struct WebhookContext {
  std::string_view organization_id;
  std::string_view integration_id;
  std::string_view provider;
  std::string_view event_type;
  std::string_view operation_id;
  std::string_view body;               // raw, as received
  std::string_view webhook_event_id;   // becomes the triggered runs' correlationId
  std::string_view traceparent;        // optional, carried
  int64_t now_unix_us = 0;
};

// The id of the workflow.triggered event for `workflow_id`.
std::string TriggeredEventId(std::string_view operation_id, std::string_view workflow_id);

// The `workflow.triggered` event for `workflow_id`: input
// {integrationId, provider, eventType, operationId, body (the raw body as a
// string), payload (the body parsed, when it is a JSON object or array)}.
std::string BuildWebhookTriggered(const WebhookContext& c, std::string_view workflow_id);

// The `integration.processed` event: id = the operation id.
std::string BuildIntegrationProcessed(const WebhookContext& c, std::string_view status,
                                      const std::vector<std::string>& triggered, std::string_view error = {});

}  // namespace hub::engine
