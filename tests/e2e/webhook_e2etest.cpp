// integration.webhook end to end: `hubworker run` with the embedded broker
// verifies signed webhooks, triggers the workflows listening to the
// integration (they run and complete through the ordinary workflow path) and
// publishes integration.processed; wrong, stale and replayed signatures
// become dead letters of class `signature`; a redelivered webhook does
// nothing twice; a worker without HUB_SECRET_KEY refuses webhooks and goes on.
#include <gtest/gtest.h>

#include <ctime>
#include <map>
#include <string>
#include <vector>

#include "common/json_text.hpp"
#include "common/secret_box.hpp"
#include "engine/webhook_signature.hpp"
#include "tests/support/pipeline_fixture.hpp"

namespace hub {
namespace {
using namespace std::chrono_literals;
using testing::JsonString;
using testing::TestConsumer;
using testing::TestProducer;

const std::string kKey = common::EncodeBase64(std::string(32, 'e'));
constexpr const char* kSigningSecret = "e2e-slack-signing-secret";
const std::vector<std::pair<std::string, std::string>> kStructured = {
    {"content-type", "application/cloudevents+json"}};

std::string SlackWebhook(const std::string& id, const std::string& body, int64_t ts,
                         const std::string& secret = kSigningSecret) {
  const std::string t = std::to_string(ts);
  std::string e = R"({"specversion":"1.0","id":")" + id +
                  R"(","source":"urn:gateway","type":"integration.webhook","time":"2026-12-04T10:00:00Z","data":)"
                  R"({"organizationId":"org_a","integrationId":"int_slack","eventType":"message","headers":{)"
                  R"("X-Slack-Request-Timestamp":")" + t + R"(","X-Slack-Signature":"v0=)" +
                  engine::HmacSha256Hex(secret, "v0:" + t + ":" + body) + R"("},"body":)";
  common::AppendJsonString(e, body);
  return e + "}}";
}

class WebhookE2eTest : public testing::PipelineFixture {
 protected:
  void SetUp() override {
    PipelineFixture::SetUp();
    const auto ring = common::SecretKeyring::FromBase64(kKey, {});
    pqxx::connection c(db_->admin_url());
    pqxx::work t(c);
    t.exec_params("INSERT INTO integrations (id, organization_id, name, provider, credentials, status) VALUES "
                  "('int_slack', 'org_a', 'Slack', 'slack', $1::jsonb, 'CONNECTED')",
                  R"({"signingSecret":")" + ring.Encrypt(kSigningSecret) + R"("})");
    t.exec("INSERT INTO automation_workflows (id, organization_id, name, nodes, edges) VALUES ('wf_on_slack', "
           "'org_a', 'On Slack', '[{\"id\":\"trigger\",\"type\":\"trigger\",\"data\":{\"integrationId\":"
           "\"int_slack\",\"eventTypes\":[\"message\"]}},{\"id\":\"t\",\"type\":\"transform\",\"data\":"
           "{\"fields\":{\"said\":\"{{input.payload.text}}\"}}}]', '[{\"source\":\"trigger\",\"target\":\"t\"}]')");
    t.commit();
  }

  static std::string Header(const testing::ReceivedMessage& m, const char* name) {
    auto at = m.headers.find(name);
    return at == m.headers.end() ? "" : at->second;
  }
};

TEST_F(WebhookE2eTest, ASignedWebhookTriggersAWorkflowThatCompletesAndBadSignaturesAreDeadLetters) {
  auto worker = StartWorker({{"HUB_SECRET_KEY", kKey}});
  TestConsumer processed(broker_->bootstrap(), "hub.integration.processed");
  TestConsumer completions(broker_->bootstrap(), "hub.workflow.completed");
  TestConsumer dead(broker_->bootstrap(), "hub.deadletter");
  TestProducer producer(broker_->bootstrap());
  const int64_t now = std::time(nullptr);
  const std::string hello = R"({"text":"hello from slack"})";
  const std::string good = SlackWebhook("slack-good-1", hello, now);
  producer.Produce("hub.integration.webhook", "int_slack", good, kStructured);
  producer.Produce("hub.integration.webhook", "int_slack",
                   SlackWebhook("slack-wrong", hello, now, "not the secret"), kStructured);
  producer.Produce("hub.integration.webhook", "int_slack", SlackWebhook("slack-stale", hello, now - 600), kStructured);
  // The captured request sent again under a new event id.
  std::string replay = good;
  replay.replace(replay.find("slack-good-1"), 12, "slack-replay");
  producer.Produce("hub.integration.webhook", "int_slack", replay, kStructured);
  // The same event delivered again: no second operation, no second run.
  producer.Produce("hub.integration.webhook", "int_slack", good, kStructured);
  producer.Produce("hub.integration.webhook", "int_slack",
                   SlackWebhook("slack-good-2", R"({"text":"second"})", now), kStructured);
  producer.Flush();

  ASSERT_TRUE(processed.PollUntil([](const auto& ms) { return ms.size() >= 2; }, 90s)) << worker->StderrText();
  ASSERT_TRUE(dead.PollUntil([](const auto& ms) { return ms.size() >= 3; }, 60s)) << worker->StderrText();
  ASSERT_TRUE(WaitDistinctCompletions(completions, 2, 60s)) << worker->StderrText();

  std::map<std::string, std::string> letters;  // key of the event id -> class: reason
  for (const auto& m : dead.messages())
    letters[JsonString(m.value, nullptr, "id")] = Header(m, "hub-error-class") + ": " + Header(m, "hub-error");
  ASSERT_EQ(letters.size(), 3u);
  EXPECT_EQ(letters["slack-wrong"].rfind("signature: ", 0), 0u) << letters["slack-wrong"];
  EXPECT_NE(letters["slack-wrong"].find("does not match"), std::string::npos) << letters["slack-wrong"];
  EXPECT_NE(letters["slack-stale"].find("s old"), std::string::npos) << letters["slack-stale"];
  EXPECT_EQ(letters["slack-replay"].rfind("signature: replayed webhook signature", 0), 0u) << letters["slack-replay"];
  for (const auto& m : dead.messages()) EXPECT_EQ(m.key, "int_slack");

  for (const auto& m : processed.messages()) {
    EXPECT_EQ(m.key, "int_slack");
    EXPECT_EQ(JsonString(m.value, "data", "status"), "completed");
    EXPECT_NE(m.value.find(R"("triggeredWorkflows":["wf_on_slack"])"), std::string::npos) << m.value;
  }
  std::set<std::string> said;
  for (const auto& m : completions.messages()) {
    EXPECT_EQ(JsonString(m.value, "data", "workflowId"), "wf_on_slack");
    EXPECT_EQ(JsonString(m.value, "data", "status"), "COMPLETED") << m.value;
    said.insert(m.value.find("hello from slack") != std::string::npos ? "hello" : m.value);
  }
  EXPECT_EQ(said.count("hello"), 1u);
  EXPECT_EQ(Count("SELECT count(*) FROM integration_operations WHERE status = 'completed'"), 2);
  EXPECT_EQ(Count("SELECT count(*) FROM workflow_executions WHERE workflow_id = 'wf_on_slack' AND correlation_id IN "
                  "('slack-good-1', 'slack-good-2') AND status = 'COMPLETED'"),
            2);
  // Nothing more arrives for the redelivery (the second good webhook came after it on the same partition).
  EXPECT_EQ(processed.messages().size(), 2u);
  // The signing secret is in no log line.
  EXPECT_EQ(worker->StderrText().find(kSigningSecret), std::string::npos);
  StopWorker(*worker);
}

TEST_F(WebhookE2eTest, WithoutHubSecretKeyWebhooksAreRefusedAndTheWorkerGoesOn) {
  auto worker = StartWorker();
  TestConsumer dead(broker_->bootstrap(), "hub.deadletter");
  TestConsumer completions(broker_->bootstrap(), "hub.workflow.completed");
  TestProducer producer(broker_->bootstrap());
  producer.Produce("hub.integration.webhook", "int_slack", SlackWebhook("no-key-1", "{}", std::time(nullptr)),
                   kStructured);
  producer.Flush();
  ProduceTriggered(producer, "after-webhook", 0, 20);
  ASSERT_TRUE(dead.PollUntil([](const auto& ms) { return !ms.empty(); }, 60s)) << worker->StderrText();
  EXPECT_EQ(Header(dead.messages()[0], "hub-error-class"), "signature");
  EXPECT_NE(Header(dead.messages()[0], "hub-error").find("HUB_SECRET_KEY is not set"), std::string::npos);
  ASSERT_TRUE(WaitDistinctCompletions(completions, 20, 60s)) << worker->StderrText();
  EXPECT_NE(worker->StderrText().find("HUB_SECRET_KEY is not set"), std::string::npos);  // said at start
  StopWorker(*worker);
}

}  // namespace
}  // namespace hub
