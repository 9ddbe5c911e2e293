#pragma once
// What the chaos run sends: organisations with workflows of every step kind
// the worker has, and the trigger events spread over them.  Event i is
// "ev-<i>"; its kind and workflow follow from i alone, so a run can be
// checked from the ids it finds.
#include <cstdint>
#include <string>
#include <vector>

namespace hub::chaos {

enum class WorkflowKind {
  kGreeting,  // W1: trigger -> transform -> notification, one transaction
  kHttp,      // trigger -> http_request (stub /ok) -> notification: a durable call
  kDelay,     // trigger -> transform -> delay 2 s -> notification: a durable timer
  kParallel,  // http_request (stub /slow) || delay 1 s -> condition -> join -> notification
  kAgent      // trigger -> transform -> delay 2 s -> ai_agent (local provider) -> notification
};
const char* KindName(WorkflowKind k);

struct ChaosWorkflow {
  std::string id, organization;
  WorkflowKind kind = WorkflowKind::kGreeting;
};

// Seeds `organizations` organisations (org_chaos_<n>) as the schema owner
// (`url`), each with 25 greeting workflows and 2 of every other kind; the
// calling ones call `stub_base` + "/ok" or "/slow", the agent ones the
// organisation's agent with the built-in local provider (no network).
std::vector<ChaosWorkflow> SeedChaosWorkflows(const std::string& url, const std::string& admin_url,
                                              const std::string& stub_base, int organizations);

struct LoadEvent {
  std::string id, key, value;
  WorkflowKind kind = WorkflowKind::kGreeting;
};
// Event i: 1 in 20 each of http, delay, parallel and agent, the rest greetings.
LoadEvent MakeEvent(int64_t i, const std::vector<ChaosWorkflow>& workflows);
// An invalid event (no workflowId: a schema dead letter) "bad-<j>".
LoadEvent MakeBadEvent(int64_t j, const std::vector<ChaosWorkflow>& workflows);

// The node of a kind that calls the stub ("" when it calls nothing).
std::string CallingNode(WorkflowKind k);
// i of "ev-<i>", -1 for anything else.
int64_t SequenceOf(const std::string& event_id);

}  // namespace hub::chaos
