// Independent branches in the engine: nodes that park (outside calls,
// delays) on different branches park in the same run, so their steps wait
// and call out at the same time; a node waits for every node before it; a
// branch that does not depend on a parked node goes on.  No network here:
// the results a step runner would pass back are given by the tests.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "engine/workflow.hpp"

namespace hub::engine {
namespace {

constexpr int64_t kNow = 1'800'000'000'000'000;

// t → prep → {a, b} (two calls) → join → check (a condition on both
// responses) → ok (true) / bad (false).  A side branch t → side does not
// depend on either call.
std::shared_ptr<const CompiledWorkflow> TwoCalls() {
  return CompileWorkflow(
      "wf", "Two calls", "org", true, "t",
      R"([{"id":"t","type":"trigger"},
          {"id":"prep","type":"transform","data":{"fields":{"who":"{{input.name}}"}}},
          {"id":"a","type":"http_request","data":{"url":"https://a.example.com/{{nodes.prep.output.who}}"}},
          {"id":"b","type":"http_request","data":{"url":"https://b.example.com/x"}},
          {"id":"side","type":"transform","data":{"fields":{"side":"yes"}}},
          {"id":"join","type":"transform","data":{"fields":{"sum":"{{nodes.a.output.body.n}}+{{nodes.b.output.body.n}}"}}},
          {"id":"check","type":"condition","data":{"conditions":[
             {"left":"{{nodes.a.output.status}}","op":"==","right":200},
             {"left":"{{nodes.b.output.status}}","op":"==","right":200}],"combine":"and"}},
          {"id":"ok","type":"transform","data":{"fields":{"verdict":"both answered"}}},
          {"id":"bad","type":"transform","data":{"fields":{"verdict":"not both"}}}])",
      R"([{"source":"t","target":"prep"},{"source":"prep","target":"a"},{"source":"prep","target":"b"},
          {"source":"t","target":"side"},
          {"source":"a","target":"join"},{"source":"b","target":"join"},{"source":"join","target":"check"},
          {"source":"check","sourceHandle":"true","target":"ok"},
          {"source":"check","sourceHandle":"false","target":"bad"}])",
      "");
}

struct Exec {
  rapidjson::Document event;
  ExecutionResult result;
  Exec(const CompiledWorkflow& wf, const ResumePoint* resume = nullptr) {
    event.Parse(R"({"id":"e1","data":{"input":{"name":"Ada"}}})");
    RunWorkflow(wf, TriggerInput{&event, &event["data"]["input"], "exec-1", kNow}, ExecutionLimits{}, result, resume);
  }
};

// The state a step runner stores (the execution's row) and the result of
// `node`'s call, as it passes them back.
struct Stored {
  std::string output, logs, nodes;
  int nodes_executed = 0;
  explicit Stored(const ExecutionResult& r)
      : output(r.output_json), logs(r.logs_json), nodes(r.nodes_json), nodes_executed(r.nodes_executed) {}
  ResumePoint With(std::string_view node, std::string_view response, std::string_view error = {}) const {
    ResumePoint p;
    p.node_id = node;
    p.output_json = output;
    p.logs_json = logs;
    p.nodes_json = nodes;
    p.nodes_executed = nodes_executed;
    p.node_output_json = response;
    p.node_error = error;
    p.attempts = 1;
    return p;
  }
};

std::vector<std::string> LogStatuses(const std::string& logs_json) {
  rapidjson::Document logs;
  logs.Parse(logs_json.c_str());
  std::vector<std::string> out;
  for (const auto& e : logs.GetArray())
    out.push_back(std::string(e["nodeId"].GetString()) + ":" + e["status"].GetString());
  return out;
}

const char* kA = R"({"status":200,"headers":{},"body":{"n":1}})";
const char* kB = R"({"status":200,"headers":{},"body":{"n":2}})";

TEST(ParallelBranches, BothCallsParkInOneRunAndTheIndependentBranchRuns) {
  auto wf = TwoCalls();
  ASSERT_TRUE(wf->compile_error.empty()) << wf->compile_error;
  Exec first(*wf);
  ASSERT_EQ(first.result.status, ExecutionStatus::kRunning) << first.result.error;
  ASSERT_EQ(first.result.parked.size(), 2u);
  EXPECT_EQ(first.result.parked[0].node_id, "a");
  EXPECT_EQ(first.result.parked[1].node_id, "b");
  EXPECT_NE(first.result.parked[0].request.find("https://a.example.com/Ada"), std::string::npos);
  EXPECT_EQ(first.result.waiting_at, "a");
  // The side branch ran; the join waits for both calls.
  EXPECT_EQ(LogStatuses(first.result.logs_json),
            (std::vector<std::string>{"t:COMPLETED", "prep:COMPLETED", "side:COMPLETED"}));
  EXPECT_EQ(first.result.output_json, R"({"who":"Ada","side":"yes"})");
}

TEST(ParallelBranches, TheJoinRunsWhenTheLastCallHasAnsweredInEitherOrder) {
  auto wf = TwoCalls();
  for (const bool a_first : {true, false}) {
    SCOPED_TRACE(a_first ? "a answers first" : "b answers first");
    Exec first(*wf);
    ASSERT_EQ(first.result.parked.size(), 2u);
    const Stored parked(first.result);
    const auto one = a_first ? parked.With("a", kA) : parked.With("b", kB);
    Exec second(*wf, &one);
    ASSERT_EQ(second.result.status, ExecutionStatus::kRunning) << second.result.error;
    EXPECT_TRUE(second.result.parked.empty()) << "the other call already has its step";
    EXPECT_EQ(second.result.waiting_at, a_first ? "b" : "a");
    EXPECT_EQ(LogStatuses(second.result.logs_json).size(), 4u) << "nothing after the join ran";

    const Stored half(second.result);
    const auto two = a_first ? half.With("b", kB) : half.With("a", kA);
    Exec third(*wf, &two);
    ASSERT_EQ(third.result.status, ExecutionStatus::kCompleted) << third.result.error;
    EXPECT_TRUE(third.result.parked.empty());
    const std::vector<std::string> tail{"join:COMPLETED", "check:COMPLETED", "ok:COMPLETED", "bad:SKIPPED"};
    const auto statuses = LogStatuses(third.result.logs_json);
    ASSERT_EQ(statuses.size(), 9u);
    EXPECT_EQ(std::vector<std::string>(statuses.end() - 4, statuses.end()), tail);
    EXPECT_EQ(third.result.nodes_executed, 8);
    rapidjson::Document out;
    out.Parse(third.result.output_json.c_str());
    EXPECT_STREQ(out["sum"].GetString(), "1+2");
    EXPECT_STREQ(out["verdict"].GetString(), "both answered");
  }
}

TEST(ParallelBranches, OneFailedCallFailsTheExecutionAndNothingWaitsAnyMore) {
  auto wf = TwoCalls();
  Exec first(*wf);
  const Stored parked(first.result);
  const auto failed = parked.With("b", "", "the call answered HTTP 404");
  Exec second(*wf, &failed);
  ASSERT_EQ(second.result.status, ExecutionStatus::kFailed);
  EXPECT_EQ(second.result.error, "node 'b' (http_request): the call answered HTTP 404");
  EXPECT_TRUE(second.result.parked.empty());
  EXPECT_TRUE(second.result.waiting_at.empty());
}

TEST(ParallelBranches, AResultForANodeThatDoesNotWaitIsRefused) {
  auto wf = TwoCalls();
  Exec first(*wf);
  const Stored parked(first.result);
  const auto once = parked.With("a", kA);
  Exec second(*wf, &once);
  const Stored half(second.result);
  // `a` has its result already: a second one (a step run twice) is not taken.
  const auto again = half.With("a", kA);
  Exec third(*wf, &again);
  ASSERT_EQ(third.result.status, ExecutionStatus::kFailed);
  EXPECT_NE(third.result.error.find("'a' is no longer a node it can resume at"), std::string::npos)
      << third.result.error;
}

TEST(ParallelBranches, ADelayAndACallOnTwoBranchesBothPark) {
  auto wf = CompileWorkflow(
      "wf", "Delay and call", "org", true, "t",
      R"([{"id":"t","type":"trigger"},
          {"id":"wait","type":"delay","data":{"ms":60000}},
          {"id":"call","type":"http_request","data":{"url":"https://a.example.com/"}},
          {"id":"after_call","type":"transform","data":{"fields":{"called":"{{nodes.call.output.status}}"}}},
          {"id":"end","type":"transform","data":{"fields":{"done":"yes"}}}])",
      R"([{"source":"t","target":"wait"},{"source":"t","target":"call"},{"source":"call","target":"after_call"},
          {"source":"wait","target":"end"},{"source":"after_call","target":"end"}])",
      "");
  ASSERT_TRUE(wf->compile_error.empty()) << wf->compile_error;
  Exec first(*wf);
  ASSERT_EQ(first.result.parked.size(), 2u);
  EXPECT_EQ(first.result.parked[0].kind, "delay");
  EXPECT_EQ(first.result.parked[0].due_us, kNow + 60'000'000);
  EXPECT_EQ(first.result.parked[1].kind, "http_request");
  // The call answers first: the node after it runs while the delay still waits.
  const Stored parked(first.result);
  const auto answered = parked.With("call", kA);
  Exec second(*wf, &answered);
  ASSERT_EQ(second.result.status, ExecutionStatus::kRunning) << second.result.error;
  EXPECT_EQ(LogStatuses(second.result.logs_json),
            (std::vector<std::string>{"t:COMPLETED", "call:COMPLETED", "after_call:COMPLETED"}));
  EXPECT_EQ(second.result.waiting_at, "wait");
  const Stored half(second.result);
  ResumePoint over = half.With("wait", "");
  over.waited_until_us = kNow + 60'000'000;
  Exec third(*wf, &over);
  ASSERT_EQ(third.result.status, ExecutionStatus::kCompleted) << third.result.error;
  EXPECT_EQ(third.result.output_json, R"({"called":200,"done":"yes"})");  // a lone template keeps its type
}

}  // namespace
}  // namespace hub::engine
