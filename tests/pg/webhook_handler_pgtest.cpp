// The integration.webhook family against a real PostgreSQL, through the
// batch applier a lane uses: a verified webhook records one operation,
// triggers the workflows listening to it (workflow.triggered in the outbox)
// and emits integration.processed, all in one transaction; redeliveries are
// applied once; wrong, stale and replayed signatures, unknown integrations
// and a missing key are refused with their class.
#include <chrono>
#include <deque>
#include <thread>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pqxx/pqxx>
#include <rapidjson/document.h>

#include "common/clock.hpp"
#include "common/json_text.hpp"
#include "common/metrics.hpp"
#include "common/secret_box.hpp"
#include "consumers/batch_applier.hpp"
#include "consumers/envelope.hpp"
#include "consumers/schema_registry.hpp"
#include "engine/webhook_signature.hpp"
#include "store/connection.hpp"
#include "tests/support/pg_fixture.hpp"
#include "tests/support/process.hpp"
#include "worker/catalogue.hpp"
#include "worker/seed.hpp"

namespace hub {
namespace {

using ::testing::HasSubstr;
using consumers::ItemState;

constexpr const char* kOrg = "org_hooks";
constexpr const char* kOther = "org_other";
constexpr const char* kSecret = "gh-signing-secret";
constexpr const char* kSlackSecret = "slack-signing-secret";
const std::string kKey = common::EncodeBase64(std::string(32, 'k'));

using Headers = std::vector<std::pair<std::string, std::string>>;

std::string Webhook(const std::string& id, const std::string& org, const std::string& integration,
                    const std::string& event_type, const Headers& headers, const std::string& body) {
  std::string e = R"({"specversion":"1.0","id":)";
  common::AppendJsonString(e, id);
  e += R"(,"source":"urn:gateway","type":"integration.webhook","time":"2023-11-14T22:13:20Z","data":{"organizationId":)";
  common::AppendJsonString(e, org);
  e += R"(,"integrationId":)";
  common::AppendJsonString(e, integration);
  e += R"(,"eventType":)";
  common::AppendJsonString(e, event_type);
  e += R"(,"headers":{)";
  for (size_t i = 0; i < headers.size(); ++i) {
    if (i) e += ',';
    common::AppendJsonString(e, headers[i].first);
    e += ':';
    common::AppendJsonString(e, headers[i].second);
  }
  e += R"(},"body":)";
  common::AppendJsonString(e, body);
  e += "}}";
  return e;
}

Headers Github(const std::string& body, const std::string& secret = kSecret) {
  return {{"X-GitHub-Event", "push"}, {"X-Hub-Signature-256", "sha256=" + engine::HmacSha256Hex(secret, body)}};
}

Headers Slack(const std::string& body, int64_t ts, const std::string& secret = kSlackSecret) {
  const std::string t = std::to_string(ts);
  return {{"x-slack-request-timestamp", t},
          {"x-slack-signature", "v0=" + engine::HmacSha256Hex(secret, "v0:" + t + ":" + body)}};
}

std::string Listening(const std::string& integration, const std::string& event_types) {
  return R"([{"id":"trigger","type":"trigger","data":{"integrationId":")" + integration + R"(")" +
         (event_types.empty() ? "" : R"(,"eventTypes":)" + event_types) +
         R"(}},{"id":"t","type":"transform","data":{"fields":{"got":"{{input.eventType}}"}}}])";
}

class WebhookHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ring_ = std::make_shared<const common::SecretKeyring>(common::SecretKeyring::FromBase64(kKey, {}));
    for (const char* org : {kOrg, kOther}) {
      worker::SeedOptions so;
      so.organization_id = org;
      so.user_id = std::string("user_") + org;
      so.workflows = 1;
      so.with_inactive = false;
      worker::SeedOrganization(db_.owner_url(), so);
    }
    pqxx::connection c(db_.owner_url());
    pqxx::work t(c);
    store::SetTenant(t, kOrg);
    auto integration = [&](const std::string& id, const std::string& provider, const std::string& creds, bool active) {
      t.exec_params("INSERT INTO integrations (id, organization_id, name, provider, credentials, is_active, status) "
                    "VALUES ($1, $2, 'Hook', $3, $4::jsonb, $5, 'CONNECTED')",
                    id, kOrg, provider, creds, active);
    };
    auto secret = [&](const char* s) { return R"({"signingSecret":")" + ring_->Encrypt(s) + R"("})"; };
    integration("int_gh", "github", secret(kSecret), true);
    integration("int_slack", "slack", secret(kSlackSecret), true);
    integration("int_off", "github", secret(kSecret), false);
    integration("int_nosecret", "webhook", "{}", true);
    integration("int_plain", "webhook", R"({"signingSecret":"plain-text"})", true);
    auto workflow = [&](const std::string& id, const std::string& nodes, bool active) {
      t.exec_params("INSERT INTO automation_workflows (id, organization_id, name, nodes, edges, is_active) "
                    "VALUES ($1::text, $2, $1::text, $3::jsonb, '[{\"id\":\"e\",\"source\":\"trigger\",\"target\":\"t\"}]', $4)",
                    id, kOrg, nodes, active);
    };
    workflow("wf_push", Listening("int_gh", R"(["push"])"), true);
    workflow("wf_any", Listening("int_gh", ""), true);
    workflow("wf_issues", Listening("int_gh", R"(["issues"])"), true);
    workflow("wf_slack", Listening("int_slack", ""), true);
    workflow("wf_off", Listening("int_gh", ""), false);
    t.commit();
    // The other organisation has an integration of the same provider.
    pqxx::work o(c);
    store::SetTenant(o, kOther);
    o.exec_params("INSERT INTO integrations (id, organization_id, name, provider, credentials) "
                  "VALUES ('int_foreign', $1, 'Theirs', 'github', $2::jsonb)",
                  kOther, secret(kSecret));
    o.commit();
  }

  // Parses and applies `events` in one batch; returns the items.
  std::deque<consumers::WorkItem>& Apply(const std::vector<std::string>& events,
                                         std::shared_ptr<const common::SecretKeyring> ring = nullptr) {
    values_.insert(values_.end(), events.begin(), events.end());
    batch_.clear();
    std::vector<consumers::WorkItem*> ptrs;
    const int family = worker::Catalogue().IndexOf("integration.webhook");
    for (size_t i = values_.size() - events.size(); i < values_.size(); ++i) {
      auto& it = batch_.emplace_back();
      it.in.topic = "hub.integration.webhook";
      it.in.offset = static_cast<int64_t>(i);
      it.in.value = values_[i];
      it.family = family;
      parser_.Parse(it.in, "integration.webhook", it.env);
      ptrs.push_back(&it);
    }
    consumers::HandlerDeps deps;
    deps.clock = &clock_;
    deps.secrets = ring ? ring : ring_;
    consumers::BatchApplier applier(db_.url(), worker::Catalogue().MakeHandlers(deps), metrics_);
    applier.Apply(ptrs);
    return batch_;
  }

  long Count(const std::string& sql) {
    pqxx::connection c(db_.admin_url());
    pqxx::nontransaction q(c);
    return q.exec(sql)[0][0].as<long>();
  }
  std::vector<std::string> Outbox(const std::string& topic) {
    pqxx::connection c(db_.admin_url());
    pqxx::nontransaction q(c);
    std::vector<std::string> out;
    for (const auto& r : q.exec_params("SELECT payload FROM outbox WHERE topic = $1 ORDER BY id", topic))
      out.push_back(r[0].c_str());
    return out;
  }

  testing::PgDatabase db_;
  common::ManualClock clock_{1'700'000'000'000'000};
  common::Metrics metrics_;
  std::shared_ptr<const common::SecretKeyring> ring_;
  consumers::SchemaRegistry schemas_{consumers::SchemaRegistry::DefaultDir()};
  consumers::EnvelopeParser parser_{schemas_};
  std::deque<std::string> values_;
  std::deque<consumers::WorkItem> batch_;
};

TEST_F(WebhookHandlerTest, ASignedWebhookRecordsAnOperationTriggersTheListenersAndEmitsProcessed) {
  const std::string body = R"({"ref":"refs/heads/main"})";
  auto& items = Apply({Webhook("delivery-1", kOrg, "int_gh", "push", Github(body), body)});
  ASSERT_EQ(items[0].state, ItemState::kApplied) << items[0].reason;

  EXPECT_EQ(Count("SELECT count(*) FROM integration_operations WHERE integration_id = 'int_gh' AND status = "
                  "'completed' AND operation_type = 'webhook' AND trigger_event_id = 'delivery-1' AND "
                  "result -> 'triggeredWorkflows' = '[\"wf_any\", \"wf_push\"]'::jsonb"),
            1);
  const auto triggered = Outbox("hub.workflow.triggered");
  ASSERT_EQ(triggered.size(), 2u);  // not wf_issues (another event type), not wf_off (inactive)
  const auto processed = Outbox("hub.integration.processed");
  ASSERT_EQ(processed.size(), 1u);
  rapidjson::Document p;
  p.Parse(processed[0].c_str());
  const std::string op = p["data"]["operationId"].GetString();
  EXPECT_STREQ(p["data"]["status"].GetString(), "completed");
  ASSERT_EQ(p["data"]["triggeredWorkflows"].Size(), 2u);
  EXPECT_STREQ(p["data"]["triggeredWorkflows"][0].GetString(), "wf_any");
  for (const auto& ev : triggered) {
    rapidjson::Document d;
    d.Parse(ev.c_str());
    const std::string wf = d["data"]["workflowId"].GetString();
    EXPECT_EQ(std::string(d["id"].GetString()), op + ":" + wf);  // derived: a re-delivery cannot trigger twice
    EXPECT_STREQ(d["data"]["input"]["payload"]["ref"].GetString(), "refs/heads/main");
  }
  EXPECT_EQ(Count("SELECT count(*) FROM webhook_signatures WHERE integration_id = 'int_gh'"), 1);
}

TEST_F(WebhookHandlerTest, ARedeliveredWebhookIsAppliedOnceEvenWhenItsTimestampIsStaleByThen) {
  const std::string body = "payload=1";
  const std::string ev = Webhook("slack-1", kOrg, "int_slack", "message", Slack(body, 1'700'000'000), body);
  ASSERT_EQ(Apply({ev})[0].state, ItemState::kApplied) << batch_[0].reason;
  clock_.Advance(std::chrono::minutes(30));
  auto& again = Apply({ev});
  EXPECT_EQ(again[0].state, ItemState::kDuplicate) << again[0].reason;
  EXPECT_EQ(Count("SELECT count(*) FROM integration_operations"), 1);
  EXPECT_EQ(Outbox("hub.integration.processed").size(), 1u);
  EXPECT_EQ(Outbox("hub.workflow.triggered").size(), 1u);
}

TEST_F(WebhookHandlerTest, AReplayedSignatureUnderAnotherEventIdIsRefused) {
  const std::string body = R"({"n":1})";
  ASSERT_EQ(Apply({Webhook("d-1", kOrg, "int_gh", "push", Github(body), body)})[0].state, ItemState::kApplied);
  clock_.Advance(std::chrono::hours(1));
  auto& later = Apply({Webhook("d-2", kOrg, "int_gh", "push", Github(body), body)});
  EXPECT_EQ(later[0].state, ItemState::kFailed);
  EXPECT_EQ(later[0].error_class, common::ErrorClass::kSignature);
  EXPECT_THAT(later[0].reason, HasSubstr("replayed webhook signature"));
  EXPECT_THAT(later[0].reason, HasSubstr("d-1"));
  // Within one batch too: the first one wins.
  const std::string b2 = R"({"n":2})";
  auto& same_batch = Apply({Webhook("d-3", kOrg, "int_gh", "push", Github(b2), b2),
                            Webhook("d-4", kOrg, "int_gh", "push", Github(b2), b2)});
  EXPECT_EQ(same_batch[0].state, ItemState::kApplied) << same_batch[0].reason;
  EXPECT_EQ(same_batch[1].state, ItemState::kFailed);
  EXPECT_EQ(same_batch[1].error_class, common::ErrorClass::kSignature);
  EXPECT_EQ(Count("SELECT count(*) FROM integration_operations"), 2);
}

TEST_F(WebhookHandlerTest, AGithubSignatureIsRememberedADayAndThenForgotten) {
  const std::string body = R"({"n":1})";
  ASSERT_EQ(Apply({Webhook("d-1", kOrg, "int_gh", "push", Github(body), body)})[0].state, ItemState::kApplied);
  clock_.Advance(std::chrono::hours(23));
  EXPECT_EQ(Apply({Webhook("d-2", kOrg, "int_gh", "push", Github(body), body)})[0].state, ItemState::kFailed);
  clock_.Advance(std::chrono::hours(2));
  // Without a timestamp nothing tells an old capture from a new request
  // once the memory is gone (docs/decisions.md).
  EXPECT_EQ(Apply({Webhook("d-3", kOrg, "int_gh", "push", Github(body), body)})[0].state, ItemState::kApplied)
      << batch_[0].reason;
  EXPECT_EQ(Count("SELECT count(*) FROM webhook_signatures"), 1);  // the expired row was taken over
}

TEST_F(WebhookHandlerTest, WrongStaleAndMissingSignaturesAreSignatureFailures) {
  const std::string body = "x=1";
  struct Case {
    std::string event;
    const char* why;
  } cases[] = {
      {Webhook("w-1", kOrg, "int_gh", "push", Github(body, "wrong secret"), body), "does not match"},
      {Webhook("w-2", kOrg, "int_gh", "push", Github("x=2"), body), "does not match"},
      {Webhook("w-3", kOrg, "int_gh", "push", {}, body), "X-Hub-Signature-256 is missing"},
      {Webhook("w-4", kOrg, "int_slack", "m", Slack(body, 1'700'000'000 - 301), body), "301 s old"},
      {Webhook("w-5", kOrg, "int_slack", "m", {{"X-Slack-Signature", "v0=zz"}, {"X-Slack-Request-Timestamp", "1"}},
               body),
       "64 hex digits"},
      {Webhook("w-6", kOrg, "int_nosecret", "m", Github(body), body), "has no signing secret"},
      {Webhook("w-7", kOrg, "int_plain", "m", Github(body), body), "not an encrypted secret"},
  };
  std::vector<std::string> events;
  for (const auto& c : cases) events.push_back(c.event);
  auto& items = Apply(events);
  for (size_t i = 0; i < items.size(); ++i) {
    EXPECT_EQ(items[i].state, ItemState::kFailed) << cases[i].why;
    EXPECT_EQ(items[i].error_class, common::ErrorClass::kSignature) << cases[i].why;
    EXPECT_THAT(items[i].reason, HasSubstr(cases[i].why));
    EXPECT_THAT(items[i].reason, ::testing::Not(HasSubstr(kSecret)));
    EXPECT_THAT(items[i].reason, ::testing::Not(HasSubstr(kSlackSecret)));
  }
  EXPECT_EQ(Count("SELECT count(*) FROM integration_operations"), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM processed_events"), 0);  // a redrive can apply them once fixed
  EXPECT_EQ(Count("SELECT count(*) FROM outbox"), 0);
}

TEST_F(WebhookHandlerTest, AnotherTenantsOrAnUnknownIntegrationIsNotFound) {
  const std::string body = "{}";
  auto& items = Apply({Webhook("n-1", kOrg, "int_foreign", "push", Github(body), body),
                       Webhook("n-2", kOrg, "int_nope", "push", Github(body), body),
                       Webhook("n-3", "org_missing", "int_gh", "push", Github(body), body)});
  EXPECT_EQ(items[0].error_class, common::ErrorClass::kNotFound);
  EXPECT_THAT(items[0].reason, HasSubstr("belongs to another organization"));
  EXPECT_EQ(items[1].error_class, common::ErrorClass::kNotFound);
  EXPECT_EQ(items[2].error_class, common::ErrorClass::kTenant);
  for (const auto& it : items) EXPECT_EQ(it.state, ItemState::kFailed);
}

TEST_F(WebhookHandlerTest, AnInactiveIntegrationRecordsACancelledOperationThatTriggersNothing) {
  const std::string body = "{}";
  auto& items = Apply({Webhook("i-1", kOrg, "int_off", "push", Github(body), body)});
  ASSERT_EQ(items[0].state, ItemState::kApplied) << items[0].reason;
  EXPECT_EQ(Count("SELECT count(*) FROM integration_operations WHERE status = 'cancelled' AND "
                  "result ->> 'error' LIKE '%inactive%'"),
            1);
  EXPECT_EQ(Outbox("hub.workflow.triggered").size(), 0u);
  const auto processed = Outbox("hub.integration.processed");
  ASSERT_EQ(processed.size(), 1u);
  EXPECT_THAT(processed[0], HasSubstr(R"("status":"cancelled")"));
}

TEST_F(WebhookHandlerTest, WithoutHubSecretKeyEveryWebhookIsRefusedAndSaysWhy) {
  const std::string body = "{}";
  auto& items = Apply({Webhook("k-1", kOrg, "int_gh", "push", Github(body), body)},
                      std::make_shared<const common::SecretKeyring>());
  EXPECT_EQ(items[0].state, ItemState::kFailed);
  EXPECT_EQ(items[0].error_class, common::ErrorClass::kSignature);
  EXPECT_THAT(items[0].reason, HasSubstr("HUB_SECRET_KEY is not set"));
  // Once the key is there, the same event applies (what a redrive does).
  EXPECT_EQ(Apply({Webhook("k-1", kOrg, "int_gh", "push", Github(body), body)})[0].state, ItemState::kApplied);
}

TEST_F(WebhookHandlerTest, ASecretEncryptedUnderAnotherKeyIsRefusedUntilThatKeyIsListedAsOld) {
  const std::string new_key = common::EncodeBase64(std::string(32, 'n'));
  const std::string body = "{}";
  auto rotated_without_old =
      std::make_shared<const common::SecretKeyring>(common::SecretKeyring::FromBase64(new_key, {}));
  auto& refused = Apply({Webhook("r-1", kOrg, "int_gh", "push", Github(body), body)}, rotated_without_old);
  EXPECT_EQ(refused[0].error_class, common::ErrorClass::kSignature);
  EXPECT_THAT(refused[0].reason, HasSubstr("HUB_SECRET_KEYS_OLD"));
  auto rotated = std::make_shared<const common::SecretKeyring>(common::SecretKeyring::FromBase64(new_key, {kKey}));
  EXPECT_EQ(Apply({Webhook("r-1", kOrg, "int_gh", "push", Github(body), body)}, rotated)[0].state,
            ItemState::kApplied);
}

// Two workers accept the same signature for two events at the same time:
// the one whose insert meets the other's committed row must not apply.
// Here the "other worker" is a transaction that recorded the signature for
// another event and commits only once this batch's insert waits on it.
TEST_F(WebhookHandlerTest, ASignatureAcceptedByAnotherWorkerMeanwhileIsRefusedAsAReplay) {
  const std::string body = R"({"race":1})";
  const auto headers = Github(body);
  engine::HeaderList hl;
  for (const auto& [k, v] : headers) hl.emplace_back(k, v);
  const auto check = engine::VerifySignature(engine::SignatureScheme::kGithub, hl, body, kSecret, 0);
  ASSERT_TRUE(check.ok) << check.why;

  pqxx::connection other(db_.owner_url());
  pqxx::work t(other);
  store::SetTenant(t, kOrg);
  t.exec_params("INSERT INTO webhook_signatures (organization_id, integration_id, replay_key, event_source, event_id, "
                "expires_at) VALUES ($1, 'int_gh', $2, 'urn:gateway', 'other-worker-event', now() + interval '1 day')",
                kOrg, check.replay_key);
  std::thread apply([&] { Apply({Webhook("race-1", kOrg, "int_gh", "push", headers, body)}); });
  // Wait (bounded) until this batch's insert waits for the other transaction's row.
  const bool waiting = testing::WaitFor(
      [&] {
        return Count("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE "
                     "'%webhook_signatures%'") > 0;
      },
      std::chrono::seconds(30), std::chrono::milliseconds(20));
  t.commit();
  apply.join();
  ASSERT_TRUE(waiting) << "the batch never waited on the other worker's row";
  ASSERT_EQ(batch_.size(), 1u);
  EXPECT_EQ(batch_[0].state, ItemState::kFailed);
  EXPECT_EQ(batch_[0].error_class, common::ErrorClass::kSignature);
  EXPECT_THAT(batch_[0].reason, HasSubstr("other-worker-event"));
  EXPECT_EQ(Count("SELECT count(*) FROM integration_operations"), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM outbox"), 0);
}

}  // namespace
}  // namespace hub
