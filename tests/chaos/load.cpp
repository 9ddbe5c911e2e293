#include "tests/chaos/load.hpp"

#include <map>
#include <stdexcept>

#include "tests/support/pg_fixture.hpp"
#include "worker/seed.hpp"

namespace hub::chaos {
namespace {

constexpr int kGreetingsPerOrganization = 25;
constexpr int kOthersPerOrganization = 2;  // of each durable kind

std::string HttpNodes(const std::string& user, const std::string& url) {
  return R"([{"id":"t","type":"trigger"},
             {"id":"call","type":"http_request","data":{"method":"POST","url":")" + url +
         R"(","body":"{{input.name}}","timeoutMs":3000,"retry":{"maxAttempts":5,"backoffMs":200}}},
             {"id":"n","type":"notification","data":{"userId":")" + user +
         R"(","title":"called","message":"{{nodes.call.output.body.greeting}} {{input.name}}"}}])";
}
const char* kHttpEdges = R"([{"source":"t","target":"call"},{"source":"call","target":"n"}])";

std::string DelayNodes(const std::string& user) {
  return R"([{"id":"t","type":"trigger"},
             {"id":"greet","type":"transform","data":{"fields":{"greeting":"hello {{input.name}}"}}},
             {"id":"pause","type":"delay","data":{"ms":2000}},
             {"id":"n","type":"notification","data":{"userId":")" + user +
         R"(","title":"waited","message":"{{output.greeting}}, after a pause"}}])";
}
const char* kDelayEdges =
    R"([{"source":"t","target":"greet"},{"source":"greet","target":"pause"},{"source":"pause","target":"n"}])";

std::vector<const ChaosWorkflow*> OfKind(const std::vector<ChaosWorkflow>& all, WorkflowKind k) {
  std::vector<const ChaosWorkflow*> out;
  for (const auto& w : all)
    if (w.kind == k) out.push_back(&w);
  if (out.empty()) throw std::logic_error("no chaos workflow of this kind");
  return out;
}

}  // namespace

const char* KindName(WorkflowKind k) {
  switch (k) {
    case WorkflowKind::kGreeting: return "greeting";
    case WorkflowKind::kHttp: return "http";
    case WorkflowKind::kDelay: return "delay";
    case WorkflowKind::kParallel: return "parallel";
    case WorkflowKind::kAgent: return "agent";
  }
  return "?";
}

std::vector<ChaosWorkflow> SeedChaosWorkflows(const std::string& url, const std::string& admin_url,
                                              const std::string& stub_base, int organizations) {
  std::vector<ChaosWorkflow> out;
  for (int o = 0; o < organizations; ++o) {
    worker::SeedOptions so;
    so.organization_id = "org_chaos_" + std::to_string(o);
    so.organization_name = "Chaos " + std::to_string(o);
    so.user_id = "user_chaos_" + std::to_string(o);
    so.workflows = kGreetingsPerOrganization + 4 * kOthersPerOrganization;
    so.with_inactive = false;
    so.with_platform_rows = true;  // the agents the agent workflows ask
    const std::string agent = "agent_" + so.organization_id + "_support";
    const auto ids = worker::SeedOrganization(url, so);
    for (size_t i = 0; i < ids.size(); ++i) {
      ChaosWorkflow w{ids[i], so.organization_id, WorkflowKind::kGreeting};
      const int extra = static_cast<int>(i) - kGreetingsPerOrganization;
      if (extra >= 0) {
        static const WorkflowKind kOthers[] = {WorkflowKind::kHttp, WorkflowKind::kDelay, WorkflowKind::kParallel,
                                               WorkflowKind::kAgent};
        w.kind = kOthers[extra / kOthersPerOrganization];
        if (w.kind == WorkflowKind::kHttp)
          testing::SetWorkflowDefinition(admin_url, w.id, HttpNodes(so.user_id, stub_base + "/ok"), kHttpEdges);
        else if (w.kind == WorkflowKind::kDelay)
          testing::SetWorkflowDefinition(admin_url, w.id, DelayNodes(so.user_id), kDelayEdges);
        else if (w.kind == WorkflowKind::kParallel)
          testing::SetWorkflowDefinition(admin_url, w.id, worker::CallingNodes(so.user_id, stub_base + "/slow"),
                                         worker::CallingEdges());
        else
          testing::SetWorkflowDefinition(admin_url, w.id, worker::WaitingNodes(so.user_id, agent),
                                         worker::WaitingEdges());
      }
      out.push_back(w);
    }
  }
  return out;
}

LoadEvent MakeEvent(int64_t i, const std::vector<ChaosWorkflow>& workflows) {
  static const WorkflowKind kDurable[] = {WorkflowKind::kHttp, WorkflowKind::kDelay, WorkflowKind::kParallel,
                                          WorkflowKind::kAgent};
  const int64_t slot = i % 20;
  const WorkflowKind kind = slot < 4 ? kDurable[slot] : WorkflowKind::kGreeting;
  const auto pool = OfKind(workflows, kind);
  const ChaosWorkflow& w = *pool[static_cast<size_t>((i / 20 + i) % static_cast<int64_t>(pool.size()))];
  LoadEvent e;
  e.id = "ev-" + std::to_string(i);
  e.key = w.id;
  e.kind = kind;
  e.value = worker::MakeWorkflowTriggered(e.id, w.organization, w.id, "n" + std::to_string(i));
  return e;
}

LoadEvent MakeBadEvent(int64_t j, const std::vector<ChaosWorkflow>& workflows) {
  const ChaosWorkflow& w = workflows[static_cast<size_t>(j) % workflows.size()];
  LoadEvent e;
  e.id = "bad-" + std::to_string(j);
  e.key = w.id;
  e.value = worker::MakeWorkflowTriggered(e.id, w.organization, w.id, "x");
  e.value.replace(e.value.find("\"workflowId\""), 12, "\"workflowXX\"");
  return e;
}

std::string CallingNode(WorkflowKind k) {
  switch (k) {
    case WorkflowKind::kHttp: return "call";
    case WorkflowKind::kParallel: return "lookup";
    default: return "";
  }
}

int64_t SequenceOf(const std::string& event_id) {
  if (event_id.rfind("ev-", 0) != 0 || event_id.size() == 3) return -1;
  int64_t v = 0;
  for (size_t i = 3; i < event_id.size(); ++i) {
    if (event_id[i] < '0' || event_id[i] > '9') return -1;
    v = v * 10 + (event_id[i] - '0');
  }
  return v;
}

}  // namespace hub::chaos
