// Durable delays through `hubworker run`: an execution parked at a delay
// survives the worker (kill -9) and is finished by the next one; with three
// workers every parked execution is resumed by exactly one of them.
#include <gtest/gtest.h>
#include <signal.h>

#include <set>

#include "tests/support/pipeline_fixture.hpp"

namespace hub {
namespace {
using namespace std::chrono_literals;
using testing::ChildProcess;
using testing::TestConsumer;
using testing::TestProducer;

class DurableDelayTest : public testing::PipelineFixture {
 protected:
  // workflows_[0..n): trigger -> greet -> wait `ms` -> notify.
  void MakeDelayWorkflows(int n, int ms) {
    for (int i = 0; i < n; ++i)
      testing::SetWorkflowDefinition(
          db_->admin_url(), workflows_[i],
          R"([{"id":"t","type":"trigger"},{"id":"greet","type":"transform","data":{"fields":{"g":"hi {{input.name}}"}}},
              {"id":"wait","type":"delay","data":{"ms":)" + std::to_string(ms) + R"(}},
              {"id":"n","type":"notification","data":{"userId":"user_a","title":"t","message":"{{output.g}}"}}])",
          R"([{"source":"t","target":"greet"},{"source":"greet","target":"wait"},{"source":"wait","target":"n"}])");
  }
};

TEST_F(DurableDelayTest, ADelayCompletesAfterTheWorkerWasKilledWhileItWaited) {
  MakeDelayWorkflows(1, 3000);
  auto worker = StartWorker();
  TestConsumer completions(broker_->bootstrap(), "hub.workflow.completed");
  TestProducer producer(broker_->bootstrap());
  producer.Produce("hub.workflow.triggered", workflows_[0],
                   worker::MakeWorkflowTriggered("wait-1", "org_a", workflows_[0], "Ada"),
                   {{"content-type", "application/cloudevents+json"}});
  producer.Flush();
  ASSERT_TRUE(testing::WaitFor([&] { return Count("SELECT count(*) FROM execution_steps") == 1; }, 60s, 20ms))
      << worker->StderrText() << Progress();
  EXPECT_EQ(Count("SELECT count(*) FROM workflow_executions WHERE status = 'RUNNING' AND next_node = 'wait'"), 1);
  worker->Signal(SIGKILL);
  ASSERT_TRUE(worker->WaitExit(10s).has_value());

  auto next = StartWorker();
  ASSERT_TRUE(WaitDistinctCompletions(completions, 1, 60s)) << next->StderrText() << Progress();
  EXPECT_EQ(testing::JsonString(completions.messages().at(0).value, "data", "status"), "COMPLETED");
  EXPECT_EQ(Count("SELECT count(*) FROM workflow_executions WHERE status = 'COMPLETED' AND nodes_executed = 4 "
                  "AND duration >= 3000"),
            1);
  EXPECT_EQ(Count("SELECT count(*) FROM notifications WHERE message = 'hi Ada'"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM execution_steps"), 0);
  StopWorker(*next);
}

TEST_F(DurableDelayTest, WithThreeWorkersEachParkedExecutionIsResumedByExactlyOne) {
  MakeDelayWorkflows(20, 1500);
  std::vector<std::unique_ptr<ChildProcess>> workers;
  for (int i = 0; i < 3; ++i) workers.push_back(StartWorker());
  TestConsumer completions(broker_->bootstrap(), "hub.workflow.completed");
  TestProducer producer(broker_->bootstrap());
  for (int i = 0; i < 200; ++i) {
    const std::string& wf = workflows_[static_cast<size_t>(i) % 20];
    producer.Produce("hub.workflow.triggered", wf,
                     worker::MakeWorkflowTriggered("many-" + std::to_string(i), "org_a", wf, "n" + std::to_string(i)),
                     {{"content-type", "application/cloudevents+json"}});
  }
  producer.Flush();
  ASSERT_TRUE(WaitDistinctCompletions(completions, 200, 120s)) << workers[0]->StderrText() << Progress();
  EXPECT_EQ(Count("SELECT count(*) FROM workflow_executions WHERE status = 'COMPLETED' AND nodes_executed = 4"), 200);
  EXPECT_EQ(Count("SELECT count(*) FROM notifications"), 200);
  EXPECT_EQ(Count("SELECT count(*) FROM execution_steps"), 0);
  // Each completion once (a second resume would have sent a second one).
  EXPECT_TRUE(WaitOutboxEmpty(30s));
  EXPECT_FALSE(completions.PollUntil([](const auto& ms) { return ms.size() > 200; }, 2s))
      << completions.messages().size() << " completion events";
  for (auto& w : workers) StopWorker(*w);
}

}  // namespace
}  // namespace hub
