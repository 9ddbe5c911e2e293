// Replaying an execution without waiting or calling out: delays are over at
// once, calls take their recorded answers, a call without one is "not
// recorded"; and the node-by-node diff against what was recorded.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "engine/workflow.hpp"
#include "ops/execution_diff.hpp"
#include "ops/execution_replay.hpp"

namespace hub::ops {
namespace {

constexpr int64_t kStart = 1'800'000'000'000'000;

// trigger -> prep -> call (http_request) -> pause (delay 60 s) -> check
// (condition on the answer) -> yes (transform) | no (transform) -> tell (notification)
std::shared_ptr<const engine::CompiledWorkflow> Workflow(const std::string& yes_field = "{{nodes.call.output.body.greeting}} {{input.name}}") {
  return engine::CompileWorkflow(
      "wf", "Replay", "org", true, "t",
      R"([{"id":"t","type":"trigger"},
          {"id":"prep","type":"transform","data":{"fields":{"who":"{{input.name}}"}}},
          {"id":"call","type":"http_request","data":{"url":"https://api.example.com/u/{{input.name}}"}},
          {"id":"pause","type":"delay","data":{"ms":60000}},
          {"id":"check","type":"condition","data":{"conditions":[{"left":"{{nodes.call.output.status}}","op":"==","right":200}]}},
          {"id":"yes","type":"transform","data":{"fields":{"greeting":")" + yes_field + R"("}}},
          {"id":"no","type":"transform","data":{"fields":{"greeting":"sorry"}}},
          {"id":"tell","type":"notification","data":{"userId":"u1","title":"Hi","message":"{{output.greeting}}"}}])",
      R"([{"source":"t","target":"prep"},{"source":"prep","target":"call"},{"source":"call","target":"pause"},
          {"source":"pause","target":"check"},{"source":"check","target":"yes","sourceHandle":"true"},
          {"source":"check","target":"no","sourceHandle":"false"},{"source":"yes","target":"tell"},
          {"source":"no","target":"tell"}])",
      "");
}

rapidjson::Document Trigger() {
  rapidjson::Document d;
  d.Parse(R"({"id":"e1","source":"s","type":"workflow.triggered","data":{"organizationId":"org","workflowId":"wf","input":{"name":"Ada"}}})");
  return d;
}

RecordedCalls Answered(int status = 200) {
  RecordedCalls calls;
  calls.Add("call", 0,
            {"http_request", R"({"status":)" + std::to_string(status) + R"(,"headers":{},"body":{"greeting":"welcome"}})",
             "", 2});
  return calls;
}

TEST(ExecutionReplayTest, RunsThroughDelaysAndRecordedCallsToTheEnd) {
  auto wf = Workflow();
  ASSERT_TRUE(wf->compile_error.empty()) << wf->compile_error;
  const auto trigger = Trigger();
  const ReplayedExecution r = ReplayExecution(*wf, trigger, "exec-1", kStart, Answered(), engine::ExecutionLimits{});
  ASSERT_EQ(r.result.status, engine::ExecutionStatus::kCompleted) << r.result.error;
  EXPECT_EQ(r.segments, 3);  // parked at the call, then at the delay
  EXPECT_TRUE(r.not_recorded.empty());
  EXPECT_EQ(r.result.output_json, R"({"who":"Ada","greeting":"welcome Ada"})");
  ASSERT_EQ(r.notifications.size(), 1u);
  EXPECT_EQ(r.notifications[0].message, "welcome Ada");
  EXPECT_NE(r.result.logs_json.find(R"("nodeId":"no","type":"transform","status":"SKIPPED")"), std::string::npos)
      << r.result.logs_json;
  EXPECT_NE(r.result.logs_json.find(R"("attempts":2,"httpStatus":200)"), std::string::npos) << r.result.logs_json;
}

TEST(ExecutionReplayTest, ACallWithoutARecordedAnswerStopsTheReplayThereNamedNotRecorded) {
  auto wf = Workflow();
  const auto trigger = Trigger();
  const ReplayedExecution r = ReplayExecution(*wf, trigger, "exec-1", kStart, RecordedCalls{}, engine::ExecutionLimits{});
  EXPECT_EQ(r.result.status, engine::ExecutionStatus::kRunning);
  EXPECT_EQ(r.not_recorded, std::vector<std::string>{"call"});
  EXPECT_EQ(r.result.waiting_at, "call");
}

TEST(ExecutionReplayTest, ARecordedFailureFailsTheNodeAsItDid) {
  auto wf = Workflow();
  const auto trigger = Trigger();
  RecordedCalls calls;
  calls.Add("call", 0, {"http_request", "", "the call answered HTTP 404", 1});
  const ReplayedExecution r = ReplayExecution(*wf, trigger, "exec-1", kStart, calls, engine::ExecutionLimits{});
  EXPECT_EQ(r.result.status, engine::ExecutionStatus::kFailed);
  EXPECT_EQ(r.result.error, "node 'call' (http_request): the call answered HTTP 404");
}

// trigger -> a (http_request) and b (http_request) on parallel branches -> join (transform of both answers)
std::shared_ptr<const engine::CompiledWorkflow> Branches() {
  return engine::CompileWorkflow(
      "wf2", "Branches", "org", true, "t",
      R"([{"id":"t","type":"trigger"},
          {"id":"a","type":"http_request","data":{"url":"https://a.example.com/"}},
          {"id":"b","type":"http_request","data":{"url":"https://b.example.com/"}},
          {"id":"join","type":"transform","data":{"fields":{"both":"{{nodes.a.output.body.v}}+{{nodes.b.output.body.v}}"}}}])",
      R"([{"source":"t","target":"a"},{"source":"t","target":"b"},{"source":"a","target":"join"},{"source":"b","target":"join"}])",
      "");
}

TEST(ExecutionReplayTest, ParallelBranchesBothTakeTheirRecordedAnswers) {
  auto wf = Branches();
  ASSERT_TRUE(wf->compile_error.empty()) << wf->compile_error;
  const auto trigger = Trigger();
  RecordedCalls calls;
  calls.Add("a", 0, {"http_request", R"({"status":200,"headers":{},"body":{"v":"x"}})", "", 1});
  calls.Add("b", 0, {"http_request", R"({"status":200,"headers":{},"body":{"v":"y"}})", "", 1});
  const ReplayedExecution r = ReplayExecution(*wf, trigger, "exec-2", kStart, calls, engine::ExecutionLimits{});
  ASSERT_EQ(r.result.status, engine::ExecutionStatus::kCompleted) << r.result.error << r.result.logs_json;
  EXPECT_EQ(r.result.output_json, R"({"both":"x+y"})");
  EXPECT_TRUE(r.not_recorded.empty());
}

TEST(ExecutionReplayTest, ABranchWithoutARecordedAnswerWaitsWhileTheOtherGoesOn) {
  auto wf = Branches();
  const auto trigger = Trigger();
  RecordedCalls calls;
  calls.Add("b", 0, {"http_request", R"({"status":200,"headers":{},"body":{"v":"y"}})", "", 1});
  const ReplayedExecution r = ReplayExecution(*wf, trigger, "exec-2", kStart, calls, engine::ExecutionLimits{});
  EXPECT_EQ(r.result.status, engine::ExecutionStatus::kRunning);
  EXPECT_EQ(r.not_recorded, std::vector<std::string>{"a"});
  EXPECT_NE(r.result.logs_json.find(R"("nodeId":"b","type":"http_request","status":"COMPLETED")"), std::string::npos)
      << r.result.logs_json;
}

TEST(ExecutionDiffTest, AReplayOfTheSameDefinitionAndAnswersHasNoDifference) {
  auto wf = Workflow();
  const auto trigger = Trigger();
  const ReplayedExecution a = ReplayExecution(*wf, trigger, "exec-1", kStart, Answered(), engine::ExecutionLimits{});
  // The recorded run resumed later than the replay: its delay ended elsewhere.
  ReplayedExecution b = ReplayExecution(*wf, trigger, "exec-1", kStart + 5'000'000, Answered(), engine::ExecutionLimits{});
  EXPECT_NE(a.result.logs_json, b.result.logs_json);  // the delay's `until`
  EXPECT_TRUE(DiffExecutions(RecordOf(a.result, a.notifications), RecordOf(b.result, b.notifications)).empty());
}

TEST(ExecutionDiffTest, AChangedDefinitionShowsNodeByNode) {
  const auto trigger = Trigger();
  const ReplayedExecution before =
      ReplayExecution(*Workflow(), trigger, "exec-1", kStart, Answered(), engine::ExecutionLimits{});
  const ReplayedExecution after = ReplayExecution(*Workflow("{{nodes.call.output.body.greeting}}, {{input.name}}!"),
                                                  trigger, "exec-1", kStart, Answered(), engine::ExecutionLimits{});
  const auto diff = DiffExecutions(RecordOf(before.result, before.notifications), RecordOf(after.result, after.notifications));
  std::vector<std::string> where;
  for (const auto& d : diff) where.push_back(d.where);
  EXPECT_EQ(where, (std::vector<std::string>{"output", "node yes", "notification exec-1:tell"}));
  EXPECT_NE(diff[1].recorded.find("welcome Ada"), std::string::npos);
  EXPECT_NE(diff[1].replayed.find("welcome, Ada!"), std::string::npos);
}

TEST(ExecutionDiffTest, ADifferentAnswerTakesTheOtherBranch) {
  const auto trigger = Trigger();
  const ReplayedExecution ok = ReplayExecution(*Workflow(), trigger, "exec-1", kStart, Answered(200), engine::ExecutionLimits{});
  const ReplayedExecution other =
      ReplayExecution(*Workflow(), trigger, "exec-1", kStart, Answered(201), engine::ExecutionLimits{});
  std::vector<std::string> where;
  for (const auto& d : DiffExecutions(RecordOf(ok.result, ok.notifications), RecordOf(other.result, other.notifications)))
    where.push_back(d.where);
  EXPECT_EQ(where, (std::vector<std::string>{"output", "node call", "node check", "node yes", "node no",
                                             "notification exec-1:tell"}));
}

TEST(ExecutionDiffTest, StatusErrorAndMissingNodesAreDifferences) {
  ExecutionRecord a;
  a.status = "COMPLETED";
  a.output_json = R"({"x":1,"y":2})";
  a.logs_json = R"([{"nodeId":"t","type":"trigger","status":"COMPLETED"}])";
  a.nodes_executed = 1;
  ExecutionRecord b = a;
  b.output_json = R"({"y":2,"x":1})";  // the same value
  EXPECT_TRUE(DiffExecutions(a, b).empty());
  b.status = "FAILED";
  b.output_json.clear();
  b.error = "boom";
  b.logs_json = "[]";
  b.nodes_executed = 0;
  std::vector<std::string> where;
  for (const auto& d : DiffExecutions(a, b)) where.push_back(d.where);
  EXPECT_EQ(where, (std::vector<std::string>{"status", "output", "error", "nodes_executed", "node t"}));
}

}  // namespace
}  // namespace hub::ops
