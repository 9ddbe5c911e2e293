// Tenant isolation under a random mix (the seed is printed; HUB_TEST_SEED
// replays a run): two organisations each send workflow.triggered events
// naming workflows of their own and of the other organisation — greetings,
// and workflows that park at a delay or call out (resumed later by the step
// runner, outside the consume path).  An event naming another organisation's
// workflow must be a `not_found` dead letter that touched nothing; every
// other must run in its own organisation only: its execution, notification,
// workflow counter and completion event belong to the sender.  Then the
// replay tool reprocesses every event, with the same outcome.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <rapidjson/document.h>

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

  auto worker = StartWorker({{"HUB_HTTP_ALLOWLIST", "127.0.0.1"}});
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
  StopWorker(*worker);
}

}  // namespace
}  // namespace hub
