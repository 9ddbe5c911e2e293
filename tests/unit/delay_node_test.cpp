// `delay` nodes: an execution parks with the node to resume at and when, and
// resumes from what it had produced.  Time comes from the trigger input (the
// worker's clock), so nothing here waits.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "common/ids.hpp"
#include "engine/workflow.hpp"

namespace hub::engine {
namespace {

constexpr int64_t kNow = 1'800'000'000'000'000;  // 2027-01-15T08:00:00Z

std::shared_ptr<const CompiledWorkflow> DelayWorkflow(const std::string& delay_data) {
  return CompileWorkflow(
      "wf", "Wait", "org", true, "t",
      R"([{"id":"t","type":"trigger"},
          {"id":"before","type":"transform","data":{"fields":{"a":"hello {{input.name}}"}}},
          {"id":"wait","type":"delay","data":)" + delay_data + R"(},
          {"id":"after","type":"transform","data":{"fields":{"b":"{{output.a}}!"}}},
          {"id":"n","type":"notification","data":{"userId":"u1","title":"done","message":"{{output.b}}"}}])",
      R"([{"source":"t","target":"before"},{"source":"before","target":"wait"},{"source":"wait","target":"after"},
          {"source":"after","target":"n"}])",
      "");
}

ResumePoint PointOf(const ExecutionResult& parked) {
  ResumePoint p;
  p.node_id = parked.parked.at(0).node_id;
  p.output_json = parked.output_json;
  p.logs_json = parked.logs_json;
  p.nodes_executed = parked.nodes_executed;
  p.waited_until_us = parked.parked.at(0).due_us;
  p.nodes_json = parked.nodes_json;
  return p;
}

struct Exec {
  rapidjson::Document event;
  ExecutionResult result;
  explicit Exec(const CompiledWorkflow& wf, const ResumePoint* resume = nullptr, int64_t now = kNow) {
    event.Parse(R"({"id":"e1","data":{"input":{"name":"Ada","when":"2027-01-15T09:00:00Z"}}})");
    RunWorkflow(wf, TriggerInput{&event, &event["data"]["input"], "exec-1", now}, ExecutionLimits{}, result, resume);
  }
};

TEST(DelayNode, ParksTheExecutionWithTheNodeAndTheTimeToResume) {
  auto wf = DelayWorkflow(R"({"ms":5000})");
  ASSERT_TRUE(wf->compile_error.empty()) << wf->compile_error;
  Exec r(*wf);
  EXPECT_EQ(r.result.status, ExecutionStatus::kRunning);
  EXPECT_STREQ(ToString(r.result.status), "RUNNING");
  ASSERT_EQ(r.result.parked.size(), 1u);
  EXPECT_EQ(r.result.parked[0].node_id, "wait");
  EXPECT_EQ(r.result.waiting_at, "wait");
  EXPECT_EQ(r.result.parked.at(0).due_us, kNow + 5'000'000);
  EXPECT_EQ(r.result.output_json, R"({"a":"hello Ada"})");
  EXPECT_EQ(r.result.nodes_executed, 2);
  EXPECT_TRUE(r.result.notifications.empty());
  rapidjson::Document logs;
  logs.Parse(r.result.logs_json.c_str());
  ASSERT_TRUE(logs.IsArray());
  EXPECT_EQ(logs.Size(), 2u);
}

TEST(DelayNode, ResumesFromWhatItHadProducedAndFinishes) {
  auto wf = DelayWorkflow(R"({"ms":5000})");
  Exec parked(*wf);
  const ResumePoint point = PointOf(parked.result);
  Exec resumed(*wf, &point, kNow + 6'000'000);
  EXPECT_EQ(resumed.result.status, ExecutionStatus::kCompleted) << resumed.result.error;
  EXPECT_EQ(resumed.result.output_json, R"({"a":"hello Ada","b":"hello Ada!"})");
  EXPECT_EQ(resumed.result.nodes_executed, 5);
  ASSERT_EQ(resumed.result.notifications.size(), 1u);
  EXPECT_EQ(resumed.result.notifications[0].message, "hello Ada!");
  rapidjson::Document logs;
  logs.Parse(resumed.result.logs_json.c_str());
  ASSERT_TRUE(logs.IsArray()) << resumed.result.logs_json;
  ASSERT_EQ(logs.Size(), 5u);
  EXPECT_STREQ(logs[2]["nodeId"].GetString(), "wait");
  EXPECT_STREQ(logs[2]["status"].GetString(), "COMPLETED");
  EXPECT_EQ(std::string(logs[2]["until"].GetString()), common::FormatRfc3339(kNow + 5'000'000));
}

TEST(DelayNode, UntilIsATemplateAndATimeAlreadyPastDoesNotPark) {
  auto future = DelayWorkflow(R"({"until":"{{input.when}}"})");
  Exec r(*future);
  EXPECT_EQ(r.result.status, ExecutionStatus::kRunning);
  int64_t when = 0;
  ASSERT_TRUE(common::ParseRfc3339("2027-01-15T09:00:00Z", when));
  EXPECT_EQ(r.result.parked.at(0).due_us, when);
  auto past = DelayWorkflow(R"({"until":"2020-01-01T00:00:00Z"})");
  Exec p(*past);
  EXPECT_EQ(p.result.status, ExecutionStatus::kCompleted) << p.result.error;
  auto zero = DelayWorkflow(R"({"ms":0})");
  EXPECT_EQ(Exec(*zero).result.status, ExecutionStatus::kCompleted);
}

TEST(DelayNode, BadDelaysFailTheExecutionWithTheReason) {
  EXPECT_NE(DelayWorkflow(R"({"ms":-1})")->compile_error.find("data.ms must be an integer"), std::string::npos);
  EXPECT_NE(DelayWorkflow(R"({})")->compile_error.find("needs data.ms"), std::string::npos);
  auto bad = DelayWorkflow(R"({"until":"{{input.name}}"})");
  Exec r(*bad);
  EXPECT_EQ(r.result.status, ExecutionStatus::kFailed);
  EXPECT_NE(r.result.error.find("until rendered \"Ada\", which is not an RFC 3339 time"), std::string::npos)
      << r.result.error;
  auto far = DelayWorkflow(R"({"until":"2099-01-01T00:00:00Z"})");
  Exec f(*far);
  EXPECT_EQ(f.result.status, ExecutionStatus::kFailed);
  EXPECT_NE(f.result.error.find("days away"), std::string::npos) << f.result.error;
}

TEST(DelayNode, AWorkflowChangedWhileWaitingFailsWithTheReason) {
  auto wf = DelayWorkflow(R"({"ms":5000})");
  Exec parked(*wf);
  ResumePoint gone = PointOf(parked.result);
  gone.node_id = "no-such-node";
  Exec r(*wf, &gone, kNow + 6'000'000);
  EXPECT_EQ(r.result.status, ExecutionStatus::kFailed);
  EXPECT_NE(r.result.error.find("changed while the execution waited"), std::string::npos) << r.result.error;
  rapidjson::Document logs;
  logs.Parse(r.result.logs_json.c_str());
  EXPECT_TRUE(logs.IsArray()) << r.result.logs_json;
}

}  // namespace
}  // namespace hub::engine
