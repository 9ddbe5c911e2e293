#pragma once
// Seeding of demo / test / benchmark data through the worker's own role, with
// app.organization_id set per organisation (so row-level security applies to
// the seeding too).  Idempotent: rows that exist are left alone.
#include <string>
#include <vector>

#include "consumers/event_catalogue.hpp"

namespace hub::worker {

struct SeedOptions {
  std::string organization_id = "org_demo";
  std::string organization_name = "Demo Organisation";
  std::string user_id = "user_demo";
  int workflows = 3;             // greeting workflows wf_<org>_<i> (trigger -> transform -> notification)
  bool with_inactive = true;     // plus wf_<org>_inactive (is_active = false)
  bool with_platform_rows = false;  // agents, a team, an integration, an order (the demo shows them)
  // Non-empty: also wf_<org>_call, which calls this URL (http_request) while
  // it waits a second (delay) on a parallel branch, and branches on the
  // answer (condition).
  std::string call_endpoint;
};

// Returns the ids of the active greeting workflows.
std::vector<std::string> SeedOrganization(const std::string& database_url, const SeedOptions& opts);

// A structured `workflow.triggered` CloudEvent for `workflow_id`.
std::string MakeWorkflowTriggered(const std::string& event_id, const std::string& organization_id,
                                  const std::string& workflow_id, const std::string& name);

// The React-Flow definition of the W1 greeting workflow (nodes, edges).
std::string GreetingNodes(const std::string& user_id);
// trigger -> { http_request (endpoint) -> condition on the answer -> one of
// two transforms ; delay 1 s } -> notification: two parallel branches that
// join (the demo's calling workflow).
std::string CallingNodes(const std::string& user_id, const std::string& endpoint);
std::string CallingEdges();
// trigger -> transform -> delay 2 s -> ai_agent (`agent_id`) -> notification
// (the demo's waiting workflow).
std::string WaitingNodes(const std::string& user_id, const std::string& agent_id);
std::string WaitingEdges();

// `hubworker demo`'s workflow.triggered events: ctx.events greetings over the
// demo workflows, one for the inactive workflow (recorded CANCELLED), one for
// a workflow that does not exist (dead letter, class not_found), one
// malformed (dead letter, class schema) and two for the waiting workflow
// (parked at its delay, finished by a step runner), and two for the calling
// workflow when the demo was given an endpoint.
consumers::DemoEvents WorkflowDemoEvents(const consumers::DemoContext& ctx);
// `hubworker demo`'s order.submitted event: the demo organisation's seeded
// order (built on the first run; later runs find it COMPLETED and log that).
consumers::DemoEvents OrderDemoEvents(const consumers::DemoContext& ctx);
// A structured order.submitted event (demo, tests).
std::string MakeOrderSubmitted(const std::string& event_id, const std::string& organization_id,
                               const std::string& order_id);
std::string GreetingEdges();

}  // namespace hub::worker
