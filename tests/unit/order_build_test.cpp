// The order build's decisions (engine/order_build.hpp), without servers.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/schema.h>

#include <set>
#include <string>

#include "consumers/schema_registry.hpp"
#include "engine/order_build.hpp"

namespace hub::engine {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kNow = 1764843600000000;  // 2025-12-04T10:20:00Z

OrderRow Order(const std::string& config, const std::string& status = "SUBMITTED") {
  OrderRow o;
  o.id = "order_1";
  o.organization_id = "org_a";
  o.status = status;
  o.title = "Lead qualifier";
  o.agent_config_json = config;
  o.created_by = "user_a";
  return o;
}

rapidjson::Document Parse(const std::string& json) {
  rapidjson::Document d;
  d.Parse(json.c_str());
  EXPECT_FALSE(d.HasParseError()) << json;
  return d;
}

TEST(OrderBuild, ASubmittedOrderGoesThroughFourMilestonesAndProvisionsItsAgent) {
  const OrderBuild b = PlanOrderBuild(
      Order(R"({"name":"Qualifier","model_config":{"provider":"anthropic","model":"claude"},"capabilities":["score"]})"),
      "urn:x\x1f" "e1", "", kNow);
  ASSERT_EQ(b.outcome, OrderBuild::Outcome::kCompleted);
  EXPECT_EQ(b.new_status, "COMPLETED");
  ASSERT_EQ(b.milestones.size(), 4u);
  EXPECT_EQ(b.milestones.front().stage, "review");
  EXPECT_EQ(b.milestones.back().progress, 100);
  for (size_t i = 1; i < b.milestones.size(); ++i) EXPECT_GT(b.milestones[i].progress, b.milestones[i - 1].progress);
  ASSERT_TRUE(b.agent);
  EXPECT_EQ(b.agent->name, "Qualifier");
  EXPECT_EQ(b.agent->capabilities, std::vector<std::string>{"score"});
  EXPECT_EQ(Parse(b.agent->model_config_json)["provider"].GetString(), std::string("anthropic"));
  EXPECT_EQ(b.logs.size(), 4u);
  // Four order.milestone events, then order.completed naming the agent.
  ASSERT_EQ(b.events.size(), 5u);
  std::set<std::string> ids;
  for (size_t i = 0; i < 4; ++i) {
    const auto e = Parse(b.events[i]);
    EXPECT_EQ(e["type"].GetString(), std::string("order.milestone"));
    EXPECT_EQ(e["data"]["orderId"].GetString(), std::string("order_1"));
    EXPECT_EQ(e["data"]["milestoneId"].GetString(), b.milestones[i].id);
    EXPECT_EQ(e["data"]["progress"].GetInt(), b.milestones[i].progress);
    EXPECT_TRUE(e["data"]["completed"].GetBool());
    ids.insert(e["id"].GetString());
  }
  const auto done = Parse(b.events[4]);
  EXPECT_EQ(done["type"].GetString(), std::string("order.completed"));
  EXPECT_EQ(done["data"]["status"].GetString(), std::string("COMPLETED"));
  EXPECT_EQ(done["data"]["agentId"].GetString(), b.agent->id);
  EXPECT_FALSE(done["data"].HasMember("error"));
  ids.insert(done["id"].GetString());
  EXPECT_EQ(ids.size(), 5u);
}

TEST(OrderBuild, TheSameSubmissionPlansTheSameIdsAndAnotherSubmissionNewEventIds) {
  const OrderRow o = Order("{}");
  const OrderBuild a = PlanOrderBuild(o, "s\x1f" "e1", "", kNow);
  const OrderBuild again = PlanOrderBuild(o, "s\x1f" "e1", "", kNow);
  const OrderBuild other = PlanOrderBuild(o, "s\x1f" "e2", "", kNow);
  EXPECT_EQ(a.events, again.events);
  EXPECT_EQ(a.agent->id, other.agent->id);                  // one agent per order
  EXPECT_EQ(a.milestones[0].id, other.milestones[0].id);    // one row per milestone per order
  EXPECT_NE(Parse(a.events[0])["id"].GetString(), std::string(Parse(other.events[0])["id"].GetString()));
  EXPECT_NE(a.logs[0].id, other.logs[0].id);                // build logs are appended
}

TEST(OrderBuild, AnOrderOfAnotherOrganisationGetsAnotherAgentId) {
  OrderRow o = Order("{}");
  const std::string a = PlanOrderBuild(o, "e", "", kNow).agent->id;
  o.organization_id = "org_b";
  EXPECT_NE(PlanOrderBuild(o, "e", "", kNow).agent->id, a);
}

TEST(OrderBuild, WithoutANameTheTitleNamesTheAgent) {
  const OrderBuild b = PlanOrderBuild(Order("{}"), "e", "", kNow);
  ASSERT_TRUE(b.agent);
  EXPECT_EQ(b.agent->name, "Lead qualifier");
  EXPECT_EQ(b.agent->personality_json, "{}");
}

TEST(OrderBuild, AConfigurationThatCannotMakeAnAgentRejectsTheOrderWithTheReason) {
  const struct {
    std::string config, reason;
  } cases[] = {
      {"[]", "agent_config must be a JSON object"},
      {R"({"name":""})", "agent_config.name must be a string of 1 to 100"},
      {R"({"name":")" + std::string(101, 'x') + R"("})", "agent_config.name must be a string of 1 to 100"},
      {R"({"name":42})", "agent_config.name"},
      {R"({"model_config":{"provider":"skynet"}})", "provider must be one of local, openai, anthropic"},
      {R"({"model_config":[]})", "agent_config.model_config must be an object"},
      {R"({"personality":"grumpy"})", "agent_config.personality must be an object"},
      {R"({"capabilities":"all"})", "agent_config.capabilities must be an array"},
      {R"({"capabilities":[""]})", "each must be a string of 1 to 100"},
      {R"({"description":7})", "agent_config.description"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.config.substr(0, 60));
    const OrderBuild b = PlanOrderBuild(Order(c.config), "e", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                                        kNow);
    ASSERT_EQ(b.outcome, OrderBuild::Outcome::kRejected);
    EXPECT_EQ(b.new_status, "REJECTED");
    EXPECT_THAT(b.error, HasSubstr(c.reason));
    EXPECT_FALSE(b.agent);
    EXPECT_TRUE(b.milestones.empty());
    ASSERT_EQ(b.logs.size(), 1u);
    EXPECT_EQ(b.logs[0].level, "ERROR");
    ASSERT_EQ(b.events.size(), 1u);
    const auto e = Parse(b.events[0]);
    EXPECT_EQ(e["type"].GetString(), std::string("order.completed"));
    EXPECT_EQ(e["data"]["status"].GetString(), std::string("REJECTED"));
    EXPECT_THAT(e["data"]["error"].GetString(), HasSubstr(c.reason));
    EXPECT_EQ(e["traceparent"].GetString(), std::string("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"));
  }
}

TEST(OrderBuild, AnOrderThatIsNotSubmittedIsLeftAsItIsWithAWarning) {
  for (const char* status : {"DRAFT", "IN_PROGRESS", "COMPLETED", "CANCELLED", "REJECTED"}) {
    const OrderBuild b = PlanOrderBuild(Order("{}", status), "e", "", kNow);
    EXPECT_EQ(b.outcome, OrderBuild::Outcome::kNotSubmitted) << status;
    EXPECT_TRUE(b.new_status.empty());
    EXPECT_TRUE(b.events.empty());
    EXPECT_FALSE(b.agent);
    ASSERT_EQ(b.logs.size(), 1u);
    EXPECT_EQ(b.logs[0].level, "WARN");
    EXPECT_THAT(b.logs[0].message, HasSubstr(std::string("the order is ") + status));
  }
}

TEST(OrderBuild, NamesAreCountedInCharactersNotBytes) {
  std::string name;
  for (int i = 0; i < 100; ++i) name += "\xc3\xa9";  // é: 2 bytes, 1 character
  const OrderBuild b = PlanOrderBuild(Order(R"({"name":")" + name + R"("})"), "e", "", kNow);
  EXPECT_EQ(b.outcome, OrderBuild::Outcome::kCompleted) << b.error;
}

TEST(OrderBuild, EveryEventItEmitsIsValidAgainstTheContractSchemas) {
  const consumers::SchemaRegistry schemas(consumers::SchemaRegistry::DefaultDir());
  std::vector<std::string> events = PlanOrderBuild(Order("{}"), "e", "", kNow).events;
  for (const auto& e : PlanOrderBuild(Order(R"({"name":""})"), "e", "", kNow).events) events.push_back(e);
  ASSERT_EQ(events.size(), 6u);
  for (const auto& e : events) {
    const auto doc = Parse(e);
    const rapidjson::SchemaDocument* schema = schemas.Find(doc["type"].GetString());
    ASSERT_NE(schema, nullptr) << e;
    rapidjson::SchemaValidator validator(*schema);
    EXPECT_TRUE(doc.Accept(validator)) << e << "\n" << validator.GetInvalidSchemaKeyword();
  }
}

}  // namespace
}  // namespace hub::engine
