// Every way a workflow definition or a trigger can make an execution fail is
// the execution's own, permanent failure: RunWorkflow returns FAILED with an
// error that names the problem, never throws (an exception would be taken for
// a transient failure and retried), keeps its step logs valid JSON, and
// writes no notification.  One row per failure path of the engine.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <string>
#include <vector>

#include "engine/workflow.hpp"

namespace hub::engine {
namespace {

struct Case {
  const char* name;
  std::string nodes;
  std::string edges;
  std::string input;  // data.input
  std::string expected_error;  // a part of the error
  ExecutionLimits limits{};
};

std::string Node(const std::string& id, const std::string& type, const std::string& data = "{}") {
  return R"({"id":")" + id + R"(","type":")" + type + R"(","data":)" + data + "}";
}

std::string Edge(const std::string& s, const std::string& t) {
  return R"({"source":")" + s + R"(","target":")" + t + R"("})";
}

std::string Transform(const std::string& id, const std::string& field, const std::string& tmpl) {
  return Node(id, "transform", R"({"fields":{")" + field + R"(":")" + tmpl + R"("}})");
}

std::string Notify(const std::string& id, const std::string& user, const std::string& title,
                   const std::string& type = "info") {
  return Node(id, "notification",
              R"({"userId":")" + user + R"(","title":")" + title + R"(","message":"m","notificationType":")" + type +
                  R"("})");
}

// trigger -> n1 -> ... for the given nodes (ids must be n1..nk).
Case Chain(const char* name, std::vector<std::string> nodes, std::string input, std::string expected,
           ExecutionLimits limits = {}) {
  Case c{name, "[" + Node("t", "trigger"), "[", std::move(input), std::move(expected), limits};
  std::string prev = "t";
  for (size_t i = 0; i < nodes.size(); ++i) {
    c.nodes += "," + nodes[i];
    const std::string id = "n" + std::to_string(i + 1);
    c.edges += (i ? "," : "") + Edge(prev, id);
    prev = id;
  }
  c.nodes += "]";
  c.edges += "]";
  return c;
}

// The workflow of the incident: each transform doubles the previous output.
std::vector<std::string> Doubling(int n, bool lone_placeholder) {
  std::vector<std::string> nodes{Transform("n1", "a", "{{input.x}}{{input.x}}")};
  for (int i = 2; i <= n; ++i)
    nodes.push_back(lone_placeholder
                        ? Node("n" + std::to_string(i), "transform",
                               R"({"fields":{"a":"{{output}}","b":"{{output}}"}})")
                        : Transform("n" + std::to_string(i), "a", "{{output.a}}{{output.a}}"));
  return nodes;
}

std::vector<Case> AllCases() {
  ExecutionLimits small_output;
  small_output.max_output_bytes = 100;
  ExecutionLimits few_nodes;
  few_nodes.max_nodes = 3;
  std::vector<Case> cases;
  // Template errors.
  cases.push_back(Chain("unterminated placeholder", {Transform("n1", "a", "x {{input.y")}, "{}", "unterminated '{{'"));
  cases.push_back(Chain("empty placeholder", {Transform("n1", "a", "{{ }}")}, "{}", "empty '{{}}'"));
  cases.push_back(Chain("empty path segment", {Transform("n1", "a", "{{input..y}}")}, "{}", "bad path 'input..y'"));
  cases.push_back(Chain("array index beyond any array", {Transform("n1", "a", "{{input.arr.99999999999999999999999}}")},
                        R"({"arr":[1,2,3]})", "array index 99999999999999999999999 is out of range (the array has 3 elements)"));
  cases.push_back(Chain("array index beyond any array, inside text",
                        {Transform("n1", "a", "x{{input.arr.4294967296}}")}, R"({"arr":[]})", "is out of range"));
  // Graph errors.
  cases.push_back({"nodes not JSON", "[", "[]", "{}", "nodes is not valid JSON"});
  cases.push_back({"edges not JSON", "[" + Node("t", "trigger") + "]", "{", "{}", "edges is not valid JSON"});
  cases.push_back({"nodes not an array", "{}", "[]", "{}", "nodes is not an array"});
  cases.push_back({"edges not an array", "[" + Node("t", "trigger") + "]", "{}", "{}", "edges is not an array"});
  cases.push_back({"node without id", R"([{"type":"trigger"}])", "[]", "{}", "a node has no id"});
  cases.push_back({"duplicate node id", "[" + Node("t", "trigger") + "," + Node("t", "trigger") + "]", "[]", "{}",
                   "duplicate node id 't'"});
  cases.push_back({"edge to an unknown node", "[" + Node("t", "trigger") + "]", "[" + Edge("t", "x") + "]", "{}",
                   "connects unknown nodes"});
  cases.push_back({"no trigger and no entry", "[" + Transform("a", "f", "1") + "," + Transform("b", "f", "1") + "]",
                   "[" + Edge("a", "b") + "," + Edge("b", "a") + "]", "{}", "no trigger node"});
  cases.push_back({"cycle", "[" + Node("t", "trigger") + "," + Transform("a", "f", "1") + "," + Transform("b", "f", "1") + "]",
                   "[" + Edge("t", "a") + "," + Edge("a", "b") + "," + Edge("b", "a") + "]", "{}", "cycle"});
  cases.push_back(Chain("unknown node type", {Node("n1", "teleport")}, "{}", "type 'teleport'"));
  cases.push_back(Chain("transform without fields", {Node("n1", "transform")}, "{}", "has no data.fields object"));
  cases.push_back(Chain("transform field not a string", {Node("n1", "transform", R"({"fields":{"a":1}})")}, "{}",
                        "must be a template string"));
  cases.push_back(Chain("notification without userId", {Node("n1", "notification", R"({"title":"x"})")}, "{}",
                        "has no data.userId"));
  cases.push_back({"definition nested too deep", "[" + std::string(200, '[') + std::string(200, ']') + "]", "[]", "{}",
                   "nested deeper than 128"});
  // Bounds of ExecutionLimits.
  cases.push_back(Chain("doubling text (the incident)", Doubling(26, false), R"({"x":"12345678"})",
                        "(HUB_MAX_RENDERED_VALUE_BYTES)"));
  cases.push_back(Chain("doubling objects", Doubling(40, true), R"({"x":"12345678"})", "(HUB_MAX_"));
  cases.push_back(Chain("too much rendered in all",
                        {Transform("n1", "a", "{{input.s}}{{input.s}}"), Transform("n2", "b", "{{input.s}}{{input.s}}"),
                         Transform("n3", "c", "{{input.s}}{{input.s}}"), Transform("n4", "d", "{{input.s}}{{input.s}}"),
                         Transform("n5", "e", "{{input.s}}{{input.s}}")},
                        R"({"s":")" + std::string(120000, 'x') + R"("})", "(HUB_MAX_EXECUTION_BYTES)"));
  cases.push_back(Chain("too many nodes", {Transform("n1", "a", "1"), Transform("n2", "a", "1"), Transform("n3", "a", "1")},
                        "{}", "an execution runs at most 3 (HUB_MAX_NODES_EXECUTED)", few_nodes));
  cases.push_back(Chain("output too large", {Transform("n1", "a", "{{input.s}}")}, R"({"s":")" + std::string(200, 'y') + R"("})",
                        "over the limit of 100 bytes (HUB_MAX_OUTPUT_BYTES)", small_output));
  // Values too large for their columns.
  cases.push_back(Chain("notification title over 200 characters", {Notify("n1", "u", "{{input.t}}")},
                        R"({"t":")" + std::string(201, 'z') + R"("})", "title rendered 201 characters"));
  cases.push_back(Chain("notification type over 50 characters", {Notify("n1", "u", "t", std::string(51, 'k'))}, "{}",
                        "notificationType has more than 50 characters"));
  cases.push_back(Chain("notification userId renders empty", {Notify("n1", "{{input.nobody}}", "t")}, "{}",
                        "userId rendered empty"));
  return cases;
}

TEST(EngineFailurePaths, EachIsAFailedExecutionThatNamesItsCause) {
  for (const Case& c : AllCases()) {
    SCOPED_TRACE(c.name);
    auto wf = CompileWorkflow("wf", "n", "org", true, "t", c.nodes, c.edges, "");
    rapidjson::Document event;
    event.Parse((R"({"id":"e1","data":{"input":)" + c.input + "}}").c_str());
    ASSERT_FALSE(event.HasParseError());
    ExecutionResult r;
    ASSERT_NO_THROW(RunWorkflow(*wf, TriggerInput{&event, &event["data"]["input"], "exec"}, c.limits, r));
    EXPECT_EQ(r.status, ExecutionStatus::kFailed);
    EXPECT_NE(r.error.find(c.expected_error), std::string::npos) << r.error;
    EXPECT_LE(r.error.size(), kMaxErrorBytes + 32);
    EXPECT_TRUE(r.notifications.empty());
    rapidjson::Document logs;
    logs.Parse(r.logs_json.c_str());
    ASSERT_FALSE(logs.HasParseError()) << r.logs_json.substr(0, 200);
    ASSERT_TRUE(logs.IsArray());
    // A node's failure ends the logs with that node; a definition that does
    // not compile runs none, an output too large fails after all of them.
    if (logs.Size() > 0 && std::string(logs[logs.Size() - 1]["status"].GetString()) == "FAILED") {
      EXPECT_NE(std::string(logs[logs.Size() - 1]["error"].GetString()).find(c.expected_error), std::string::npos);
    }
    // Deterministic: the same event fails the same way every time.
    ExecutionResult again;
    RunWorkflow(*wf, TriggerInput{&event, &event["data"]["input"], "exec"}, c.limits, again);
    EXPECT_EQ(again.error, r.error);
  }
}

TEST(EngineFailurePaths, TheDoublingWorkflowStopsAtItsBoundWithoutGrowingPastIt) {
  // Rendered values are charged before they are built: the node that would
  // pass 256 KiB fails, so the largest value ever held is under 256 KiB.
  auto c = Chain("doubling", Doubling(26, false), R"({"x":"12345678"})", "");
  auto wf = CompileWorkflow("wf", "n", "org", true, "t", c.nodes, c.edges, "");
  rapidjson::Document event;
  event.Parse(R"({"data":{"input":{"x":"12345678"}}})");
  ExecutionResult r;
  RunWorkflow(*wf, TriggerInput{&event, &event["data"]["input"], "exec"}, ExecutionLimits{}, r);
  ASSERT_EQ(r.status, ExecutionStatus::kFailed);
  // 16 bytes after n1, doubling: n15 renders 256 KiB exactly, n16 would be 512 KiB.
  EXPECT_NE(r.error.find("node 'n16' (transform)"), std::string::npos) << r.error;
  EXPECT_EQ(r.nodes_executed, 17);  // trigger, n1..n15 completed, n16 failed
}

TEST(EngineFailurePaths, BoundaryValuesStillRun) {
  // Exactly 200 characters of title (multi-byte ones count as one each).
  std::string title;
  for (int i = 0; i < 200; ++i) title += "\xC3\xA9";  // é
  auto c = Chain("title", {Notify("n1", "u", title)}, "{}", "");
  auto wf = CompileWorkflow("wf", "n", "org", true, "t", c.nodes, c.edges, "");
  ASSERT_TRUE(wf->compile_error.empty()) << wf->compile_error;
  rapidjson::Document event;
  event.Parse(R"({"data":{"input":{"arr":[1,2]}}})");
  ExecutionResult r;
  RunWorkflow(*wf, TriggerInput{&event, &event["data"]["input"], "exec"}, ExecutionLimits{}, r);
  EXPECT_EQ(r.status, ExecutionStatus::kCompleted) << r.error;
  ASSERT_EQ(r.notifications.size(), 1u);
  // An index within range but past the end is still "missing", not an error.
  auto m = Chain("missing", {Transform("n1", "a", "[{{input.arr.7}}]")}, "{}", "");
  auto wf2 = CompileWorkflow("wf", "n", "org", true, "t", m.nodes, m.edges, "");
  RunWorkflow(*wf2, TriggerInput{&event, &event["data"]["input"], "exec"}, ExecutionLimits{}, r);
  EXPECT_EQ(r.status, ExecutionStatus::kCompleted) << r.error;
  EXPECT_EQ(r.output_json, R"({"a":"[]"})");
}

}  // namespace
}  // namespace hub::engine
