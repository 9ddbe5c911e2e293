// http_request steps through `hubworker run` and a stub service on
// 127.0.0.1: a worker killed while its call waits on a slow answer; the next
// worker takes the step over once the lease has passed, calls again once with
// the same Idempotency-Key, and the execution completes.
#include <gtest/gtest.h>
#include <signal.h>

#include "tests/support/http_stub.hpp"
#include "tests/support/pipeline_fixture.hpp"

namespace hub {
namespace {
using namespace std::chrono_literals;
using testing::HttpStub;
using testing::TestConsumer;
using testing::TestProducer;

class HttpStepsTest : public testing::PipelineFixture {};

TEST_F(HttpStepsTest, AKilledWorkersCallIsRepeatedOnceWithTheSameKeyAndTheExecutionCompletes) {
  std::atomic<int> calls{0};
  HttpStub stub([&](const HttpStub::Request&) {
    const int n = ++calls;
    return HttpStub::Response{200, {{"Content-Type", "application/json"}}, R"({"greeting":"hi"})", n == 1 ? 8000 : 0};
  });
  testing::SetWorkflowDefinition(db_->admin_url(), workflows_[0],
                  R"([{"id":"t","type":"trigger"},
                      {"id":"call","type":"http_request","data":{"url":")" + stub.url("/slow") + R"(","timeoutMs":9000}},
                      {"id":"n","type":"notification","data":{"userId":"user_a","title":"t",
                       "message":"{{nodes.call.output.body.greeting}} {{input.name}}"}}])",
                  R"([{"source":"t","target":"call"},{"source":"call","target":"n"}])");
  const std::map<std::string, std::string> env = {{"HUB_HTTP_ALLOWLIST", "127.0.0.1"}, {"HUB_STEP_LEASE_MS", "10000"}};
  auto worker = StartWorker(env);
  TestConsumer completions(broker_->bootstrap(), "hub.workflow.completed");
  TestProducer producer(broker_->bootstrap());
  producer.Produce("hub.workflow.triggered", workflows_[0],
                   worker::MakeWorkflowTriggered("call-1", "org_a", workflows_[0], "Ada"),
                   {{"content-type", "application/cloudevents+json"}});
  producer.Flush();
  ASSERT_TRUE(testing::WaitFor([&] { return stub.requests().size() == 1; }, 60s, 20ms)) << worker->StderrText();
  worker->Signal(SIGKILL);  // while the stub takes its time to answer
  ASSERT_TRUE(worker->WaitExit(10s).has_value());

  auto next = StartWorker(env);
  ASSERT_TRUE(WaitDistinctCompletions(completions, 1, 90s)) << next->StderrText() << Progress();
  EXPECT_EQ(testing::JsonString(completions.messages().at(0).value, "data", "status"), "COMPLETED");
  EXPECT_EQ(Count("SELECT count(*) FROM notifications WHERE message = 'hi Ada'"), 1);
  const auto seen = stub.requests();
  ASSERT_EQ(seen.size(), 2u);  // the interrupted call, repeated once
  EXPECT_EQ(seen[0].headers.at("idempotency-key"), seen[1].headers.at("idempotency-key"));
  EXPECT_EQ(Count("SELECT count(*) FROM execution_steps"), 0);
  StopWorker(*next);
}

}  // namespace
}  // namespace hub
