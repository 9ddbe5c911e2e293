// `condition` nodes, branches and joins: the branch not taken is recorded as
// SKIPPED (and so is everything only it reaches); a join runs when a branch
// reaching it ran; comparisons keep JSON types.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "engine/workflow.hpp"

namespace hub::engine {
namespace {

std::shared_ptr<const CompiledWorkflow> Branching(const std::string& condition_data) {
  return CompileWorkflow(
      "wf", "Branch", "org", true, "t",
      R"([{"id":"t","type":"trigger"},
          {"id":"check","type":"condition","data":)" + condition_data + R"(},
          {"id":"big","type":"transform","data":{"fields":{"size":"big"}}},
          {"id":"small","type":"transform","data":{"fields":{"size":"small"}}},
          {"id":"after_small","type":"transform","data":{"fields":{"extra":"only after small"}}},
          {"id":"side","type":"transform","data":{"fields":{"side":"{{input.amount}}"}}},
          {"id":"join","type":"transform","data":{"fields":{"done":"{{output.size}} and {{nodes.side.output.side}}"}}}])",
      R"([{"source":"t","target":"check"},{"source":"t","target":"side"},
          {"source":"check","sourceHandle":"true","target":"big"},
          {"source":"check","sourceHandle":"false","target":"small"},
          {"source":"small","target":"after_small"},
          {"source":"big","target":"join"},{"source":"after_small","target":"join"},{"source":"side","target":"join"}])",
      "");
}

struct Exec {
  rapidjson::Document event, logs;
  ExecutionResult result;
  Exec(const CompiledWorkflow& wf, const char* input) {
    event.Parse((std::string(R"({"id":"e1","data":{"input":)") + input + "}}").c_str());
    RunWorkflow(wf, TriggerInput{&event, &event["data"]["input"], "exec", 1}, ExecutionLimits{}, result);
    logs.Parse(result.logs_json.c_str());
  }
  std::string StatusOf(const std::string& node) const {
    for (const auto& e : logs.GetArray())
      if (node == e["nodeId"].GetString()) return e["status"].GetString();
    return "absent";
  }
};

const char* kAmountOver100 = R"({"conditions":[{"left":"{{input.amount}}","op":">","right":100}]})";

TEST(ConditionNode, TakesTheTrueBranchAndSkipsTheOther) {
  auto wf = Branching(kAmountOver100);
  ASSERT_TRUE(wf->compile_error.empty()) << wf->compile_error;
  Exec e(*wf, R"({"amount":250})");
  ASSERT_EQ(e.result.status, ExecutionStatus::kCompleted) << e.result.error;
  EXPECT_EQ(e.StatusOf("big"), "COMPLETED");
  EXPECT_EQ(e.StatusOf("small"), "SKIPPED");
  EXPECT_EQ(e.StatusOf("after_small"), "SKIPPED");  // reached only through the branch not taken
  EXPECT_EQ(e.StatusOf("join"), "COMPLETED");
  EXPECT_EQ(e.result.output_json, R"({"side":250,"size":"big","done":"big and 250"})");
  EXPECT_EQ(e.result.nodes_executed, 5);  // t, check, side, big, join
  bool found = false;
  for (const auto& entry : e.logs.GetArray())
    if (std::string("check") == entry["nodeId"].GetString()) found = entry["result"].GetBool();
  EXPECT_TRUE(found);
}

TEST(ConditionNode, TakesTheFalseBranch) {
  Exec e(*Branching(kAmountOver100), R"({"amount":7})");
  ASSERT_EQ(e.result.status, ExecutionStatus::kCompleted) << e.result.error;
  EXPECT_EQ(e.StatusOf("big"), "SKIPPED");
  EXPECT_EQ(e.StatusOf("small"), "COMPLETED");
  EXPECT_EQ(e.StatusOf("after_small"), "COMPLETED");
  EXPECT_EQ(e.StatusOf("join"), "COMPLETED");
}

TEST(ConditionNode, OperatorsAndCombinations) {
  auto run = [](const std::string& conditions, const char* input) {
    Exec e(*Branching(conditions), input);
    EXPECT_EQ(e.result.status, ExecutionStatus::kCompleted) << e.result.error;
    return e.StatusOf("big") == "COMPLETED";
  };
  EXPECT_TRUE(run(R"({"conditions":[{"left":"{{input.tier}}","op":"==","right":"gold"}]})", R"({"tier":"gold"})"));
  EXPECT_FALSE(run(R"({"conditions":[{"left":"{{input.tier}}","op":"!=","right":"gold"}]})", R"({"tier":"gold"})"));
  EXPECT_TRUE(run(R"({"conditions":[{"left":"{{input.tags}}","op":"contains","right":"vip"}]})",
                  R"({"tags":["new","vip"]})"));
  EXPECT_TRUE(run(R"({"conditions":[{"left":"{{input.note}}","op":"contains","right":"urgent"}]})",
                  R"({"note":"very urgent"})"));
  EXPECT_FALSE(run(R"({"conditions":[{"left":"{{input.missing}}","op":"exists"}]})", R"({})"));
  EXPECT_TRUE(run(R"({"conditions":[{"left":"{{input.a}}","op":"<=","right":2},{"left":"{{input.b}}","op":">=","right":5}],
                     "combine":"and"})",
                  R"({"a":2,"b":5})"));
  EXPECT_TRUE(run(R"({"conditions":[{"left":"{{input.a}}","op":"<","right":1},{"left":"{{input.b}}","op":">","right":1}],
                     "combine":"or"})",
                  R"({"a":2,"b":5})"));
}

TEST(ConditionNode, BadConditionsAreDefinitionOrExecutionErrors) {
  EXPECT_NE(Branching(R"({"conditions":[]})")->compile_error.find("non-empty array"), std::string::npos);
  EXPECT_NE(Branching(R"({"conditions":[{"left":"x","op":"~=","right":1}]})")->compile_error.find("op '~='"),
            std::string::npos);
  Exec e(*Branching(kAmountOver100), R"({"amount":"lots"})");
  EXPECT_EQ(e.result.status, ExecutionStatus::kFailed);
  EXPECT_NE(e.result.error.find("node 'check' (condition): cannot order a string"), std::string::npos)
      << e.result.error;
}

TEST(ConditionNode, ReadsAnEarlierNodesOutputInAWorkflowThatNeverParks) {
  auto wf = CompileWorkflow(
      "wf", "Pure", "org", true, "t",
      R"([{"id":"t","type":"trigger"},{"id":"score","type":"transform","data":{"fields":{"points":"{{input.points}}"}}},
          {"id":"check","type":"condition","data":{"conditions":[{"left":"{{nodes.score.output.points}}","op":">=","right":10}]}},
          {"id":"win","type":"transform","data":{"fields":{"result":"win"}}}])",
      R"([{"source":"t","target":"score"},{"source":"score","target":"check"},
          {"source":"check","sourceHandle":"true","target":"win"}])",
      "");
  ASSERT_TRUE(wf->compile_error.empty()) << wf->compile_error;
  Exec e(*wf, R"({"points":12})");
  ASSERT_EQ(e.result.status, ExecutionStatus::kCompleted) << e.result.error;
  EXPECT_EQ(e.StatusOf("win"), "COMPLETED");
}

}  // namespace
}  // namespace hub::engine
