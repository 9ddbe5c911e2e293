// `ai_agent` nodes, the pure part: compiling the node, the request it parks
// with, the two wire formats (request bodies, answers, error bodies), the
// local provider, and resuming with the model's answer (text, usage, cost).
// No network here.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "clients/model_client.hpp"
#include "tests/support/http_stub.hpp"
#include "engine/agent_step.hpp"
#include "engine/workflow.hpp"

namespace hub::engine {
namespace {

constexpr int64_t kNow = 1'800'000'000'000'000;

std::shared_ptr<const CompiledWorkflow> AgentWorkflow(const std::string& agent_data) {
  return CompileWorkflow(
      "wf", "Agent", "org", true, "t",
      R"([{"id":"t","type":"trigger"},
          {"id":"prep","type":"transform","data":{"fields":{"topic":"{{input.topic}}"}}},
          {"id":"ask","type":"ai_agent","data":)" + agent_data + R"(},
          {"id":"use","type":"transform","data":{"fields":{"answer":"{{nodes.ask.output.text}}"}}}])",
      R"([{"source":"t","target":"prep"},{"source":"prep","target":"ask"},{"source":"ask","target":"use"}])", "");
}

struct Exec {
  rapidjson::Document event;
  ExecutionResult result;
  Exec(const CompiledWorkflow& wf, const ResumePoint* resume = nullptr) {
    event.Parse(R"({"id":"e1","data":{"input":{"topic":"tides","user":"Ada"}}})");
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
  p.attempts = 1;
  p.tokens_used = parked.tokens_used;
  p.cost = parked.cost;
  return p;
}

rapidjson::Document Parse(const std::string& json) {
  rapidjson::Document d;
  d.Parse(json.data(), json.size());
  EXPECT_FALSE(d.HasParseError()) << json;
  return d;
}

const char* kAgentNode =
    R"({"agentId":"agent_7","prompt":"Explain {{nodes.prep.output.topic}} to {{input.user}}",
        "systemPrompt":"Be brief.","maxTokens":300,"retry":{"maxAttempts":2,"backoffMs":50},"timeoutMs":9000})";

TEST(AgentNode, ParksWithTheRenderedPromptAndTheAgentItNames) {
  auto wf = AgentWorkflow(kAgentNode);
  ASSERT_TRUE(wf->compile_error.empty()) << wf->compile_error;
  Exec e(*wf);
  ASSERT_EQ(e.result.status, ExecutionStatus::kRunning) << e.result.error;
  ASSERT_EQ(e.result.parked.size(), 1u);
  EXPECT_EQ(e.result.parked[0].kind, "ai_agent");
  EXPECT_EQ(e.result.parked[0].due_us, kNow);
  AgentRequestSpec r;
  std::string why;
  ASSERT_TRUE(FromJson(e.result.parked[0].request, r, why)) << why;
  EXPECT_EQ(r.agent_id, "agent_7");
  EXPECT_EQ(r.prompt, "Explain tides to Ada");
  EXPECT_EQ(r.settings.system, "Be brief.");
  EXPECT_EQ(r.settings.max_tokens, 300);
  EXPECT_EQ(r.settings.provider, "");  // the agent's, at call time
  EXPECT_EQ(r.timeout_ms, 9000);
  EXPECT_EQ(r.retry.max_attempts, 2);
  EXPECT_EQ(r.retry.backoff_ms, 50);
}

TEST(AgentNode, TheStoredRequestRoundTrips) {
  AgentRequestSpec r;
  r.agent_id = "a\"1";
  r.settings.provider = "anthropic";
  r.settings.model = "claude-x";
  r.settings.system = "line1\nline2";
  r.settings.max_tokens = 77;
  r.settings.temperature = 0.25;
  r.settings.input_cents_per_million = 300;
  r.prompt = "héllo {\"x\"}";
  r.timeout_ms = 1234;
  r.retry = {5, 10};
  AgentRequestSpec back;
  std::string why;
  ASSERT_TRUE(FromJson(ToJson(r), back, why)) << why;
  EXPECT_EQ(back.agent_id, r.agent_id);
  EXPECT_EQ(back.settings.provider, "anthropic");
  EXPECT_EQ(back.settings.model, "claude-x");
  EXPECT_EQ(back.settings.system, r.settings.system);
  EXPECT_EQ(back.settings.max_tokens, 77);
  EXPECT_DOUBLE_EQ(back.settings.temperature, 0.25);
  EXPECT_DOUBLE_EQ(back.settings.input_cents_per_million, 300);
  EXPECT_DOUBLE_EQ(back.settings.output_cents_per_million, -1);
  EXPECT_EQ(back.prompt, r.prompt);
  EXPECT_EQ(back.timeout_ms, 1234);
  EXPECT_EQ(back.retry.max_attempts, 5);
  EXPECT_FALSE(FromJson(R"({"agentId":"x"})", back, why));
  EXPECT_NE(why.find("not one this worker wrote"), std::string::npos);
}

TEST(AgentNode, BadDefinitionsAreRefusedNamingTheNodeAndField) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"agentId":"a"})", "data.prompt is required"},
      {R"({"prompt":"x","maxTokens":0})", "data.maxTokens must be an integer from 1 to 32768"},
      {R"({"prompt":"x","maxTokens":100000})", "data.maxTokens must be an integer from 1 to 32768"},
      {R"({"prompt":"x","timeoutMs":60000})", "data.timeoutMs must be an integer from 1 to 25000"},
      {R"({"prompt":"x","modelConfig":{"provider":"gemini"}})", "provider 'gemini' is not one this worker speaks"},
      {R"({"prompt":"x","modelConfig":{"temperature":3}})", "data.modelConfig.temperature must be a number from 0 to 2"},
      {R"({"prompt":"x","modelConfig":"gpt"})", "data.modelConfig must be an object"},
      {R"({"prompt":"x","agentId":5})", "data.agentId must be an agent id"},
      {R"({"prompt":"{{input."})", "invalid workflow definition"},
  };
  for (const auto& [data, want] : cases) {
    auto wf = AgentWorkflow(data);
    EXPECT_NE(wf->compile_error.find(want), std::string::npos) << data << " -> " << wf->compile_error;
    EXPECT_NE(wf->compile_error.find("invalid workflow definition"), std::string::npos);
  }
  EXPECT_NE(AgentWorkflow(R"({"agentId":"a"})")->compile_error.find("ai_agent node 'ask'"), std::string::npos);
}

TEST(AgentNode, APromptThatRendersEmptyFailsTheExecution) {
  auto wf = AgentWorkflow(R"({"prompt":"{{input.missing}}"})");
  Exec e(*wf);
  EXPECT_EQ(e.result.status, ExecutionStatus::kFailed);
  EXPECT_EQ(e.result.error, "node 'ask' (ai_agent): prompt rendered empty");
}

TEST(AgentNode, ResumesWithTheAnswerAsOutputAndAddsItsUsageToTheExecution) {
  auto wf = AgentWorkflow(kAgentNode);
  Exec parked(*wf);
  ModelCall call;
  call.model = "m";
  call.input_cents_per_million = 250;     // $2.50 per million input tokens
  call.output_cents_per_million = 1000;   // $10 per million output tokens
  ModelAnswer answer;
  answer.kind = ModelAnswer::Kind::kAnswer;
  answer.text = "The moon pulls the sea.";
  answer.model = "m-2026";
  answer.stop_reason = "stop";
  answer.input_tokens = 1000;
  answer.output_tokens = 2000;
  const std::string output = AgentNodeOutput(call, answer, "openai");
  EXPECT_EQ(output,
            R"({"text":"The moon pulls the sea.","provider":"openai","model":"m-2026","stopReason":"stop",)"
            R"("usage":{"inputTokens":1000,"outputTokens":2000,"totalTokens":3000},"cost":2.25})");
  ResumePoint p = After(parked.result, output);
  p.tokens_used = 40;  // an earlier agent of the same execution
  p.cost = 0.5;
  Exec done(*wf, &p);
  ASSERT_EQ(done.result.status, ExecutionStatus::kCompleted) << done.result.error;
  EXPECT_EQ(done.result.output_json, R"({"topic":"tides","answer":"The moon pulls the sea."})");
  EXPECT_EQ(done.result.tokens_used, 3040);
  EXPECT_DOUBLE_EQ(done.result.cost, 2.75);
  auto logs = Parse(done.result.logs_json);
  ASSERT_EQ(logs.Size(), 4u);
  EXPECT_STREQ(logs[2]["nodeId"].GetString(), "ask");
  EXPECT_STREQ(logs[2]["type"].GetString(), "ai_agent");
  EXPECT_EQ(logs[2]["tokensUsed"].GetInt(), 3000);
  EXPECT_EQ(logs[2]["attempts"].GetInt(), 1);
}

TEST(AgentNode, AFailedCallFailsTheExecutionWithItsReasonAndKeepsEarlierUsage) {
  auto wf = AgentWorkflow(kAgentNode);
  Exec parked(*wf);
  ResumePoint p = After(parked.result, "", "the model answered HTTP 400: (invalid_request_error) max_tokens: too large");
  p.tokens_used = 12;
  Exec done(*wf, &p);
  EXPECT_EQ(done.result.status, ExecutionStatus::kFailed);
  EXPECT_EQ(done.result.error,
            "node 'ask' (ai_agent): the model answered HTTP 400: (invalid_request_error) max_tokens: too large");
  EXPECT_EQ(done.result.tokens_used, 12);
}

TEST(AgentNode, ReportedUsageIsCappedToWhatTheColumnsHold) {
  auto wf = AgentWorkflow(kAgentNode);
  Exec parked(*wf);
  const std::string output =
      R"({"text":"x","usage":{"totalTokens":9000000000000},"cost":1e300})";
  ResumePoint p = After(parked.result, output);
  Exec done(*wf, &p);
  ASSERT_EQ(done.result.status, ExecutionStatus::kCompleted) << done.result.error;
  EXPECT_EQ(done.result.tokens_used, kMaxTokensUsed);
  EXPECT_DOUBLE_EQ(done.result.cost, kMaxCostCents);
}

TEST(ModelSettings, TheNodesSettingsOverrideTheAgentsAndDefaultsFillTheRest) {
  ModelSettings agent;
  std::string why;
  ASSERT_TRUE(AgentSettings(
      R"({"provider":"anthropic","model":"claude-sonnet-4","temperature":0.3,"max_tokens":500,)"
      R"("systemPrompt":"You review orders.","pricing":{"inputCentsPerMillion":300,"outputCentsPerMillion":1500}})",
      R"({"tone":"formal"})", agent, why))
      << why;
  EXPECT_EQ(agent.system, "You review orders.\n\nPersonality: {\"tone\":\"formal\"}");
  AgentRequestSpec req;
  req.prompt = "p";
  req.settings.max_tokens = 64;
  ModelCall call = ResolveModelCall(agent, req);
  EXPECT_EQ(call.provider, "anthropic");
  EXPECT_EQ(call.model, "claude-sonnet-4");
  EXPECT_EQ(call.max_tokens, 64);
  EXPECT_DOUBLE_EQ(call.temperature, 0.3);
  EXPECT_DOUBLE_EQ(call.output_cents_per_million, 1500);
  call = ResolveModelCall(ModelSettings{}, req);
  EXPECT_EQ(call.provider, "openai");
  EXPECT_EQ(call.max_tokens, 64);
  EXPECT_LT(call.temperature, 0);
  req.settings.max_tokens = 0;
  EXPECT_EQ(ResolveModelCall(ModelSettings{}, req).max_tokens, kDefaultAgentTokens);
  EXPECT_FALSE(AgentSettings(R"({"provider":"gemini"})", "{}", agent, why));
  EXPECT_NE(why.find("model_config.provider"), std::string::npos) << why;
  EXPECT_FALSE(AgentSettings(R"([1])", "{}", agent, why));
}

ModelCall SampleCall() {
  ModelCall c;
  c.provider = "openai";
  c.model = "gpt-4o-mini";
  c.system = "Be \"brief\".";
  c.prompt = "Summarise:\nline";
  c.max_tokens = 128;
  c.temperature = 0.5;
  return c;
}

TEST(OpenAiFormat, TheRequestCarriesTheMessagesAndBounds) {
  auto body = Parse(OpenAiRequestBody(SampleCall()));
  EXPECT_STREQ(body["model"].GetString(), "gpt-4o-mini");
  ASSERT_EQ(body["messages"].Size(), 2u);
  EXPECT_STREQ(body["messages"][0]["role"].GetString(), "system");
  EXPECT_STREQ(body["messages"][0]["content"].GetString(), "Be \"brief\".");
  EXPECT_STREQ(body["messages"][1]["role"].GetString(), "user");
  EXPECT_STREQ(body["messages"][1]["content"].GetString(), "Summarise:\nline");
  EXPECT_EQ(body["max_tokens"].GetInt(), 128);
  EXPECT_DOUBLE_EQ(body["temperature"].GetDouble(), 0.5);
  ModelCall bare = SampleCall();
  bare.system.clear();
  bare.temperature = -1;
  auto b = Parse(OpenAiRequestBody(bare));
  EXPECT_EQ(b["messages"].Size(), 1u);
  EXPECT_FALSE(b.HasMember("temperature"));
}

TEST(OpenAiFormat, AnAnswerGivesTextStopReasonAndUsage) {
  const auto a = ParseOpenAiResponse(200, R"({
    "id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-mini-2024-07-18",
    "choices":[{"index":0,"message":{"role":"assistant","content":"Hi there","refusal":null},"finish_reason":"stop"}],
    "usage":{"prompt_tokens":19,"completion_tokens":10,"total_tokens":29}})");
  ASSERT_EQ(a.kind, ModelAnswer::Kind::kAnswer) << a.error;
  EXPECT_EQ(a.text, "Hi there");
  EXPECT_EQ(a.model, "gpt-4o-mini-2024-07-18");
  EXPECT_EQ(a.stop_reason, "stop");
  EXPECT_EQ(a.input_tokens, 19);
  EXPECT_EQ(a.output_tokens, 10);
}

TEST(OpenAiFormat, ErrorsSayWhatTheProviderSaidAndWhetherToRetry) {
  auto a = ParseOpenAiResponse(401, R"({"error":{"message":"Incorrect API key provided: sk-abc***xyz.",
                                        "type":"invalid_request_error","param":null,"code":"invalid_api_key"}})");
  EXPECT_EQ(a.kind, ModelAnswer::Kind::kError);
  EXPECT_EQ(a.error, "the model answered HTTP 401: (invalid_request_error) Incorrect API key provided: sk-abc***xyz.");
  a = ParseOpenAiResponse(429, R"({"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}})");
  EXPECT_EQ(a.kind, ModelAnswer::Kind::kRetryable);
  EXPECT_NE(a.error.find("HTTP 429"), std::string::npos);
  a = ParseOpenAiResponse(503, "<html>upstream down</html>");
  EXPECT_EQ(a.kind, ModelAnswer::Kind::kRetryable);
  EXPECT_EQ(a.error, "the model answered HTTP 503: <html>upstream down</html>");
  a = ParseOpenAiResponse(200, "not json");
  EXPECT_EQ(a.kind, ModelAnswer::Kind::kError);
  EXPECT_NE(a.error.find("is not a chat completion: not a JSON object"), std::string::npos) << a.error;
  a = ParseOpenAiResponse(200, R"({"choices":[]})");
  EXPECT_EQ(a.error, "the model's answer is not a chat completion: it has no choices");
  a = ParseOpenAiResponse(200, R"({"choices":[{"message":{"role":"assistant","content":null,"refusal":"I can't"}}]})");
  EXPECT_EQ(a.error, "the model's answer is not a chat completion: the model refused: I can't");
  a = ParseOpenAiResponse(200, R"({"choices":[{"message":{"content":null,"tool_calls":[{"id":"c"}]}}]})");
  EXPECT_NE(a.error.find("tool calls"), std::string::npos);
  a = ParseOpenAiResponse(200, R"({"choices":[{"message":{"content":"a\u0000b"}}]})");
  EXPECT_EQ(a.kind, ModelAnswer::Kind::kError);
  EXPECT_NE(a.error.find("NUL"), std::string::npos);
}

TEST(AnthropicFormat, TheRequestHasMaxTokensSystemAndTheUserMessage) {
  ModelCall c = SampleCall();
  c.provider = "anthropic";
  c.model = "claude-sonnet-4-20250514";
  auto body = Parse(AnthropicRequestBody(c));
  EXPECT_STREQ(body["model"].GetString(), "claude-sonnet-4-20250514");
  EXPECT_EQ(body["max_tokens"].GetInt(), 128);
  EXPECT_STREQ(body["system"].GetString(), "Be \"brief\".");
  ASSERT_EQ(body["messages"].Size(), 1u);
  EXPECT_STREQ(body["messages"][0]["role"].GetString(), "user");
  EXPECT_STREQ(body["messages"][0]["content"].GetString(), "Summarise:\nline");
  EXPECT_DOUBLE_EQ(body["temperature"].GetDouble(), 0.5);
}

TEST(AnthropicFormat, AnAnswerJoinsTheTextBlocks) {
  const auto a = ParseAnthropicResponse(200, R"({
    "id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-20250514",
    "content":[{"type":"text","text":"Hello"},{"type":"thinking","thinking":"..."},{"type":"text","text":", Ada"}],
    "stop_reason":"end_turn","stop_sequence":null,
    "usage":{"input_tokens":12,"output_tokens":6,"cache_read_input_tokens":0}})");
  ASSERT_EQ(a.kind, ModelAnswer::Kind::kAnswer) << a.error;
  EXPECT_EQ(a.text, "Hello, Ada");
  EXPECT_EQ(a.stop_reason, "end_turn");
  EXPECT_EQ(a.model, "claude-sonnet-4-20250514");
  EXPECT_EQ(a.input_tokens, 12);
  EXPECT_EQ(a.output_tokens, 6);
}

TEST(AnthropicFormat, ErrorsSayWhatTheProviderSaidAndWhetherToRetry) {
  auto a = ParseAnthropicResponse(
      400, R"({"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: Field required"},"request_id":"req_1"})");
  EXPECT_EQ(a.kind, ModelAnswer::Kind::kError);
  EXPECT_EQ(a.error, "the model answered HTTP 400: (invalid_request_error) max_tokens: Field required");
  a = ParseAnthropicResponse(529, R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})");
  EXPECT_EQ(a.kind, ModelAnswer::Kind::kRetryable);
  EXPECT_EQ(a.error, "the model answered HTTP 529: (overloaded_error) Overloaded");
  a = ParseAnthropicResponse(200, R"({"type":"message","content":"hi"})");
  EXPECT_EQ(a.error, "the model's answer is not a message: it has no content array");
  a = ParseAnthropicResponse(200, R"({"type":"message","content":[{"type":"tool_use","id":"t","name":"n","input":{}}],
                                      "stop_reason":"tool_use"})");
  EXPECT_NE(a.error.find("stop_reason tool_use"), std::string::npos) << a.error;
}

TEST(LocalProvider, IsADeterministicFunctionOfTheCall) {
  ModelCall c = SampleCall();
  c.provider = "local";
  const auto a = LocalModelAnswer(c), b = LocalModelAnswer(c);
  ASSERT_EQ(a.kind, ModelAnswer::Kind::kAnswer);
  EXPECT_EQ(a.text, b.text);
  EXPECT_EQ(a.text.rfind("[local ", 0), 0u) << a.text;
  EXPECT_NE(a.text.find("Summarise:\nline"), std::string::npos);
  EXPECT_EQ(a.input_tokens, static_cast<int64_t>((c.system.size() + c.prompt.size() + 3) / 4));
  EXPECT_EQ(a.output_tokens, static_cast<int64_t>((a.text.size() + 3) / 4));
  ModelCall other = c;
  other.system = "Be long.";
  EXPECT_NE(LocalModelAnswer(other).text.substr(0, 16), a.text.substr(0, 16));  // the digest follows the input
  other = c;
  other.max_tokens = 2;  // at most 8 bytes
  const auto cut = LocalModelAnswer(other);
  EXPECT_LE(cut.text.size(), 8u);
  EXPECT_EQ(cut.stop_reason, "length");
  EXPECT_DOUBLE_EQ(CostCents(c, a), 0);
}

TEST(ModelClient, TheLocalProviderAnswersWhenNoEndpointIsConfigured) {
  clients::ModelClient client(clients::ModelClientOptions{});
  ModelCall c = SampleCall();
  for (const char* provider : {"openai", "anthropic", "local"}) {
    c.provider = provider;
    const auto o = client.Complete(c, 1000, "k");
    EXPECT_EQ(o.provider, "local");
    EXPECT_FALSE(o.called);
    EXPECT_EQ(o.answer.kind, ModelAnswer::Kind::kAnswer);
  }
  c.provider = "gemini";
  const auto o = client.Complete(c, 1000, "k");
  EXPECT_EQ(o.answer.kind, ModelAnswer::Kind::kError);
  EXPECT_NE(o.answer.error.find("not one this worker speaks"), std::string::npos);
}

TEST(ModelClient, CallsTheConfiguredEndpointOnlyAndSaysWhenThereIsNoAnswer) {
  testing::HttpStub stub([](const testing::HttpStub::Request&) {
    return testing::HttpStub::Response{
        200, {{"Content-Type", "application/json"}},
        R"({"choices":[{"message":{"content":"key sk-unit-1 leaked"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":2}})"};
  });
  clients::ModelClientOptions o;
  o.openai = {stub.url("/v1/"), "sk-unit-1"};  // a trailing slash is not doubled
  clients::ModelClient client(o);
  ModelCall c = SampleCall();
  auto out = client.Complete(c, 5000, "exec:node");
  ASSERT_EQ(out.answer.kind, ModelAnswer::Kind::kAnswer) << out.answer.error;
  EXPECT_TRUE(out.called);
  EXPECT_EQ(out.provider, "openai");
  EXPECT_EQ(out.answer.text, "key [redacted] leaked");
  ASSERT_EQ(stub.requests().size(), 1u);
  EXPECT_EQ(stub.requests()[0].target, "/v1/chat/completions");
  EXPECT_EQ(stub.requests()[0].headers.at("idempotency-key"), "exec:node");
  c.model.clear();
  out = client.Complete(c, 5000, "k");
  EXPECT_EQ(out.answer.kind, ModelAnswer::Kind::kError);
  EXPECT_NE(out.answer.error.find("no model is named"), std::string::npos);
  EXPECT_EQ(stub.requests().size(), 1u);

  uint16_t closed_port = 0;
  {
    testing::HttpStub gone([](const testing::HttpStub::Request&) { return testing::HttpStub::Response{}; });
    closed_port = gone.port();
  }
  clients::ModelClientOptions down;
  down.anthropic = {"http://127.0.0.1:" + std::to_string(closed_port), "k"};
  c = SampleCall();
  c.provider = "anthropic";
  out = clients::ModelClient(down).Complete(c, 2000, "k");
  EXPECT_EQ(out.answer.kind, ModelAnswer::Kind::kRetryable) << out.answer.error;
  EXPECT_EQ(out.answer.error.rfind("the model call failed: ", 0), 0u) << out.answer.error;
}

TEST(ModelClient, RedactsTheKeyFromText) {
  EXPECT_EQ(clients::Redact("bad key sk-123 (sk-123)", "sk-123"), "bad key [redacted] ([redacted])");
  EXPECT_EQ(clients::Redact("nothing", ""), "nothing");
}

}  // namespace
}  // namespace hub::engine
