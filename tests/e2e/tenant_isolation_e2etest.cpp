// Tenant isolation under a random mix (the seed is printed; HUB_TEST_SEED
// replays a run): two organisations each send workflow.triggered events
// naming workflows of their own and of the other organisation — greetings,
// and workflows that park at a delay or call out (resumed later by the step
// runner, outside the consume path).  An event naming another organisation's
// workflow must be a `not_found` dead letter that touched nothing; every
// other must run in its own organisation only: its execution, notification,
// workflow counter and completion event belong to the sender.  The same for
// order.submitted events naming orders of either organisation.  Then the
// replay tool reprocesses every workflow event, with the same outcome, and
// signed integration.webhook events name integrations of either organisation.
#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <rapidjson/document.h>

#include "common/json_text.hpp"
#include "common/secret_box.hpp"
#include "engine/webhook_signature.hpp"
#include "tests/support/http_stub.hpp"
#include "tests/support/pipeline_fixture.hpp"
#include "worker/seed.hpp"

namespace hub {
namespace {
using namespace std::chrono_literals;
using testing::ChildProcess;
using testing::JsonString;
using testing::TestConsumer;
using testing::TestProducer;

const std::string kSecretKey = common::EncodeBase64(std::string(32, 'i'));

struct Flow {
  std::string org, id;
};

class TenantIsolationTest : public testing::PipelineFixture {};

TEST_F(TenantIsolationTest, RandomCrossTenantEventsTouchNothingOfTheOtherOrganisation) {
  const char* given = std::getenv("HUB_TEST_SEED");
  const uint64_t seed = given ? std::strtoull(given, nullptr, 10) : std::random_device{}();
  std::cout << "HUB_TEST_SEED=" << seed << "\n";
  std::mt19937_64 rng(seed);

  testing::HttpStub stub([](const testing::HttpStub::Request&) {
    return testing::HttpStub::Response{200, {{"Content-Type", "application/json"}}, R"({"ok":true})"};
  });
  // org_c: three workflows; the second waits, the third calls out.
  worker::SeedOptions c;
  c.organization_id = "org_c";
  c.user_id = "user_c";
  c.workflows = 3;
  const std::vector<std::string> org_c = worker::SeedOrganization(db_->owner_url(), c);
  auto waits = [&](const std::string& wf, const std::string& user) {
    testing::SetWorkflowDefinition(
        db_->admin_url(), wf,
        R"([{"id":"t","type":"trigger"},{"id":"w","type":"delay","data":{"ms":200}},
            {"id":"n","type":"notification","data":{"userId":")" + user + R"(","title":"waited","message":"{{input.name}}"}}])",
        R"([{"source":"t","target":"w"},{"source":"w","target":"n"}])");
  };
  auto calls = [&](const std::string& wf, const std::string& user) {
    testing::SetWorkflowDefinition(
        db_->admin_url(), wf,
        R"([{"id":"t","type":"trigger"},{"id":"c","type":"http_request","data":{"url":")" + stub.url("/x") + R"("}},
            {"id":"n","type":"notification","data":{"userId":")" + user + R"(","title":"called","message":"{{input.name}}"}}])",
        R"([{"source":"t","target":"c"},{"source":"c","target":"n"}])");
  };
  waits(workflows_[1], "user_a");
  calls(workflows_[2], "user_a");
  waits(org_c[1], "user_c");
  calls(org_c[2], "user_c");
  const std::vector<Flow> flows = {{"org_a", workflows_[0]}, {"org_a", workflows_[1]}, {"org_a", workflows_[2]},
                                   {"org_c", org_c[0]},      {"org_c", org_c[1]},      {"org_c", org_c[2]}};

  auto worker = StartWorker({{"HUB_HTTP_ALLOWLIST", "127.0.0.1"}, {"HUB_SECRET_KEY", kSecretKey}});
  TestConsumer completions(broker_->bootstrap(), "hub.workflow.completed");
  TestConsumer dead(broker_->bootstrap(), "hub.deadletter");
  TestProducer producer(broker_->bootstrap());
  constexpr int kEvents = 300;
  std::map<std::string, std::string> sender;         // event id -> organisation
  std::map<std::string, bool> crosses;                // event id -> names another organisation's workflow
  std::map<std::string, int> own_runs;                // workflow id -> events of its own organisation
  int crossing = 0;
  for (int i = 0; i < kEvents; ++i) {
    const std::string org = rng() % 2 ? "org_a" : "org_c";
    const Flow& f = flows[rng() % flows.size()];
    const std::string id = "iso-" + std::to_string(i);
    sender[id] = org;
    crosses[id] = f.org != org;
    if (crosses[id]) ++crossing;
    else ++own_runs[f.id];
    producer.Produce("hub.workflow.triggered", f.id, worker::MakeWorkflowTriggered(id, org, f.id, "n" + std::to_string(i)),
                     {{"content-type", "application/cloudevents+json"}});
  }
  producer.Flush();
  std::cout << "events: " << kEvents << ", naming another organisation's workflow: " << crossing << "\n";

  ASSERT_TRUE(WaitDistinctCompletions(completions, static_cast<size_t>(kEvents - crossing), 120s))
      << worker->StderrText() << Progress();
  ASSERT_TRUE(dead.PollUntil([&](const auto& ms) { return ms.size() >= static_cast<size_t>(crossing); }, 60s))
      << worker->StderrText();

  // Dead letters: exactly the crossing events, each not_found.
  std::map<std::string, std::string> letter;
  for (const auto& m : dead.messages()) {
    for (const auto& [k, v] : m.headers)
      if (k == "hub-error-class") letter[JsonString(m.value, nullptr, "id")] = v;
  }
  EXPECT_EQ(letter.size(), static_cast<size_t>(crossing));
  for (const auto& [id, cross] : crosses) {
    if (cross) EXPECT_EQ(letter[id], "not_found") << id;
    else EXPECT_EQ(letter.count(id), 0u) << id;
  }
  // Completions: one per own event, in the sender's organisation.
  for (const auto& m : completions.messages()) {
    const std::string trigger = JsonString(m.value, "data", "triggerEventId");
    ASSERT_EQ(sender.count(trigger), 1u) << m.value;
    EXPECT_FALSE(crosses[trigger]) << trigger;
    EXPECT_EQ(JsonString(m.value, "data", "organizationId"), sender[trigger]) << m.value;
    EXPECT_EQ(JsonString(m.value, "data", "status"), "COMPLETED") << m.value;
  }
  // Rows: executions and notifications only in the sender's organisation and
  // only for own events; counters count own events only.
  pqxx::connection conn(db_->admin_url());
  pqxx::nontransaction q(conn);
  for (const auto& row : q.exec("SELECT trigger_event_id, organization_id FROM workflow_executions")) {
    const std::string id = row[0].as<std::string>();
    ASSERT_EQ(sender.count(id), 1u) << id;
    EXPECT_FALSE(crosses[id]) << id;
    EXPECT_EQ(row[1].as<std::string>(), sender[id]) << id;
  }
  EXPECT_EQ(Count("SELECT count(*) FROM workflow_executions"), kEvents - crossing);
  EXPECT_EQ(Count("SELECT count(*) FROM notifications n JOIN users u ON u.id = n.user_id "
                  "WHERE n.organization_id IS DISTINCT FROM u.organization_id"),
            0);
  EXPECT_EQ(Count("SELECT count(*) FROM notifications"), kEvents - crossing);
  for (const auto& f : flows) {
    const auto r = q.exec_params1("SELECT execution_count FROM automation_workflows WHERE id = $1", f.id);
    EXPECT_EQ(r[0].as<int>(), own_runs[f.id]) << f.id;
  }
  EXPECT_EQ(Count("SELECT count(*) FROM execution_steps"), 0);

  // Orders: each organisation submits orders of its own and of the other one.
  constexpr int kOrdersEach = 10, kOrderEvents = 60;
  std::vector<Flow> orders;
  for (const char* org : {"org_a", "org_c"}) {
    pqxx::connection oc(db_->owner_url());
    pqxx::work t(oc);
    t.exec_params("SELECT set_config('app.organization_id', $1, true)", std::string(org));
    for (int i = 0; i < kOrdersEach; ++i) {
      const std::string id = std::string("ord_") + org + "_" + std::to_string(i);
      t.exec_params("INSERT INTO custom_agent_orders (id, organization_id, title, status, agent_config) "
                    "VALUES ($1, $2, 'Order', 'SUBMITTED', '{\"name\":\"Agent\"}')",
                    id, std::string(org));
      orders.push_back({org, id});
    }
    t.commit();
  }
  std::map<std::string, bool> order_crosses;  // event id -> names another organisation's order
  std::set<std::string> own_orders;           // submitted by their own organisation
  int order_crossing = 0;
  for (int i = 0; i < kOrderEvents; ++i) {
    const std::string org = rng() % 2 ? "org_a" : "org_c";
    const Flow& o = orders[rng() % orders.size()];
    const std::string id = "iso-order-" + std::to_string(i);
    order_crosses[id] = o.org != org;
    if (order_crosses[id]) ++order_crossing;
    else own_orders.insert(o.id);
    producer.Produce("hub.order.submitted", o.id, worker::MakeOrderSubmitted(id, org, o.id),
                     {{"content-type", "application/cloudevents+json"}});
  }
  producer.Flush();
  std::cout << "order events: " << kOrderEvents << ", naming another organisation's order: " << order_crossing << "\n";
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        return Count("SELECT count(*) FROM processed_events WHERE topic = 'hub.order.submitted'") ==
               kOrderEvents - order_crossing;
      },
      60s))
      << worker->StderrText();
  ASSERT_TRUE(dead.PollUntil([&](const auto& ms) { return ms.size() >= static_cast<size_t>(crossing + order_crossing); },
                             60s))
      << worker->StderrText();
  std::map<std::string, std::string> order_letter;
  for (const auto& m : dead.messages())
    for (const auto& [k, v] : m.headers)
      if (k == "hub-error-class" && m.key.rfind("ord_", 0) == 0) order_letter[JsonString(m.value, nullptr, "id")] = v;
  EXPECT_EQ(order_letter.size(), static_cast<size_t>(order_crossing));
  for (const auto& [id, cross] : order_crosses) {
    if (cross) EXPECT_EQ(order_letter[id], "not_found") << id;
    else EXPECT_EQ(order_letter.count(id), 0u) << id;
  }
  // Built exactly the orders their own organisation submitted, each with its
  // agent, milestones and log lines in its own organisation.
  EXPECT_EQ(Count("SELECT count(*) FROM custom_agent_orders WHERE status = 'COMPLETED'"),
            static_cast<int64_t>(own_orders.size()));
  for (const auto& o : orders)
    EXPECT_EQ(q.exec_params1("SELECT status::text FROM custom_agent_orders WHERE id = $1", o.id)[0].as<std::string>(),
              own_orders.count(o.id) ? "COMPLETED" : "SUBMITTED")
        << o.id;
  EXPECT_EQ(Count("SELECT count(*) FROM custom_agent_orders o JOIN ai_agents a ON a.id = o.agent_id "
                  "WHERE a.organization_id <> o.organization_id"),
            0);
  EXPECT_EQ(Count("SELECT count(*) FROM ai_agents WHERE name = 'Agent'"), static_cast<int64_t>(own_orders.size()));
  EXPECT_EQ(Count("SELECT count(*) FROM build_logs l JOIN custom_agent_orders o ON o.id = l.order_id "
                  "WHERE l.organization_id <> o.organization_id"),
            0);
  EXPECT_EQ(Count("SELECT count(*) FROM order_milestones m JOIN custom_agent_orders o ON o.id = m.order_id "
                  "WHERE m.organization_id <> o.organization_id OR o.status <> 'COMPLETED'"),
            0);

  // The replay tool runs outside the consume path and must set the tenant as
  // the worker does: reprocessing every event (as the worker's role) again
  // writes only into the sender's organisation, and the crossing events again
  // end as dead letters that touch nothing.
  ChildProcess replay(HUB_BINARY, {"replay", "--reprocess", "--since", "2000-01-01T00:00:00Z", "--output", "json"},
                      {{"HUB_DATABASE_URL", db_->url()},
                       {"HUB_KAFKA_BROKERS", broker_->bootstrap()},
                       {"HUB_LOG_LEVEL", "warn"},
                       {"HUB_HTTP_ALLOWLIST", "127.0.0.1"}});
  const auto rc = replay.WaitExit(300s);
  ASSERT_TRUE(rc.has_value()) << replay.StderrText();
  ASSERT_EQ(*rc, 0) << replay.StderrText() << replay.StdoutText().substr(0, 2000);
  rapidjson::Document summary;
  summary.Parse(replay.StdoutText().c_str());
  ASSERT_FALSE(summary.HasParseError()) << replay.StdoutText().substr(0, 2000);
  const auto verdicts = [&](const char* v) {
    return summary["summary"].HasMember(v) ? summary["summary"][v].GetInt64() : 0;
  };
  EXPECT_EQ(verdicts("reprocessed"), kEvents - crossing) << replay.StdoutText().substr(0, 2000);
  EXPECT_EQ(verdicts("dead-letter"), crossing) << replay.StdoutText().substr(0, 2000);
  // The replays that wait or call are finished by the running worker's step runner.
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        return Count("SELECT count(*) FROM workflow_executions WHERE replay_of IS NOT NULL AND status = 'COMPLETED'") ==
               kEvents - crossing;
      },
      120s, 50ms))
      << worker->StderrText() << Progress();
  for (const auto& row : q.exec("SELECT trigger_event_id, organization_id FROM workflow_executions")) {
    const std::string id = row[0].as<std::string>();
    ASSERT_EQ(sender.count(id), 1u) << id;
    EXPECT_FALSE(crosses[id]) << id;
    EXPECT_EQ(row[1].as<std::string>(), sender[id]) << id;
  }
  EXPECT_EQ(Count("SELECT count(*) FROM workflow_executions"), 2 * (kEvents - crossing));
  EXPECT_EQ(Count("SELECT count(*) FROM workflow_executions r JOIN workflow_executions o ON o.id = r.replay_of "
                  "WHERE r.organization_id <> o.organization_id"),
            0);
  EXPECT_EQ(Count("SELECT count(*) FROM notifications n JOIN users u ON u.id = n.user_id "
                  "WHERE n.organization_id IS DISTINCT FROM u.organization_id"),
            0);
  EXPECT_EQ(Count("SELECT count(*) FROM notifications"), 2 * (kEvents - crossing));
  EXPECT_TRUE(testing::WaitFor([&] { return Count("SELECT count(*) FROM execution_steps") == 0; }, 30s));

  // Webhooks: each organisation's gateway events name integrations of either
  // organisation; each integration has a listening workflow in its own one.
  const std::string slack_secret = "isolation-signing-secret";
  {
    const auto ring = common::SecretKeyring::FromBase64(kSecretKey, {});
    pqxx::connection oc(db_->admin_url());
    pqxx::work t(oc);
    for (const char* org : {"org_a", "org_c"}) {
      const std::string o = org;
      t.exec_params("INSERT INTO integrations (id, organization_id, name, provider, credentials, status) VALUES "
                    "($1, $2, 'Slack', 'slack', $3::jsonb, 'CONNECTED')",
                    "int_" + o, o, R"({"signingSecret":")" + ring.Encrypt(slack_secret) + R"("})");
      t.exec_params("INSERT INTO automation_workflows (id, organization_id, name, nodes, edges) VALUES ($1, $2, "
                    "'On Slack', $3::jsonb, '[]')",
                    "wf_hook_" + o, o,
                    R"([{"id":"trigger","type":"trigger","data":{"integrationId":"int_)" + o + R"("}}])");
    }
    t.commit();
  }
  constexpr int kHookEvents = 40;
  std::map<std::string, bool> hook_crosses;
  std::map<std::string, std::string> hook_sender;
  int hook_crossing = 0;
  const int64_t now_s = std::time(nullptr);
  for (int i = 0; i < kHookEvents; ++i) {
    const std::string org = rng() % 2 ? "org_a" : "org_c";
    const std::string target = rng() % 2 ? "org_a" : "org_c";
    const std::string id = "iso-hook-" + std::to_string(i), ts = std::to_string(now_s);
    const std::string body = R"({"text":"message )" + std::to_string(i) + R"("})";
    hook_crosses[id] = target != org;
    hook_sender[id] = org;
    if (hook_crosses[id]) ++hook_crossing;
    std::string e = R"({"specversion":"1.0","id":")" + id +
                    R"(","source":"urn:gateway","type":"integration.webhook","time":"2026-12-04T10:00:00Z","data":)"
                    R"({"organizationId":")" + org + R"(","integrationId":"int_)" + target +
                    R"(","eventType":"message","headers":{"X-Slack-Request-Timestamp":")" + ts +
                    R"(","X-Slack-Signature":"v0=)" + engine::HmacSha256Hex(slack_secret, "v0:" + ts + ":" + body) +
                    R"("},"body":)";
    common::AppendJsonString(e, body);
    producer.Produce("hub.integration.webhook", "int_" + target, e + "}}",
                     {{"content-type", "application/cloudevents+json"}});
  }
  producer.Flush();
  std::cout << "webhook events: " << kHookEvents << ", naming another organisation's integration: " << hook_crossing
            << "\n";
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        return Count("SELECT count(*) FROM workflow_executions WHERE workflow_id LIKE 'wf_hook_%' "
                     "AND status = 'COMPLETED'") == kHookEvents - hook_crossing;
      },
      60s))
      << worker->StderrText();
  ASSERT_TRUE(dead.PollUntil(
      [&](const auto& ms) { return ms.size() >= static_cast<size_t>(crossing + order_crossing + hook_crossing); },
      60s))
      << worker->StderrText();
  std::map<std::string, std::string> hook_letter;
  for (const auto& m : dead.messages())
    for (const auto& [k, v] : m.headers)
      if (k == "hub-error-class" && m.key.rfind("int_", 0) == 0) hook_letter[JsonString(m.value, nullptr, "id")] = v;
  EXPECT_EQ(hook_letter.size(), static_cast<size_t>(hook_crossing));
  for (const auto& [id, cross] : hook_crosses) {
    if (cross) EXPECT_EQ(hook_letter[id], "not_found") << id;
    else EXPECT_EQ(hook_letter.count(id), 0u) << id;
  }
  // Operations, accepted signatures and triggered runs: in the sender's own
  // organisation, on its own integration and workflow only.
  EXPECT_EQ(Count("SELECT count(*) FROM integration_operations"), kHookEvents - hook_crossing);
  EXPECT_EQ(Count("SELECT count(*) FROM integration_operations WHERE 'int_' || organization_id <> integration_id"), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM webhook_signatures WHERE 'int_' || organization_id <> integration_id"), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM workflow_executions WHERE workflow_id LIKE 'wf_hook_%' "
                  "AND 'wf_hook_' || organization_id <> workflow_id"),
            0);
  StopWorker(*worker);
}

}  // namespace
}  // namespace hub
