// The workflow engine is pure: these tests need no servers.
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/schema.h>

#include "consumers/schema_registry.hpp"
#include "engine/cloud_event.hpp"
#include "engine/template.hpp"
#include "engine/workflow.hpp"
#include "worker/seed.hpp"

namespace hub::engine {
namespace {

rapidjson::Document Json(const char* text) {
  rapidjson::Document d;
  d.Parse(text);
  EXPECT_FALSE(d.HasParseError()) << text;
  return d;
}

TEST(Template, RendersPathsInsideText) {
  auto input = Json(R"({"name":"Ada","n":3,"tags":["a","b"]})");
  TemplateContext ctx;
  ctx.input = &input;
  std::string out;
  Template::Compile("hello {{input.name}}, {{ input.n }} {{input.tags.1}}{{input.missing}}!").RenderText(ctx, out);
  EXPECT_EQ(out, "hello Ada, 3 b!");
}

TEST(Template, LonePlaceholderKeepsTheJsonType) {
  auto input = Json(R"({"n":3,"obj":{"a":1}})");
  TemplateContext ctx;
  ctx.input = &input;
  rapidjson::Document d;
  rapidjson::Value v;
  Template::Compile("{{input.n}}").RenderValue(ctx, v, d.GetAllocator());
  ASSERT_TRUE(v.IsInt());
  EXPECT_EQ(v.GetInt(), 3);
  Template::Compile("{{input.obj}}").RenderValue(ctx, v, d.GetAllocator());
  EXPECT_TRUE(v.IsObject());
  Template::Compile("{{input.nothing}}").RenderValue(ctx, v, d.GetAllocator());
  EXPECT_TRUE(v.IsNull());
}

TEST(Template, UnterminatedPlaceholderIsRejected) {
  EXPECT_THROW(Template::Compile("hello {{input.name"), std::invalid_argument);
  EXPECT_THROW(Template::Compile("{{ }}"), std::invalid_argument);
}

std::shared_ptr<const CompiledWorkflow> Greeting(bool active = true) {
  return CompileWorkflow("wf1", "Greeting", "org", active, "t", worker::GreetingNodes("user_1"),
                         worker::GreetingEdges(), "{}");
}

TEST(Workflow, GreetingRunsTriggerTransformNotificationInOrder) {
  auto wf = Greeting();
  ASSERT_TRUE(wf->compile_error.empty()) << wf->compile_error;
  ASSERT_EQ(wf->steps.size(), 3u);
  auto event = Json(R"({"id":"e1","data":{"input":{"name":"Ada"}}})");
  ExecutionResult r;
  RunWorkflow(*wf, TriggerInput{&event, &event["data"]["input"], "exec-1"}, ExecutionLimits{}, r);
  EXPECT_EQ(r.status, ExecutionStatus::kCompleted);
  EXPECT_EQ(r.output_json, R"({"greeting":"hello Ada"})");
  EXPECT_EQ(r.nodes_executed, 3);
  ASSERT_EQ(r.notifications.size(), 1u);
  EXPECT_EQ(r.notifications[0].user_id, "user_1");
  EXPECT_EQ(r.notifications[0].title, "Workflow Greeting ran");
  EXPECT_EQ(r.notifications[0].message, "hello Ada");
  EXPECT_EQ(r.notifications[0].id, "exec-1:notify");
  auto logs = Json(r.logs_json.c_str());
  ASSERT_TRUE(logs.IsArray());
  ASSERT_EQ(logs.Size(), 3u);
  EXPECT_STREQ(logs[0]["nodeId"].GetString(), "trigger");
  EXPECT_STREQ(logs[1]["output"]["greeting"].GetString(), "hello Ada");
  EXPECT_STREQ(logs[2]["type"].GetString(), "notification");
}

TEST(Workflow, InactiveWorkflowIsCancelledWithAReason) {
  auto wf = Greeting(false);
  auto event = Json(R"({"data":{"input":{}}})");
  ExecutionResult r;
  RunWorkflow(*wf, TriggerInput{&event, &event["data"]["input"], "x"}, ExecutionLimits{}, r);
  EXPECT_EQ(r.status, ExecutionStatus::kCancelled);
  EXPECT_NE(r.error.find("inactive"), std::string::npos);
  EXPECT_EQ(r.nodes_executed, 0);
  EXPECT_TRUE(r.notifications.empty());
}

TEST(Workflow, UnknownNodeTypeFailsTheExecutionWithAnExplanation) {
  auto wf = CompileWorkflow("wf", "n", "org", true, "t",
                            R"([{"id":"t","type":"trigger"},{"id":"x","type":"teleport","data":{}}])",
                            R"([{"id":"e","source":"t","target":"x"}])", "");
  EXPECT_NE(wf->compile_error.find("teleport"), std::string::npos);
  ExecutionResult r;
  auto event = Json("{}");
  RunWorkflow(*wf, TriggerInput{&event, nullptr, "x"}, ExecutionLimits{}, r);
  EXPECT_EQ(r.status, ExecutionStatus::kFailed);
  EXPECT_NE(r.error.find("teleport"), std::string::npos);
}

TEST(Workflow, CyclesAndDanglingEdgesAreDefinitionErrors) {
  auto cyc = CompileWorkflow("wf", "n", "org", true, "t",
                             R"([{"id":"t","type":"trigger"},{"id":"a","type":"transform","data":{"fields":{}}},
                                 {"id":"b","type":"transform","data":{"fields":{}}}])",
                             R"([{"source":"t","target":"a"},{"source":"a","target":"b"},{"source":"b","target":"a"}])",
                             "");
  EXPECT_NE(cyc->compile_error.find("cycle"), std::string::npos);
  auto dangling = CompileWorkflow("wf", "n", "org", true, "t", R"([{"id":"t","type":"trigger"}])",
                                  R"([{"id":"e9","source":"t","target":"nowhere"}])", "");
  EXPECT_NE(dangling->compile_error.find("unknown nodes"), std::string::npos);
}

TEST(Workflow, NodesNotReachableFromTheTriggerAreNotRun) {
  auto wf = CompileWorkflow("wf", "n", "org", true, "t",
                            R"([{"id":"t","type":"trigger"},{"id":"a","type":"transform","data":{"fields":{"x":"1"}}},
                                {"id":"orphan","type":"transform","data":{"fields":{"y":"2"}}}])",
                            R"([{"source":"t","target":"a"}])", "");
  ASSERT_TRUE(wf->compile_error.empty()) << wf->compile_error;
  ExecutionResult r;
  auto event = Json("{}");
  RunWorkflow(*wf, TriggerInput{&event, nullptr, "x"}, ExecutionLimits{}, r);
  EXPECT_EQ(r.output_json, R"({"x":"1"})");
  EXPECT_EQ(r.nodes_executed, 2);
}

TEST(CloudEvent, WorkflowCompletedValidatesAgainstItsSchema) {
  consumers::SchemaRegistry schemas(consumers::SchemaRegistry::DefaultDir());
  const rapidjson::SchemaDocument* schema = schemas.Find("workflow.completed");
  ASSERT_NE(schema, nullptr);
  for (bool failed : {false, true}) {
    WorkflowCompleted c;
    c.organization_id = "org";
    c.workflow_id = "wf";
    c.execution_id = "exec";
    c.status = failed ? "FAILED" : "COMPLETED";
    c.output_json = R"({"greeting":"hello"})";
    c.error = failed ? "boom \"quoted\"" : "";
    c.trigger_event_id = "e1";
    c.trigger_time = "2026-11-23T10:00:00Z";
    c.traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    c.now_unix_us = 1790000000000000;
    const std::string text = BuildWorkflowCompleted(c);
    rapidjson::Document d;
    d.Parse(text.c_str());
    ASSERT_FALSE(d.HasParseError()) << text;
    rapidjson::SchemaValidator v(*schema);
    EXPECT_TRUE(d.Accept(v)) << text;
    EXPECT_STREQ(d["id"].GetString(), "exec");
    EXPECT_STREQ(d["traceparent"].GetString(), c.traceparent.data());
  }
}

}  // namespace
}  // namespace hub::engine
