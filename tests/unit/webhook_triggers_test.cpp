// Which workflows a webhook triggers, and the events it emits: pure.
#include <gtest/gtest.h>

#include <string>

#include <rapidjson/document.h>

#include "consumers/schema_registry.hpp"
#include "engine/webhook_triggers.hpp"

namespace hub {
namespace {

rapidjson::Document Nodes(const char* json) {
  rapidjson::Document d;
  d.Parse(json);
  return d;
}

TEST(WebhookTriggers, ATriggerNodeNamingTheIntegrationListensToTheEventTypesItLists) {
  const auto d = Nodes(R"([{"id":"t","type":"trigger","data":{"integrationId":"int_1","eventTypes":["push","issues"]}},
                          {"id":"x","type":"transform","data":{"fields":{}}}])");
  EXPECT_TRUE(engine::TriggerListens(d, "int_1", "push"));
  EXPECT_TRUE(engine::TriggerListens(d, "int_1", "issues"));
  EXPECT_FALSE(engine::TriggerListens(d, "int_1", "release"));
  EXPECT_FALSE(engine::TriggerListens(d, "int_2", "push"));
}

TEST(WebhookTriggers, NoEventTypesOrAStarMeansEveryEventType) {
  EXPECT_TRUE(engine::TriggerListens(Nodes(R"([{"id":"t","type":"trigger","data":{"integrationId":"i"}}])"), "i", "x"));
  EXPECT_TRUE(engine::TriggerListens(
      Nodes(R"([{"id":"t","type":"trigger","data":{"integrationId":"i","eventTypes":[]}}])"), "i", "x"));
  EXPECT_TRUE(engine::TriggerListens(
      Nodes(R"([{"id":"t","type":"trigger","data":{"integrationId":"i","eventTypes":["*"]}}])"), "i", "x"));
}

TEST(WebhookTriggers, OnlyTriggerNodesCountWhereverTheTypeIsWritten) {
  // React-Flow's "custom" nodes carry their type in data.type.
  EXPECT_TRUE(engine::TriggerListens(
      Nodes(R"([{"id":"t","type":"custom","data":{"type":"trigger","integrationId":"i"}}])"), "i", "x"));
  // A transform that mentions the integration is not a trigger.
  EXPECT_FALSE(engine::TriggerListens(
      Nodes(R"([{"id":"t","type":"transform","data":{"integrationId":"i"}}])"), "i", "x"));
  for (const char* odd : {"{}", "[1,\"a\",null]", R"([{"type":"trigger","data":"i"}])",
                          R"([{"type":"trigger","data":{"integrationId":7}}])"})
    EXPECT_FALSE(engine::TriggerListens(Nodes(odd), "i", "x")) << odd;
}

engine::WebhookContext Context(std::string_view body) {
  engine::WebhookContext c;
  c.organization_id = "org_1";
  c.integration_id = "int_1";
  c.provider = "github";
  c.event_type = "push";
  c.operation_id = "op-1";
  c.body = body;
  c.webhook_event_id = "gh-delivery-1";
  c.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  c.now_unix_us = 1'700'000'000'000'000;
  return c;
}

// The emitted events pass the same validation as any input (schemas/events).
void ExpectValid(const std::string& event, const char* type) {
  static consumers::SchemaRegistry schemas(consumers::SchemaRegistry::DefaultDir());
  rapidjson::Document d;
  d.Parse(event.c_str(), event.size());
  ASSERT_FALSE(d.HasParseError()) << event;
  const auto* schema = schemas.Find(type);
  ASSERT_NE(schema, nullptr);
  rapidjson::SchemaValidator v(*schema);
  EXPECT_TRUE(d.Accept(v)) << event;
}

TEST(WebhookTriggers, TheTriggeredEventCarriesTheBodyAndADerivedId) {
  const auto c = Context(R"({"ref":"refs/heads/main"})");
  const std::string ev = engine::BuildWebhookTriggered(c, "wf_1");
  ExpectValid(ev, "workflow.triggered");
  rapidjson::Document d;
  d.Parse(ev.c_str());
  EXPECT_STREQ(d["id"].GetString(), "op-1:wf_1");
  EXPECT_EQ(engine::TriggeredEventId("op-1", "wf_1"), "op-1:wf_1");
  EXPECT_STREQ(d["type"].GetString(), "workflow.triggered");
  EXPECT_STREQ(d["traceparent"].GetString(), c.traceparent.data());
  const auto& data = d["data"];
  EXPECT_STREQ(data["workflowId"].GetString(), "wf_1");
  EXPECT_STREQ(data["correlationId"].GetString(), "gh-delivery-1");
  EXPECT_STREQ(data["input"]["body"].GetString(), R"({"ref":"refs/heads/main"})");
  EXPECT_STREQ(data["input"]["payload"]["ref"].GetString(), "refs/heads/main");
  EXPECT_STREQ(data["input"]["eventType"].GetString(), "push");
  EXPECT_EQ(engine::BuildWebhookTriggered(c, "wf_1"), ev);  // the same inputs, the same bytes
}

TEST(WebhookTriggers, ABodyThatIsNotAJsonObjectTravelsAsAStringOnly) {
  for (const char* body : {"token=x&team_id=T1", "", "[1,2", "{\"a\":1} trailing", "42"}) {
    const std::string ev = engine::BuildWebhookTriggered(Context(body), "wf_1");
    ExpectValid(ev, "workflow.triggered");
    rapidjson::Document d;
    d.Parse(ev.c_str());
    EXPECT_STREQ(d["data"]["input"]["body"].GetString(), body);
    EXPECT_FALSE(d["data"]["input"].HasMember("payload")) << body;
  }
}

TEST(WebhookTriggers, TheProcessedEventListsTheTriggeredWorkflows) {
  const auto c = Context("{}");
  const std::string ev = engine::BuildIntegrationProcessed(c, "completed", {"wf_1", "wf_2"});
  ExpectValid(ev, "integration.processed");
  rapidjson::Document d;
  d.Parse(ev.c_str());
  EXPECT_STREQ(d["id"].GetString(), "op-1");
  EXPECT_STREQ(d["data"]["status"].GetString(), "completed");
  ASSERT_EQ(d["data"]["triggeredWorkflows"].Size(), 2u);
  EXPECT_STREQ(d["data"]["triggeredWorkflows"][1].GetString(), "wf_2");
  const std::string cancelled = engine::BuildIntegrationProcessed(c, "cancelled", {}, "integration 'int_1' is inactive");
  ExpectValid(cancelled, "integration.processed");
  d.Parse(cancelled.c_str());
  EXPECT_EQ(d["data"]["triggeredWorkflows"].Size(), 0u);
  EXPECT_STREQ(d["data"]["error"].GetString(), "integration 'int_1' is inactive");
}

}  // namespace
}  // namespace hub
