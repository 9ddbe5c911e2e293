// `hubworker demo` against a running worker: the newcomer's first look must
// show executions (two of them parked at a delay, then an AI agent, and
// finished later), a
// cancelled one and dead letters, not only dead letters.
#include <gtest/gtest.h>

#include "tests/support/http_stub.hpp"
#include "tests/support/pipeline_fixture.hpp"

namespace hub {
namespace {
using namespace std::chrono_literals;
using testing::ChildProcess;
using testing::TestConsumer;

class DemoTest : public testing::PipelineFixture {};

TEST_F(DemoTest, PublishesEventsTheWorkerRunsAndTwoItDeadLetters) {
  testing::HttpStub endpoint([](const testing::HttpStub::Request&) {
    return testing::HttpStub::Response{200, {{"Content-Type", "application/json"}}, R"({"ok":true})"};
  });
  auto worker = StartWorker({{"HUB_HTTP_ALLOWLIST", "127.0.0.1"}});
  TestConsumer dead(broker_->bootstrap(), "hub.deadletter");
  ChildProcess demo(HUB_BINARY, {"demo", "--events", "5", "--endpoint", endpoint.url("/customer")},
                    {{"HUB_DATABASE_URL", db_->owner_url()}, {"HUB_KAFKA_BROKERS", broker_->bootstrap()}});  // seeding: the owner
  const auto rc = demo.WaitExit(60s);
  ASSERT_TRUE(rc.has_value()) << demo.StderrText();
  ASSERT_EQ(*rc, 0) << demo.StderrText();
  EXPECT_NE(demo.StdoutText().find("Published 13/13 events to hub.workflow.triggered, hub.order.submitted"),
            std::string::npos)
      << demo.StdoutText();

  const std::string executions = "SELECT count(*) FROM workflow_executions WHERE organization_id = 'org_demo'";
  ASSERT_TRUE(testing::WaitFor([&] { return Count(executions + " AND status <> 'RUNNING'") == 10; }, 60s, 50ms))
      << worker->StderrText() << Progress();
  EXPECT_EQ(Count(executions + " AND status = 'COMPLETED'"), 9);  // 5 greetings, 2 after a delay, 2 calls
  // The calling workflow: lookup, pause, the condition, the branch taken, the notification; one SKIPPED.
  EXPECT_EQ(Count(executions + " AND workflow_id = 'wf_org_demo_call' AND nodes_executed = 6 "
                               "AND logs @> '[{\"nodeId\":\"hello\",\"status\":\"SKIPPED\"}]'"),
            2);
  EXPECT_EQ(endpoint.requests().size(), 2u);
  // The waiting workflow: greet, pause, the support agent (the local
  // provider: no model endpoint is set), the notification with its text.
  EXPECT_EQ(Count(executions + " AND workflow_id = 'wf_org_demo_wait' AND nodes_executed = 5 AND tokens_used > 0"), 2);
  EXPECT_EQ(Count("SELECT count(*) FROM notifications WHERE organization_id = 'org_demo' "
                  "AND message LIKE 'hello %, after a pause. [local %] Write one friendly line welcoming %'"),
            2);
  EXPECT_EQ(Count(executions + " AND status = 'CANCELLED'"), 1);
  ASSERT_TRUE(dead.PollUntil([](const auto& ms) { return ms.size() >= 2; }, 30s)) << worker->StderrText();
  std::multiset<std::string> classes;
  for (const auto& m : dead.messages())
    for (const auto& [k, v] : m.headers)
      if (k == "hub-error-class") classes.insert(v);
  EXPECT_EQ(classes, (std::multiset<std::string>{"not_found", "schema"}));
  // The demo order: built, its agent provisioned.
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        return Count("SELECT count(*) FROM custom_agent_orders o JOIN ai_agents a ON a.id = o.agent_id "
                     "WHERE o.id = 'order_org_demo' AND o.status = 'COMPLETED' AND a.name = 'Lead qualifier'") == 1;
      },
      30s))
      << worker->StderrText();
  StopWorker(*worker);
}

}  // namespace
}  // namespace hub
