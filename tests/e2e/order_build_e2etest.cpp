// Custom agent orders end to end: `order.submitted` events through
// `hubworker run` build the order (milestones, build logs, the provisioned
// agent, the order's status) and emit `order.milestone` and
// `order.completed`; a configuration that cannot make an agent rejects the
// order; repeated and stale submissions change nothing; another tenant's or a
// missing order is a `not_found` dead letter.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "tests/support/pipeline_fixture.hpp"
#include "worker/seed.hpp"

namespace hub {
namespace {
using namespace std::chrono_literals;
using testing::JsonString;
using testing::TestConsumer;
using testing::TestProducer;

class OrderBuildTest : public testing::PipelineFixture {
 protected:
  void InsertOrder(const std::string& org, const std::string& id, const std::string& status,
                   const std::string& agent_config) {
    pqxx::connection c(db_->owner_url());
    pqxx::work t(c);
    t.exec_params("SELECT set_config('app.organization_id', $1, true)", org);
    t.exec_params("INSERT INTO custom_agent_orders (id, organization_id, title, status, agent_config, created_by) "
                  "VALUES ($1, $2, 'Lead qualifier', $3::order_status, $4::jsonb, $5)",
                  id, org, status, agent_config, org == "org_a" ? "user_a" : "user_b");
    t.commit();
  }

  std::string Scalar(const std::string& sql) {
    pqxx::connection c(db_->admin_url());
    pqxx::nontransaction q(c);
    auto r = q.exec(sql);
    return r.empty() || r[0][0].is_null() ? "" : r[0][0].as<std::string>();
  }
};

TEST_F(OrderBuildTest, SubmittedOrdersAreBuiltOnceRejectedWithTheReasonOrLeftAsTheyAre) {
  InsertOrder("org_a", "o_good", "SUBMITTED",
              R"({"name":"Qualifier","model_config":{"provider":"local","model":"local"},"capabilities":["score"]})");
  InsertOrder("org_a", "o_bad", "SUBMITTED", R"({"model_config":{"provider":"skynet"}})");
  InsertOrder("org_a", "o_draft", "DRAFT", "{}");
  InsertOrder("org_b", "o_theirs", "SUBMITTED", "{}");

  auto worker = StartWorker();
  TestConsumer milestones(broker_->bootstrap(), "hub.order.milestone");
  TestConsumer completed(broker_->bootstrap(), "hub.order.completed");
  TestConsumer dead(broker_->bootstrap(), "hub.deadletter");
  TestProducer producer(broker_->bootstrap());
  const auto submit = [&](const std::string& event_id, const std::string& org, const std::string& order) {
    producer.Produce("hub.order.submitted", order, worker::MakeOrderSubmitted(event_id, org, order),
                     {{"content-type", "application/cloudevents+json"}});
  };
  submit("s1", "org_a", "o_good");
  submit("s1", "org_a", "o_good");  // the same event again: deduplicated
  submit("s2", "org_a", "o_good");  // another submission of a built order: a warning, nothing else
  submit("s3", "org_a", "o_bad");
  submit("s4", "org_a", "o_draft");
  submit("s5", "org_a", "o_missing");
  submit("s6", "org_a", "o_theirs");  // org_b's order, named by org_a
  producer.Flush();

  ASSERT_TRUE(completed.PollUntil([](const auto& ms) { return ms.size() >= 2; }, 60s)) << worker->StderrText();
  ASSERT_TRUE(milestones.PollUntil([](const auto& ms) { return ms.size() >= 4; }, 30s)) << worker->StderrText();
  ASSERT_TRUE(dead.PollUntil([](const auto& ms) { return ms.size() >= 2; }, 30s)) << worker->StderrText();
  ASSERT_TRUE(testing::WaitFor(
      [&] { return Count("SELECT count(*) FROM processed_events WHERE topic = 'hub.order.submitted'") == 4; }, 30s))
      << worker->StderrText();
  ASSERT_TRUE(WaitOutboxEmpty(30s));

  // The built order: four milestones in order, then its completion naming the agent.
  std::map<std::string, std::string> status_of, agent_of, error_of;
  for (const auto& m : completed.messages()) {
    const std::string order = JsonString(m.value, "data", "orderId");
    EXPECT_EQ(m.key, order);
    EXPECT_EQ(status_of.count(order), 0u) << "a second completion for " << order;
    status_of[order] = JsonString(m.value, "data", "status");
    agent_of[order] = JsonString(m.value, "data", "agentId");
    error_of[order] = JsonString(m.value, "data", "error");
  }
  EXPECT_EQ(status_of, (std::map<std::string, std::string>{{"o_good", "COMPLETED"}, {"o_bad", "REJECTED"}}));
  EXPECT_NE(agent_of["o_good"], "");
  EXPECT_NE(error_of["o_bad"].find("provider must be one of local, openai, anthropic"), std::string::npos)
      << error_of["o_bad"];
  ASSERT_EQ(milestones.messages().size(), 4u);
  int last_progress = 0;
  for (const auto& m : milestones.messages()) {
    EXPECT_EQ(m.key, "o_good");
    rapidjson::Document d;
    d.Parse(m.value.c_str());
    ASSERT_FALSE(d.HasParseError());
    EXPECT_GT(d["data"]["progress"].GetInt(), last_progress) << "milestones out of order";
    last_progress = d["data"]["progress"].GetInt();
  }
  EXPECT_EQ(last_progress, 100);

  // Rows: the order, its milestones and logs, and the agent, in org_a only.
  EXPECT_EQ(Scalar("SELECT status || ' ' || progress || ' ' || agent_id FROM custom_agent_orders WHERE id = 'o_good'"),
            "COMPLETED 100 " + agent_of["o_good"]);
  EXPECT_EQ(Scalar("SELECT organization_id || ' ' || name || ' ' || array_to_string(capabilities, ',') || ' ' || "
                   "(model_config->>'provider') FROM ai_agents WHERE id = '" + agent_of["o_good"] + "'"),
            "org_a Qualifier score local");
  EXPECT_EQ(Count("SELECT count(*) FROM order_milestones WHERE order_id = 'o_good' AND completed"), 4);
  EXPECT_EQ(Count("SELECT count(*) FROM build_logs WHERE order_id = 'o_good' AND level = 'INFO'"), 4);
  EXPECT_EQ(Count("SELECT count(*) FROM build_logs WHERE order_id = 'o_good' AND level = 'WARN' "
                  "AND message LIKE '%the order is COMPLETED, not SUBMITTED%'"),
            1);
  EXPECT_EQ(Scalar("SELECT status || ': ' || error FROM custom_agent_orders WHERE id = 'o_bad'"),
            "REJECTED: " + error_of["o_bad"]);
  EXPECT_EQ(Count("SELECT count(*) FROM build_logs WHERE order_id = 'o_bad' AND level = 'ERROR'"), 1);
  EXPECT_EQ(Scalar("SELECT status FROM custom_agent_orders WHERE id = 'o_draft'"), "DRAFT");
  EXPECT_EQ(Count("SELECT count(*) FROM build_logs WHERE order_id = 'o_draft' AND level = 'WARN'"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM ai_agents WHERE name = 'Qualifier'"), 1);
  // org_b's order was not touched by org_a's event.
  EXPECT_EQ(Scalar("SELECT status FROM custom_agent_orders WHERE id = 'o_theirs'"), "SUBMITTED");
  EXPECT_EQ(Count("SELECT count(*) FROM build_logs WHERE order_id = 'o_theirs'"), 0);

  // Dead letters: the missing order and the other tenant's, both not_found.
  std::map<std::string, std::string> letters;
  for (const auto& m : dead.messages())
    for (const auto& [k, v] : m.headers)
      if (k == "hub-error-class") letters[m.key] = v;
  EXPECT_EQ(letters, (std::map<std::string, std::string>{{"o_missing", "not_found"}, {"o_theirs", "not_found"}}));
  // One log line per submission.
  const std::string log = worker->StderrText();
  EXPECT_NE(log.find(R"("msg":"order built","order":"o_good")"), std::string::npos) << log;
  EXPECT_NE(log.find(R"("msg":"order rejected","order":"o_bad")"), std::string::npos) << log;
  EXPECT_NE(log.find(R"("order":"o_draft","organization":"org_a","status":"DRAFT")"), std::string::npos) << log;
  StopWorker(*worker);

  // A dry-run replay of the order events (as the worker's role): the real
  // handler in rolled-back transactions, nothing written.
  const int64_t logs_before = Count("SELECT count(*) FROM build_logs");
  testing::ChildProcess replay(HUB_BINARY,
                               {"replay", "--topic", "order.submitted", "--since", "2000-01-01T00:00:00Z", "--output",
                                "json"},
                               {{"HUB_DATABASE_URL", db_->url()},
                                {"HUB_KAFKA_BROKERS", broker_->bootstrap()},
                                {"HUB_LOG_LEVEL", "warn"}});
  const auto rc = replay.WaitExit(120s);
  ASSERT_TRUE(rc.has_value()) << replay.StderrText();
  EXPECT_EQ(*rc, 0) << replay.StderrText();
  rapidjson::Document d;
  d.Parse(replay.StdoutText().c_str());
  ASSERT_FALSE(d.HasParseError()) << replay.StdoutText().substr(0, 2000);
  EXPECT_EQ(d["summary"]["read"].GetInt64(), 7) << replay.StdoutText().substr(0, 2000);
  EXPECT_EQ(d["summary"]["not-compared"].GetInt64(), 5) << replay.StdoutText().substr(0, 2000);
  EXPECT_EQ(d["summary"]["dead-letter"].GetInt64(), 2) << replay.StdoutText().substr(0, 2000);
  EXPECT_EQ(Count("SELECT count(*) FROM build_logs"), logs_before);
  EXPECT_EQ(Scalar("SELECT status FROM custom_agent_orders WHERE id = 'o_bad'"), "REJECTED");
}

}  // namespace
}  // namespace hub
