#include "worker/seed.hpp"

#include <pqxx/pqxx>

#include "common/ids.hpp"
#include "common/json_text.hpp"
#include "store/connection.hpp"

namespace hub::worker {

std::string GreetingNodes(const std::string& user_id) {
  std::string u;
  common::AppendJsonString(u, user_id);
  return R"([{"id":"trigger","type":"trigger","position":{"x":0,"y":0},"data":{"label":"Webhook trigger"}},)"
         R"({"id":"greet","type":"transform","position":{"x":200,"y":0},"data":{"label":"Greeting","fields":{"greeting":"hello {{input.name}}"}}},)"
         R"({"id":"notify","type":"notification","position":{"x":400,"y":0},"data":{"label":"Notify owner","userId":)" +
         u + R"(,"title":"Workflow {{workflow.name}} ran","message":"{{output.greeting}}"}}])";
}

std::string GreetingEdges() {
  return R"([{"id":"e1","source":"trigger","target":"greet"},{"id":"e2","source":"greet","target":"notify"}])";
}

namespace {
// A demo event up to its data's organizationId; the caller appends the rest
// of the data and closes both objects.
std::string BeginDemoEvent(const std::string& event_id, std::string_view type, const std::string& organization_id) {
  std::string out = "{\"specversion\":\"1.0\",\"id\":";
  common::AppendJsonString(out, event_id);
  out += ",\"source\":\"urn:hub:demo\",\"type\":";
  common::AppendJsonString(out, type);
  out += ",\"time\":\"";
  out += common::FormatRfc3339(common::NowUnixMicros());
  out += "\",\"datacontenttype\":\"application/json\",\"data\":{\"organizationId\":";
  common::AppendJsonString(out, organization_id);
  return out;
}
}  // namespace

std::string MakeWorkflowTriggered(const std::string& event_id, const std::string& organization_id,
                                  const std::string& workflow_id, const std::string& name) {
  std::string out = BeginDemoEvent(event_id, "workflow.triggered", organization_id);
  out += ",\"workflowId\":";
  common::AppendJsonString(out, workflow_id);
  out += ",\"input\":{\"name\":";
  common::AppendJsonString(out, name);
  out += "}}}";
  return out;
}

std::string MakeOrderSubmitted(const std::string& event_id, const std::string& organization_id,
                               const std::string& order_id) {
  std::string out = BeginDemoEvent(event_id, "order.submitted", organization_id);
  out += ",\"orderId\":";
  common::AppendJsonString(out, order_id);
  out += "}}";
  return out;
}

std::vector<std::string> SeedOrganization(const std::string& database_url, const SeedOptions& o) {
  pqxx::connection conn(database_url);
  pqxx::work txn(conn);
  store::SetTenant(txn, o.organization_id);
  const std::string slug = "slug-" + o.organization_id;
  txn.exec_params("INSERT INTO organizations (id, name, slug) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING",
                  o.organization_id, o.organization_name, slug);
  txn.exec_params(
      "INSERT INTO users (id, organization_id, email, name) VALUES ($1, $2, $3, 'Demo User') "
      "ON CONFLICT (id) DO NOTHING",
      o.user_id, o.organization_id, o.user_id + "@" + o.organization_id + ".example");
  txn.exec_params(
      "INSERT INTO organization_members (organization_id, user_id, role) VALUES ($1, $2, 'OWNER') "
      "ON CONFLICT DO NOTHING",
      o.organization_id, o.user_id);
  std::vector<std::string> ids;
  const std::string nodes = GreetingNodes(o.user_id), edges = GreetingEdges();
  for (int i = 0; i < o.workflows; ++i) {
    std::string id = "wf_" + o.organization_id + "_" + std::to_string(i);
    txn.exec_params(
        "INSERT INTO automation_workflows (id, organization_id, name, description, nodes, edges, variables, "
        "is_active, created_by) VALUES ($1, $2, $3, 'trigger -> transform -> notification', $4::jsonb, $5::jsonb, "
        "'{}'::jsonb, true, $6) ON CONFLICT (id) DO NOTHING",
        id, o.organization_id, "Greeting " + std::to_string(i), nodes, edges, o.user_id);
    ids.push_back(id);
  }
  if (o.with_inactive) {
    txn.exec_params(
        "INSERT INTO automation_workflows (id, organization_id, name, nodes, edges, is_active, created_by) "
        "VALUES ($1, $2, 'Paused greeting', $3::jsonb, $4::jsonb, false, $5) ON CONFLICT (id) DO NOTHING",
        "wf_" + o.organization_id + "_inactive", o.organization_id, nodes, edges, o.user_id);
  }
  if (!o.call_endpoint.empty()) {
    txn.exec_params(
        "INSERT INTO automation_workflows (id, organization_id, name, description, nodes, edges, variables, "
        "is_active, created_by) VALUES ($1, $2, 'Look up, wait, branch', "
        "'trigger -> http_request -> delay 1 s -> condition -> transform -> notification', $3::jsonb, $4::jsonb, "
        "'{}'::jsonb, true, $5) ON CONFLICT (id) DO UPDATE SET nodes = EXCLUDED.nodes",
        "wf_" + o.organization_id + "_call", o.organization_id, CallingNodes(o.user_id, o.call_endpoint),
        CallingEdges(), o.user_id);
  }
  if (o.with_platform_rows) {
    // A workflow that waits: its executions park at the delay (RUNNING) and a
    // step runner finishes them two seconds later, after asking the support
    // agent (inserted below; the local provider unless HUB_LLM_BASE_URL is set).
    txn.exec_params(
        "INSERT INTO automation_workflows (id, organization_id, name, description, nodes, edges, variables, "
        "is_active, created_by) VALUES ($1, $2, 'Greeting after a pause', "
        "'trigger -> transform -> delay 2 s -> ai_agent -> notification', $3::jsonb, $4::jsonb, '{}'::jsonb, true, $5) "
        "ON CONFLICT (id) DO UPDATE SET nodes = EXCLUDED.nodes, edges = EXCLUDED.edges, "
        "description = EXCLUDED.description",
        "wf_" + o.organization_id + "_wait", o.organization_id,
        WaitingNodes(o.user_id, "agent_" + o.organization_id + "_support"), WaitingEdges(), o.user_id);
  }
  if (o.with_platform_rows) {
    const std::string org = o.organization_id;
    txn.exec_params(
        "INSERT INTO ai_agents (id, organization_id, name, description, personality, model_config, capabilities, "
        "memory, created_by) VALUES ($1, $2, 'Support agent', 'Answers customer questions', "
        "'{\"tone\":\"friendly\"}', '{\"provider\":\"local\",\"model\":\"local-echo\"}', '{search,summarise}', "
        "'{}', $3), ($4, $2, 'Research agent', 'Collects facts', '{\"tone\":\"precise\"}', "
        "'{\"provider\":\"local\",\"model\":\"local-echo\"}', '{search}', '{}', $3) ON CONFLICT (id) DO NOTHING",
        "agent_" + org + "_support", org, o.user_id, "agent_" + org + "_research");
    txn.exec_params(
        "INSERT INTO agent_teams (id, organization_id, name, description, structure, coordination, created_by) "
        "VALUES ($1, $2, 'Support team', 'Research then answer', 'PIPELINE', '{}', $3) ON CONFLICT (id) DO NOTHING",
        "team_" + org, org, o.user_id);
    txn.exec_params(
        "INSERT INTO team_members (id, organization_id, team_id, agent_id, role, priority) VALUES "
        "($1, $2, $3, $4, 'WORKER', 0), ($5, $2, $3, $6, 'LEADER', 1) ON CONFLICT DO NOTHING",
        "tm_" + org + "_1", org, "team_" + org, "agent_" + org + "_research", "tm_" + org + "_2",
        "agent_" + org + "_support");
    txn.exec_params(
        "INSERT INTO integrations (id, organization_id, name, provider, credentials, config, status, created_by) "
        "VALUES ($1, $2, 'Inbound webhook', 'webhook', '{}', '{}', 'CONNECTED', $3) ON CONFLICT (id) DO NOTHING",
        "int_" + org + "_webhook", org, o.user_id);
    txn.exec_params(
        "INSERT INTO custom_agent_orders (id, organization_id, title, description, use_case, status, created_by, "
        "agent_config) VALUES ($1, $2, 'Lead qualifier', 'Qualifies inbound leads', 'sales', 'SUBMITTED', $3, "
        "'{\"name\":\"Lead qualifier\",\"description\":\"Scores inbound leads\",\"model_config\":"
        "{\"provider\":\"local\",\"model\":\"local\"},\"capabilities\":[\"qualify-leads\"]}') "
        "ON CONFLICT (id) DO NOTHING",
        "order_" + org, org, o.user_id);
  }
  txn.commit();
  return ids;
}

std::string CallingNodes(const std::string& user_id, const std::string& endpoint) {
  std::string u, url;
  common::AppendJsonString(u, user_id);
  common::AppendJsonString(url, endpoint);
  return R"([{"id":"trigger","type":"trigger","data":{"label":"Webhook trigger"}},)"
         R"({"id":"lookup","type":"http_request","data":{"label":"Look the customer up","method":"GET","url":)" + url +
         R"(,"retry":{"maxAttempts":3,"backoffMs":500}}},)"
         R"({"id":"pause","type":"delay","data":{"label":"Wait 1 s, the lookup runs meanwhile","ms":1000}},)"
         R"({"id":"known","type":"condition","data":{"label":"Known customer?","conditions":[)"
         R"({"left":"{{nodes.lookup.output.status}}","op":"==","right":200}]}},)"
         R"({"id":"welcome","type":"transform","data":{"fields":{"greeting":"welcome back, {{input.name}}"}}},)"
         R"({"id":"hello","type":"transform","data":{"fields":{"greeting":"hello {{input.name}}"}}},)"
         R"({"id":"notify","type":"notification","data":{"label":"Notify owner","userId":)" + u +
         R"(,"title":"{{workflow.name}} ran","message":"{{output.greeting}}"}}])";
}

std::string CallingEdges() {
  // The lookup and the pause are parallel branches that join at notify.
  return R"([{"source":"trigger","target":"lookup"},{"source":"trigger","target":"pause"},)"
         R"({"source":"lookup","target":"known"},{"source":"known","sourceHandle":"true","target":"welcome"},)"
         R"({"source":"known","sourceHandle":"false","target":"hello"},{"source":"welcome","target":"notify"},)"
         R"({"source":"hello","target":"notify"},{"source":"pause","target":"notify"}])";
}

std::string WaitingNodes(const std::string& user_id, const std::string& agent_id) {
  std::string u, a;
  common::AppendJsonString(u, user_id);
  common::AppendJsonString(a, agent_id);
  return R"([{"id":"trigger","type":"trigger","data":{"label":"Webhook trigger"}},)"
         R"({"id":"greet","type":"transform","data":{"label":"Greeting","fields":{"greeting":"hello {{input.name}}"}}},)"
         R"({"id":"pause","type":"delay","data":{"label":"Wait 2 s","ms":2000}},)"
         R"({"id":"reply","type":"ai_agent","data":{"label":"Draft a welcome","agentId":)" + a +
         R"(,"prompt":"Write one friendly line welcoming {{input.name}}.","maxTokens":64}},)"
         R"({"id":"notify","type":"notification","data":{"label":"Notify owner","userId":)" +
         u + R"(,"title":"{{workflow.name}} ran","message":"{{output.greeting}}, after a pause. {{nodes.reply.output.text}}"}}])";
}

std::string WaitingEdges() {
  return R"([{"id":"e1","source":"trigger","target":"greet"},{"id":"e2","source":"greet","target":"pause"},)"
         R"({"id":"e3","source":"pause","target":"reply"},{"id":"e4","source":"reply","target":"notify"}])";
}

consumers::DemoEvents WorkflowDemoEvents(const consumers::DemoContext& ctx) {
  static const char* kNames[] = {"Ada", "Grace", "Linus", "Margaret", "Alan", "Barbara"};
  consumers::DemoEvents out;
  const std::string prefix = "demo-" + ctx.run + "-";
  for (int i = 0; i < ctx.events && !ctx.workflows.empty(); ++i) {
    const std::string& wf = ctx.workflows[static_cast<size_t>(i) % ctx.workflows.size()];
    out.emplace_back(wf, MakeWorkflowTriggered(prefix + std::to_string(i), ctx.organization_id, wf, kNames[i % 6]));
  }
  const std::string inactive = "wf_" + ctx.organization_id + "_inactive";
  out.emplace_back(inactive, MakeWorkflowTriggered(prefix + "inactive", ctx.organization_id, inactive, "Nobody"));
  out.emplace_back("wf_missing", MakeWorkflowTriggered(prefix + "missing", ctx.organization_id, "wf_missing", "Ghost"));
  out.emplace_back("wf_broken", "{\"specversion\":\"1.0\", this is not JSON");
  const std::string wait = "wf_" + ctx.organization_id + "_wait";
  for (int i = 0; i < 2; ++i)
    out.emplace_back(wait, MakeWorkflowTriggered(prefix + "wait-" + std::to_string(i), ctx.organization_id, wait,
                                                 kNames[i]));
  const std::string call = "wf_" + ctx.organization_id + "_call";
  for (int i = 0; ctx.with_calls && i < 2; ++i)
    out.emplace_back(call, MakeWorkflowTriggered(prefix + "call-" + std::to_string(i), ctx.organization_id, call,
                                                 kNames[i + 2]));
  return out;
}

consumers::DemoEvents OrderDemoEvents(const consumers::DemoContext& ctx) {
  const std::string order = "order_" + ctx.organization_id;
  return {{order, MakeOrderSubmitted("demo-" + ctx.run + "-order", ctx.organization_id, order)}};
}

}  // namespace hub::worker
