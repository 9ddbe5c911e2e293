// ai_agent steps through `hubworker run`: a model endpoint on 127.0.0.1 that
// speaks the OpenAI Chat Completions format (HUB_LLM_BASE_URL), one that
// speaks the Anthropic Messages format (HUB_ANTHROPIC_BASE_URL), and neither
// (the built-in local provider, no network).  The answer flows into the next
// node, the usage into tokensUsed and cost, and the key into no log line.
#include <gtest/gtest.h>

#include "tests/support/http_stub.hpp"
#include "tests/support/pipeline_fixture.hpp"

namespace hub {
namespace {
using namespace std::chrono_literals;
using testing::HttpStub;
using testing::TestConsumer;
using testing::TestProducer;

constexpr const char* kKey = "sk-e2e-5f7c2a91-do-not-log";

class AgentStepsTest : public testing::PipelineFixture {
 protected:
  // workflows_[0]: trigger -> ask (ai_agent) -> notification of the answer.
  void DefineAgentWorkflow(const std::string& agent_data) {
    testing::SetWorkflowDefinition(db_->admin_url(), workflows_[0],
                                   R"([{"id":"t","type":"trigger"},
                                       {"id":"ask","type":"ai_agent","data":)" + agent_data + R"(},
                                       {"id":"n","type":"notification","data":{"userId":"user_a","title":"t",
                                        "message":"{{nodes.ask.output.text}}"}}])",
                                   R"([{"source":"t","target":"ask"},{"source":"ask","target":"n"}])");
  }

  void AddAgent(const std::string& id, const std::string& model_config) {
    pqxx::connection c(db_->admin_url());
    pqxx::work t(c);
    t.exec_params("INSERT INTO ai_agents (id, organization_id, name, model_config) VALUES ($1, 'org_a', 'Agent', $2)",
                  id, model_config);
    t.commit();
  }

  // Triggers workflows_[0] once and returns its completion event.
  std::string RunOnce(testing::ChildProcess& worker) {
    TestConsumer completions(broker_->bootstrap(), "hub.workflow.completed");
    TestProducer producer(broker_->bootstrap());
    producer.Produce("hub.workflow.triggered", workflows_[0],
                     worker::MakeWorkflowTriggered("agent-1", "org_a", workflows_[0], "Ada"),
                     {{"content-type", "application/cloudevents+json"}});
    producer.Flush();
    EXPECT_TRUE(WaitDistinctCompletions(completions, 1, 90s)) << worker.StderrText() << Progress();
    return completions.messages().empty() ? std::string() : completions.messages().at(0).value;
  }

  static rapidjson::Document Data(const std::string& event) {
    rapidjson::Document d;
    d.Parse(event.c_str());
    EXPECT_TRUE(d.IsObject() && d.HasMember("data")) << event;
    return d;
  }
};

TEST_F(AgentStepsTest, AnOpenAiCompatibleEndpointAnswersAndItsUsageReachesTheCompletionEvent) {
  HttpStub llm([](const HttpStub::Request& r) {
    if (r.target != "/v1/chat/completions" || r.headers.count("authorization") == 0 ||
        r.headers.at("authorization") != std::string("Bearer ") + kKey)
      return HttpStub::Response{401, {{"Content-Type", "application/json"}},
                                R"({"error":{"message":"bad path or key","type":"invalid_request_error"}})"};
    return HttpStub::Response{
        200, {{"Content-Type", "application/json"}},
        R"({"id":"chatcmpl-7","object":"chat.completion","created":1,"model":"gpt-e2e",
            "choices":[{"index":0,"message":{"role":"assistant","content":"Welcome aboard, Ada."},"finish_reason":"stop"}],
            "usage":{"prompt_tokens":120,"completion_tokens":30,"total_tokens":150}})"};
  });
  AddAgent("agent_writer", R"({"provider":"openai","model":"gpt-e2e","systemPrompt":"You greet people.",)"
                           R"("pricing":{"inputCentsPerMillion":50000,"outputCentsPerMillion":100000}})");
  DefineAgentWorkflow(R"({"agentId":"agent_writer","prompt":"Greet {{input.name}}"})");
  auto worker = StartWorker({{"HUB_LLM_BASE_URL", llm.url("/v1")}, {"HUB_LLM_API_KEY", kKey}});
  const std::string event = RunOnce(*worker);
  StopWorker(*worker);
  const auto d = Data(event);
  EXPECT_STREQ(d["data"]["status"].GetString(), "COMPLETED") << event;
  EXPECT_EQ(d["data"]["tokensUsed"].GetInt(), 150) << event;
  // 120 x 50,000 + 30 x 100,000 cents per million tokens = 9 cents.
  EXPECT_DOUBLE_EQ(d["data"]["cost"].GetDouble(), 9.0) << event;
  EXPECT_EQ(Count("SELECT count(*) FROM notifications WHERE message = 'Welcome aboard, Ada.'"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM workflow_executions WHERE tokens_used = 150 AND cost = 9.00"), 1);
  ASSERT_EQ(llm.requests().size(), 1u);
  EXPECT_NE(llm.requests()[0].body.find("\"content\":\"Greet Ada\""), std::string::npos) << llm.requests()[0].body;
  EXPECT_EQ(worker->StderrText().find(kKey), std::string::npos);
}

TEST_F(AgentStepsTest, AnAnthropicAgentIsAnsweredByTheMessagesEndpoint) {
  HttpStub anthropic([](const HttpStub::Request& r) {
    if (r.target != "/v1/messages" || r.headers.count("x-api-key") == 0 || r.headers.at("x-api-key") != kKey ||
        r.headers.count("anthropic-version") == 0)
      return HttpStub::Response{
          401, {{"Content-Type", "application/json"}},
          R"({"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}})"};
    return HttpStub::Response{
        200, {{"Content-Type", "application/json"}},
        R"({"id":"msg_e2e","type":"message","role":"assistant","model":"claude-e2e",
            "content":[{"type":"text","text":"Ada, you are in."}],"stop_reason":"end_turn","stop_sequence":null,
            "usage":{"input_tokens":21,"output_tokens":7}})"};
  });
  HttpStub openai([](const HttpStub::Request&) { return HttpStub::Response{500, {}, "not me"}; });
  AddAgent("agent_critic", R"({"provider":"anthropic","model":"claude-e2e","maxTokens":256})");
  DefineAgentWorkflow(R"({"agentId":"agent_critic","prompt":"Admit {{input.name}}"})");
  auto worker = StartWorker({{"HUB_ANTHROPIC_BASE_URL", anthropic.url()},
                             {"HUB_ANTHROPIC_API_KEY", kKey},
                             {"HUB_LLM_BASE_URL", openai.url()}});
  const std::string event = RunOnce(*worker);
  StopWorker(*worker);
  const auto d = Data(event);
  EXPECT_STREQ(d["data"]["status"].GetString(), "COMPLETED") << event;
  EXPECT_EQ(d["data"]["tokensUsed"].GetInt(), 28) << event;
  EXPECT_EQ(Count("SELECT count(*) FROM notifications WHERE message = 'Ada, you are in.'"), 1);
  EXPECT_EQ(anthropic.requests().size(), 1u);
  EXPECT_EQ(openai.requests().size(), 0u);
  EXPECT_EQ(worker->StderrText().find(kKey), std::string::npos);
}

TEST_F(AgentStepsTest, WithoutAnEndpointTheLocalProviderAnswersOffline) {
  DefineAgentWorkflow(R"({"prompt":"Greet {{input.name}}","systemPrompt":"Be kind."})");
  auto worker = StartWorker();
  const std::string event = RunOnce(*worker);
  StopWorker(*worker);
  const auto d = Data(event);
  EXPECT_STREQ(d["data"]["status"].GetString(), "COMPLETED") << event;
  EXPECT_GT(d["data"]["tokensUsed"].GetInt(), 0) << event;
  EXPECT_DOUBLE_EQ(d["data"]["cost"].GetDouble(), 0.0);
  EXPECT_EQ(Count("SELECT count(*) FROM notifications WHERE message LIKE '[local %] Greet Ada'"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM execution_call_results WHERE output->>'provider' = 'local'"), 1);
}

}  // namespace
}  // namespace hub
