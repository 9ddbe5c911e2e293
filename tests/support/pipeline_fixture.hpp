#pragma once
// The fixture of the end-to-end tests: a fresh database with two tenants
// (org_a with 100 greeting workflows, org_b with one), the embedded
// Kafka-protocol broker in this process (so faults can be injected),
// `hubworker run` child processes, and helpers that wait for outcomes with
// deadlines.
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <signal.h>

#include <chrono>
#include <map>
#include <memory>
#include <pqxx/pqxx>
#include <set>
#include <string>
#include <vector>

#include "tests/support/kafka_client.hpp"
#include "tests/support/pg_fixture.hpp"
#include "tests/support/process.hpp"
#include "worker/embedded_broker.hpp"
#include "worker/seed.hpp"

namespace hub::testing {

// The string at json[pointer_key][key] (or json[key]), "" if absent.
inline std::string JsonString(const std::string& json, const char* pointer_key, const char* key) {
  rapidjson::Document d;
  d.Parse(json.c_str());
  if (d.HasParseError() || !d.IsObject()) return {};
  const rapidjson::Value* v = &d;
  if (pointer_key) {
    auto m = v->FindMember(pointer_key);
    if (m == v->MemberEnd()) return {};
    v = &m->value;
  }
  auto m = v->FindMember(key);
  if (m == v->MemberEnd() || !m->value.IsString()) return {};
  return m->value.GetString();
}

class PipelineFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::make_unique<PgDatabase>();
    broker_ = std::make_unique<worker::EmbeddedBroker>(3, 12, "hub.");
    worker::SeedOptions a;
    a.organization_id = "org_a";
    a.user_id = "user_a";
    a.workflows = 100;
    workflows_ = worker::SeedOrganization(db_->owner_url(), a);
    worker::SeedOptions b;
    b.organization_id = "org_b";
    b.user_id = "user_b";
    b.workflows = 1;
    other_tenant_workflow_ = worker::SeedOrganization(db_->owner_url(), b).at(0);
  }

  std::unique_ptr<ChildProcess> StartWorker(std::map<std::string, std::string> extra = {}) {
    std::map<std::string, std::string> env = {
        {"HUB_DATABASE_URL", db_->url()},        {"HUB_KAFKA_BROKERS", broker_->bootstrap()},
        {"HUB_HTTP_ADDR", "127.0.0.1:0"},        {"HUB_SESSION_TIMEOUT_MS", "4000"},
        {"HUB_FETCH_WAIT_MS", "5"},              {"HUB_SHUTDOWN_TIMEOUT", "20"},
        {"HUB_RETRY_BASE_MS", "50"},             {"HUB_LOG_LEVEL", "info"},
        {"HUB_KAFKA_GROUP", "hub-e2e"},
        // Rows a killed worker committed but did not publish are the relay's
        // after this long (40 s by default).
        {"HUB_RELAY_GRACE_MS", "2000"}};
    for (auto& [k, v] : extra) env[k] = v;
    return std::make_unique<ChildProcess>(HUB_BINARY, std::vector<std::string>{"run"}, env);
  }

  // Event ids "<prefix>-<i>", spread over the 100 workflows (key = workflow id).
  void ProduceTriggered(TestProducer& p, const std::string& prefix, int from, int to) {
    for (int i = from; i < to; ++i) {
      const std::string& wf = workflows_[static_cast<size_t>(i) % workflows_.size()];
      p.Produce("hub.workflow.triggered", wf,
                worker::MakeWorkflowTriggered(prefix + "-" + std::to_string(i), "org_a", wf, "n" + std::to_string(i)),
                {{"content-type", "application/cloudevents+json"}});
    }
    p.Flush();
  }

  // Incremental: each completion is parsed once, however often we poll.
  bool WaitDistinctCompletions(TestConsumer& c, size_t n, std::chrono::milliseconds deadline) {
    return c.PollUntil(
        [&](const std::vector<ReceivedMessage>& ms) {
          for (; seen_messages_ < ms.size(); ++seen_messages_) {
            std::string id = JsonString(ms[seen_messages_].value, "data", "executionId");
            if (!id.empty()) distinct_.insert(id);
          }
          return distinct_.size() >= n;
        },
        deadline);
  }
  size_t distinct() const { return distinct_.size(); }

  // For failure messages, after the worker's log (CI shows the end of the
  // output): how far the run got.
  std::string Progress() {
    std::string out = "\n--- distinct completions received: " + std::to_string(distinct());
    try {
      out += "; executions: " + std::to_string(Count("SELECT count(*) FROM workflow_executions")) +
             "; processed_events: " + std::to_string(Count("SELECT count(*) FROM processed_events")) +
             "; outbox rows: " + std::to_string(Count("SELECT count(*) FROM outbox"));
    } catch (const std::exception& e) {
      out += std::string("; database: ") + e.what();
    }
    return out;
  }

  int64_t Count(const std::string& sql) {
    pqxx::connection c(db_->admin_url());
    pqxx::nontransaction q(c);
    return q.exec(sql)[0][0].as<int64_t>();
  }

  bool WaitOutboxEmpty(std::chrono::milliseconds deadline) {
    return WaitFor([&] { return Count("SELECT count(*) FROM outbox") == 0; }, deadline, std::chrono::milliseconds(50));
  }

  static void StopWorker(ChildProcess& w) {
    w.Signal(SIGTERM);
    auto rc = w.WaitExit(std::chrono::seconds(40));
    ASSERT_TRUE(rc.has_value()) << "worker did not exit after SIGTERM\n" << w.StderrText();
    EXPECT_EQ(*rc, 0) << w.StderrText();
  }

  std::unique_ptr<PgDatabase> db_;
  std::unique_ptr<worker::EmbeddedBroker> broker_;
  std::vector<std::string> workflows_;
  std::string other_tenant_workflow_;
  size_t seen_messages_ = 0;        // of the one completions consumer a test uses
  std::set<std::string> distinct_;  // execution ids seen on hub.workflow.completed
};

}  // namespace hub::testing
