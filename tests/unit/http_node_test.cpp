// `http_request` nodes in the engine: the node parks with the request it
// rendered, resumes with the response as its output ({{nodes.<id>.output}}),
// or fails with the reason the step runner gives.  No network here.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "engine/workflow.hpp"

namespace hub::engine {
namespace {

constexpr int64_t kNow = 1'800'000'000'000'000;

std::shared_ptr<const CompiledWorkflow> CallWorkflow(const std::string& http_data) {
  return CompileWorkflow(
      "wf", "Call", "org", true, "t",
      R"([{"id":"t","type":"trigger"},
          {"id":"prep","type":"transform","data":{"fields":{"who":"{{input.name}}"}}},
          {"id":"call","type":"http_request","data":)" + http_data + R"(},
          {"id":"use","type":"transform","data":{"fields":{"greeting":"{{nodes.call.output.body.greeting}} {{nodes.prep.output.who}}"}}}])",
      R"([{"source":"t","target":"prep"},{"source":"prep","target":"call"},{"source":"call","target":"use"}])", "");
}

struct Exec {
  rapidjson::Document event;
  ExecutionResult result;
  Exec(const CompiledWorkflow& wf, const ResumePoint* resume = nullptr) {
    event.Parse(R"({"id":"e1","data":{"input":{"name":"Ada","id":42}}})");
    RunWorkflow(wf, TriggerInput{&event, &event["data"]["input"], "exec-1", kNow}, ExecutionLimits{}, result, resume);
  }
};

ResumePoint After(const ExecutionResult& parked, std::string_view output, std::string_view error = {}) {
  ResumePoint p;
  p.node_id = parked.parked.at(0).node_id;
  p.output_json = parked.output_json;
  p.logs_json = parked.logs_json;
  p.nodes_executed = parked.nodes_executed;
  p.nodes_json = parked.nodes_json;
  p.node_output_json = output;
  p.node_error = error;
  p.attempts = 2;
  return p;
}

const char* kCall =
    R"({"method":"post","url":"https://api.example.com/users/{{input.id}}","headers":{"X-Who":"{{nodes.prep.output.who}}"},
        "body":"{\"name\":\"{{input.name}}\"}","retry":{"maxAttempts":4,"backoffMs":250},"timeoutMs":2000})";

TEST(HttpNode, ParksWithTheRenderedRequest) {
  auto wf = CallWorkflow(kCall);
  ASSERT_TRUE(wf->compile_error.empty()) << wf->compile_error;
  Exec e(*wf);
  ASSERT_EQ(e.result.status, ExecutionStatus::kRunning) << e.result.error;
  ASSERT_EQ(e.result.parked.size(), 1u);
  EXPECT_EQ(e.result.parked[0].node_id, "call");
  EXPECT_EQ(e.result.waiting_at, "call");
  EXPECT_EQ(e.result.parked.at(0).kind, "http_request");
  EXPECT_EQ(e.result.parked.at(0).due_us, kNow);  // due at once
  HttpRequestSpec r;
  std::string why;
  ASSERT_TRUE(FromJson(e.result.parked.at(0).request, r, why)) << why;
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url, "https://api.example.com/users/42");
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0], (std::pair<std::string, std::string>{"X-Who", "Ada"}));
  EXPECT_EQ(r.body, R"({"name":"Ada"})");
  EXPECT_EQ(r.timeout_ms, 2000);
  EXPECT_EQ(r.retry.max_attempts, 4);
  EXPECT_EQ(r.retry.backoff_ms, 250);
  EXPECT_EQ(e.result.nodes_json, R"({"prep":{"output":{"who":"Ada"}}})");
}

TEST(HttpNode, ResumesWithTheResponseAsTheNodesOutput) {
  auto wf = CallWorkflow(kCall);
  Exec parked(*wf);
  HttpResponse resp{200, {{"Content-Type", "application/json"}}, R"({"greeting":"welcome"})"};
  const std::string output = HttpNodeOutput(resp);
  EXPECT_EQ(output, R"({"status":200,"headers":{"content-type":"application/json"},"body":{"greeting":"welcome"}})");
  const ResumePoint p = After(parked.result, output);
  Exec done(*wf, &p);
  ASSERT_EQ(done.result.status, ExecutionStatus::kCompleted) << done.result.error;
  EXPECT_EQ(done.result.output_json, R"({"who":"Ada","greeting":"welcome Ada"})");
  rapidjson::Document logs;
  logs.Parse(done.result.logs_json.c_str());
  ASSERT_TRUE(logs.IsArray()) << done.result.logs_json;
  ASSERT_EQ(logs.Size(), 4u);
  EXPECT_STREQ(logs[2]["type"].GetString(), "http_request");
  EXPECT_EQ(logs[2]["attempts"].GetInt(), 2);
  EXPECT_EQ(logs[2]["httpStatus"].GetInt(), 200);
}

TEST(HttpNode, AFailedCallFailsTheExecutionAtItsNode) {
  auto wf = CallWorkflow(kCall);
  Exec parked(*wf);
  const ResumePoint p = After(parked.result, "", "POST https://api.example.com/users/42 answered 404 Not Found");
  Exec done(*wf, &p);
  EXPECT_EQ(done.result.status, ExecutionStatus::kFailed);
  EXPECT_EQ(done.result.error, "node 'call' (http_request): POST https://api.example.com/users/42 answered 404 Not Found");
}

TEST(HttpNode, AMissingNodeOutputPathIsAnErrorThatNamesIt) {
  auto wf = CallWorkflow(kCall);
  Exec parked(*wf);
  // Named: the resume point only views it.
  const std::string response = HttpNodeOutput(HttpResponse{200, {}, R"({"other":1})"});
  const ResumePoint p = After(parked.result, response);
  Exec done(*wf, &p);
  EXPECT_EQ(done.result.status, ExecutionStatus::kFailed);
  EXPECT_NE(done.result.error.find("template path 'nodes.call.output.body.greeting' does not exist"),
            std::string::npos)
      << done.result.error;
}

TEST(HttpNode, BadConfigurationsAreDefinitionErrors) {
  EXPECT_NE(CallWorkflow(R"({})")->compile_error.find("url is required"), std::string::npos);
  EXPECT_NE(CallWorkflow(R"({"url":"x","method":"TRACE"})")->compile_error.find("method 'TRACE'"), std::string::npos);
  EXPECT_NE(CallWorkflow(R"({"url":"x","retry":{"maxAttempts":0}})")->compile_error.find("maxAttempts"),
            std::string::npos);
  EXPECT_NE(CallWorkflow(R"({"url":"x","timeoutMs":0})")->compile_error.find("timeoutMs"), std::string::npos);
}

TEST(HttpNode, ResponsesThatAreNotTextAreDescribedBySize) {
  EXPECT_EQ(HttpNodeOutput(HttpResponse{200, {}, std::string("a\0b", 3)}),
            R"({"status":200,"headers":{},"body":null,"bodyBytes":3})");
  EXPECT_EQ(HttpNodeOutput(HttpResponse{503, {{"Retry-After", "2"}, {"retry-after", "9"}}, "busy"}),
            R"({"status":503,"headers":{"retry-after":"2"},"body":"busy"})");
  EXPECT_TRUE(RetryableStatus(503));
  EXPECT_TRUE(RetryableStatus(429));
  EXPECT_FALSE(RetryableStatus(404));
  EXPECT_FALSE(RetryableStatus(200));
}

}  // namespace
}  // namespace hub::engine
