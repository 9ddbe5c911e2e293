// `hubworker replay` against what a running worker recorded: a dry run
// changes no row and finds no difference until a definition changes; a
// reprocess of a time range creates exactly the new executions, marked as
// replays; an execution with an http_request (and one with an ai_agent too)
// is replayed without a call.
#include <gtest/gtest.h>

#include <iostream>

#include "tests/support/http_stub.hpp"
#include "tests/support/pipeline_fixture.hpp"

namespace hub {
namespace {
using namespace std::chrono_literals;
using testing::ChildProcess;
using testing::TestConsumer;

class ReplayTest : public testing::PipelineFixture {
 protected:
  struct Ran {
    int exit = -1;
    std::string out, err;
  };
  Ran Replay(const std::vector<std::string>& args, std::map<std::string, std::string> env = {}) {
    std::vector<std::string> all{"replay"};
    all.insert(all.end(), args.begin(), args.end());
    env["HUB_DATABASE_URL"] = db_->url();
    env["HUB_KAFKA_BROKERS"] = broker_->bootstrap();
    env["HUB_LOG_LEVEL"] = "warn";
    ChildProcess p(HUB_BINARY, all, env);
    const auto rc = p.WaitExit(300s);
    EXPECT_TRUE(rc.has_value()) << p.StderrText();
    return {rc.value_or(-1), p.StdoutText(), p.StderrText()};
  }

  static rapidjson::Document Json(const std::string& text) {
    rapidjson::Document d;
    d.Parse(text.c_str());
    EXPECT_FALSE(d.HasParseError()) << text.substr(0, 2000);
    if (d.HasParseError()) d.Parse("{\"summary\":{},\"events\":[]}");
    return d;
  }

  static int64_t Summary(const rapidjson::Document& d, const char* key) {
    const auto& s = d["summary"];
    return s.HasMember(key) ? s[key].GetInt64() : 0;
  }

  // A checksum of every row of every table in the public schema (as the
  // superuser: row-level security would hide rows).
  std::map<std::string, std::string> Checksums() {
    pqxx::connection c(db_->admin_url());
    pqxx::nontransaction q(c);
    std::map<std::string, std::string> out;
    for (const auto& t : q.exec("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")) {
      const std::string table = t[0].as<std::string>();
      out[table] = q.exec1("SELECT count(*) || ':' || coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '') "
                           "FROM " + c.quote_name(table) + " x")[0]
                       .as<std::string>();
    }
    return out;
  }
};

TEST_F(ReplayTest, DryRunOfProcessedEventsChangesNoRowAndFindsDifferencesOnlyAfterADefinitionChanges) {
  constexpr int kEvents = 1000;
  auto worker = StartWorker();
  TestConsumer completions(broker_->bootstrap(), "hub.workflow.completed");
  testing::TestProducer producer(broker_->bootstrap());
  ProduceTriggered(producer, "dry", 0, kEvents);
  ASSERT_TRUE(WaitDistinctCompletions(completions, kEvents, 120s)) << worker->StderrText() << Progress();
  ASSERT_TRUE(WaitOutboxEmpty(60s));
  StopWorker(*worker);  // nothing moves any more: the checksums measure the replay alone

  const auto before = Checksums();
  const Ran same = Replay({"--dry-run", "--output", "json", "--exit-code"});
  EXPECT_EQ(same.exit, 0) << same.err;
  const auto d = Json(same.out);
  EXPECT_EQ(Summary(d, "read"), kEvents);
  EXPECT_EQ(Summary(d, "same"), kEvents) << same.out.substr(0, 3000);
  EXPECT_EQ(Summary(d, "different"), 0);
  EXPECT_EQ(Checksums(), before);
  std::cout << "dry run of " << kEvents << " events: " << d["summary"]["seconds"].GetDouble() << " s\n";
  // What it would write and emit, per event.
  ASSERT_GT(d["events"].Size(), 0u);
  const auto& first = d["events"][0];
  EXPECT_NE(std::string(first["written"].GetString()).find("COMPLETED"), std::string::npos);
  ASSERT_EQ(first["emits"].Size(), 1u);
  EXPECT_EQ(std::string(first["emits"][0].GetString()).rfind("hub.workflow.completed ", 0), 0u);

  // A changed definition (what a new worker version's handler would do
  // differently shows the same way): the events of that workflow differ, in
  // the node that changed and the notification it wrote.
  const std::string changed = workflows_[0];
  testing::SetWorkflowDefinition(
      db_->admin_url(), changed,
      R"([{"id":"trigger","type":"trigger"},{"id":"greet","type":"transform","data":{"fields":{"greeting":"Howdy {{input.name}}"}}},)"
      R"({"id":"notify","type":"notification","data":{"userId":"user_a","title":"Hi","message":"{{output.greeting}}"}}])",
      R"([{"source":"trigger","target":"greet"},{"source":"greet","target":"notify"}])");
  const auto before_changed = Checksums();
  const Ran diff = Replay({"--output", "json", "--key", changed, "--exit-code"});
  EXPECT_EQ(diff.exit, 1) << diff.err;
  const auto dd = Json(diff.out);
  EXPECT_EQ(Summary(dd, "selected"), kEvents / 100);
  EXPECT_EQ(Summary(dd, "different"), kEvents / 100) << diff.out.substr(0, 3000);
  std::set<std::string> where;
  for (const auto& e : dd["events"].GetArray())
    for (const auto& x : e["differences"].GetArray()) where.insert(x["where"].GetString());
  EXPECT_TRUE(where.count("output")) << diff.out.substr(0, 3000);
  const Ran text = Replay({"--key", changed});  // for people: per event, then a summary
  EXPECT_EQ(text.exit, 0) << text.err;
  EXPECT_NE(text.out.find(" different\n"), std::string::npos) << text.out.substr(0, 3000);
  EXPECT_NE(text.out.find("      replayed: {\"greeting\": \"Howdy n"), std::string::npos) << text.out.substr(0, 3000);
  EXPECT_NE(text.out.find(std::to_string(kEvents / 100) + " different"), std::string::npos) << text.out.substr(0, 3000);
  EXPECT_EQ(Checksums(), before_changed);
}

TEST_F(ReplayTest, ReprocessOfATimeRangeCreatesExactlyTheNewExecutionsMarkedAsReplays) {
  auto worker = StartWorker();
  TestConsumer completions(broker_->bootstrap(), "hub.workflow.completed");
  testing::TestProducer producer(broker_->bootstrap());
  ProduceTriggered(producer, "early", 0, 20);
  ASSERT_TRUE(WaitDistinctCompletions(completions, 20, 60s)) << worker->StderrText();
  // Kafka timestamps are milliseconds of the producer's clock: --since is a
  // millisecond after the last early event's, and the late ones come after it.
  const int64_t early_ms = common::NowUnixMicros() / 1000;
  ASSERT_TRUE(testing::WaitFor([&] { return common::NowUnixMicros() / 1000 > early_ms; }, 5s));
  const int64_t since_us = common::NowUnixMicros();
  const std::string since = common::FormatRfc3339(since_us);
  ASSERT_TRUE(testing::WaitFor([&] { return common::NowUnixMicros() / 1000 > since_us / 1000; }, 5s));
  ProduceTriggered(producer, "late", 20, 27);
  ASSERT_TRUE(WaitDistinctCompletions(completions, 27, 60s)) << worker->StderrText();

  const Ran r = Replay({"--reprocess", "--since", since, "--output", "json"});
  ASSERT_EQ(r.exit, 0) << r.err << r.out;
  const auto d = Json(r.out);
  EXPECT_EQ(Summary(d, "reprocessed"), 7) << r.out;
  EXPECT_EQ(Count("SELECT count(*) FROM workflow_executions"), 34);
  EXPECT_EQ(Count("SELECT count(*) FROM workflow_executions WHERE replay_of IS NOT NULL AND status = 'COMPLETED'"), 7);
  // Each replays one of the late events' executions, and only those.
  EXPECT_EQ(Count("SELECT count(*) FROM workflow_executions r JOIN workflow_executions o ON o.id = r.replay_of "
                  "WHERE o.trigger_event_id LIKE 'late-%' AND o.replay_of IS NULL "
                  "AND r.trigger_event_id = o.trigger_event_id"),
            7);
  EXPECT_EQ(Count("SELECT count(*) FROM notifications WHERE metadata ? 'replayOf'"), 7);
  // Their completion events say so.
  ASSERT_TRUE(WaitDistinctCompletions(completions, 34, 60s)) << Progress();
  int flagged = 0;
  for (const auto& m : completions.messages())
    if (!testing::JsonString(m.value, nullptr, "replayof").empty()) ++flagged;
  EXPECT_EQ(flagged, 7);
  StopWorker(*worker);
}

TEST_F(ReplayTest, ExecutionWithAnHttpRequestIsReplayedWithItsRecordedAnswerAndNoCall) {
  testing::HttpStub endpoint([](const testing::HttpStub::Request&) {
    return testing::HttpStub::Response{200, {{"Content-Type", "application/json"}}, R"({"known":true})"};
  });
  worker::SeedOptions o;
  o.organization_id = "org_c";
  o.user_id = "user_c";
  o.workflows = 1;
  o.call_endpoint = endpoint.url("/customer");
  worker::SeedOrganization(db_->owner_url(), o);
  auto worker = StartWorker({{"HUB_HTTP_ALLOWLIST", "127.0.0.1"}});
  testing::TestProducer producer(broker_->bootstrap());
  producer.Produce("hub.workflow.triggered", "wf_org_c_call",
                   worker::MakeWorkflowTriggered("call-1", "org_c", "wf_org_c_call", "Ada"),
                   {{"content-type", "application/cloudevents+json"}});
  producer.Flush();
  const std::string done = "SELECT count(*) FROM workflow_executions WHERE workflow_id = 'wf_org_c_call' AND status = 'COMPLETED'";
  ASSERT_TRUE(testing::WaitFor([&] { return Count(done) == 1; }, 60s, 50ms)) << worker->StderrText() << Progress();
  StopWorker(*worker);
  ASSERT_EQ(endpoint.requests().size(), 1u);
  EXPECT_EQ(Count("SELECT count(*) FROM execution_call_results WHERE node_id = 'lookup' AND attempts = 1 "
                  "AND output->>'status' = '200'"),
            1);
  std::string execution;
  {
    pqxx::connection c(db_->admin_url());
    pqxx::nontransaction q(c);
    execution = q.exec1("SELECT id FROM workflow_executions WHERE workflow_id = 'wf_org_c_call'")[0].as<std::string>();
  }
  // No allowlist: a call could not even be attempted; and the stub counts requests.
  const Ran r = Replay({"--execution", execution, "--organization", "org_c", "--output", "json", "--exit-code"},
                       {{"HUB_HTTP_ALLOWLIST", ""}});
  EXPECT_EQ(r.exit, 0) << r.out << r.err;
  const auto d = Json(r.out);
  EXPECT_EQ(std::string(d["verdict"].GetString()), "same") << r.out;
  EXPECT_EQ(d["recordedCalls"].GetUint64(), 1u);
  EXPECT_EQ(d["differences"].Size(), 0u) << r.out;
  EXPECT_EQ(endpoint.requests().size(), 1u);
  // The same event replayed from the topic through the handler: parked at the
  // call, carried on in memory with the recorded answer.
  const Ran dry = Replay({"--key", "wf_org_c_call", "--output", "json", "--exit-code"}, {{"HUB_HTTP_ALLOWLIST", ""}});
  EXPECT_EQ(dry.exit, 0) << dry.out << dry.err;
  const auto dd = Json(dry.out);
  EXPECT_EQ(Summary(dd, "same"), 1) << dry.out;
  ASSERT_EQ(dd["events"].Size(), 1u);
  EXPECT_NE(std::string(dd["events"][0]["written"].GetString()).find("RUNNING"), std::string::npos) << dry.out;
  EXPECT_EQ(endpoint.requests().size(), 1u);

  // Without the recorded answer the node is "not recorded", and --exit-code fails.
  {
    pqxx::connection c(db_->admin_url());
    pqxx::nontransaction q(c);
    q.exec("DELETE FROM execution_call_results");
  }
  const Ran missing = Replay({"--execution", execution, "--organization", "org_c", "--exit-code"});
  EXPECT_EQ(missing.exit, 1);
  EXPECT_NE(missing.out.find("node lookup: not recorded"), std::string::npos) << missing.out;
  const Ran dry_missing = Replay({"--key", "wf_org_c_call", "--output", "json"});
  EXPECT_EQ(Summary(Json(dry_missing.out), "not-recorded"), 1) << dry_missing.out;
  EXPECT_EQ(endpoint.requests().size(), 1u);
}

// The acceptance of issue 15: an execution with an http_request and an
// ai_agent node, recorded by a worker that called both, is replayed with the
// recorded answers: neither stub sees a request during the replays, and
// nothing differs (tokens used and cost included).
TEST_F(ReplayTest, ExecutionWithAnHttpRequestAndAnAiAgentIsReplayedWithNoCallAndNoDifference) {
  testing::HttpStub endpoint([](const testing::HttpStub::Request&) {
    return testing::HttpStub::Response{200, {{"Content-Type", "application/json"}}, R"({"name":"Ada Lovelace"})"};
  });
  testing::HttpStub llm([](const testing::HttpStub::Request& r) {
    const bool asked = r.body.find("Write to Ada Lovelace") != std::string::npos;
    return testing::HttpStub::Response{
        200, {{"Content-Type", "application/json"}},
        std::string(R"({"id":"chatcmpl-r","object":"chat.completion","created":1,"model":"gpt-replay","choices":[)"
                    R"({"index":0,"message":{"role":"assistant","content":")") +
            (asked ? "Dear Ada Lovelace, welcome." : "wrong prompt") +
            R"("},"finish_reason":"stop"}],"usage":{"prompt_tokens":40,"completion_tokens":11,"total_tokens":51}})"};
  });
  const std::string wf = workflows_[0];
  testing::SetWorkflowDefinition(
      db_->admin_url(), wf,
      R"([{"id":"t","type":"trigger"},
          {"id":"call","type":"http_request","data":{"url":")" + endpoint.url("/customer") + R"("}},
          {"id":"ask","type":"ai_agent","data":{"modelConfig":{"model":"gpt-replay",
             "pricing":{"inputCentsPerMillion":100000,"outputCentsPerMillion":200000}},
             "prompt":"Write to {{nodes.call.output.body.name}}"}},
          {"id":"n","type":"notification","data":{"userId":"user_a","title":"t","message":"{{nodes.ask.output.text}}"}}])",
      R"([{"source":"t","target":"call"},{"source":"call","target":"ask"},{"source":"ask","target":"n"}])");
  const std::map<std::string, std::string> env = {{"HUB_HTTP_ALLOWLIST", "127.0.0.1"},
                                                  {"HUB_LLM_BASE_URL", llm.url()},
                                                  {"HUB_LLM_API_KEY", "sk-replay"}};
  auto worker = StartWorker(env);
  testing::TestProducer producer(broker_->bootstrap());
  producer.Produce("hub.workflow.triggered", wf, worker::MakeWorkflowTriggered("agent-call-1", "org_a", wf, "Ada"),
                   {{"content-type", "application/cloudevents+json"}});
  producer.Flush();
  const std::string done = "SELECT count(*) FROM workflow_executions WHERE workflow_id = '" + wf +
                           "' AND status = 'COMPLETED' AND tokens_used = 51";
  ASSERT_TRUE(testing::WaitFor([&] { return Count(done) == 1; }, 60s, 50ms)) << worker->StderrText() << Progress();
  StopWorker(*worker);
  ASSERT_EQ(endpoint.requests().size(), 1u);
  ASSERT_EQ(llm.requests().size(), 1u);
  EXPECT_EQ(Count("SELECT count(*) FROM notifications WHERE message = 'Dear Ada Lovelace, welcome.'"), 1);
  // 40 x 100,000 + 11 x 200,000 cents per million tokens = 6.2 cents.
  EXPECT_EQ(Count("SELECT count(*) FROM workflow_executions WHERE cost = 6.20"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM execution_call_results WHERE node_id = 'ask' AND kind = 'ai_agent' "
                  "AND output->>'text' = 'Dear Ada Lovelace, welcome.'"),
            1);
  std::string execution;
  {
    pqxx::connection c(db_->admin_url());
    pqxx::nontransaction q(c);
    execution = q.exec1("SELECT id FROM workflow_executions WHERE workflow_id = '" + wf + "'")[0].as<std::string>();
  }
  // The replay has the endpoints configured: only the recorded answers keep it from calling.
  const Ran r = Replay({"--execution", execution, "--organization", "org_a", "--output", "json", "--exit-code"}, env);
  EXPECT_EQ(r.exit, 0) << r.out << r.err;
  const auto d = Json(r.out);
  EXPECT_EQ(std::string(d["verdict"].GetString()), "same") << r.out;
  EXPECT_EQ(d["recordedCalls"].GetUint64(), 2u);
  EXPECT_EQ(d["differences"].Size(), 0u) << r.out;
  const Ran dry = Replay({"--key", wf, "--output", "json", "--exit-code"}, env);
  EXPECT_EQ(dry.exit, 0) << dry.out << dry.err;
  EXPECT_EQ(Summary(Json(dry.out), "same"), 1) << dry.out;
  EXPECT_EQ(endpoint.requests().size(), 1u);
  EXPECT_EQ(llm.requests().size(), 1u);

  // A different recorded answer shows as a difference of the node, the
  // notification and the tokens: the comparison is not blind.
  {
    pqxx::connection c(db_->admin_url());
    pqxx::nontransaction q(c);
    q.exec("UPDATE execution_call_results SET output = jsonb_set(jsonb_set(output, '{text}', '\"Other words\"'), "
           "'{usage,totalTokens}', '7') WHERE node_id = 'ask'");
  }
  const Ran changed = Replay({"--execution", execution, "--organization", "org_a", "--output", "json", "--exit-code"});
  EXPECT_EQ(changed.exit, 1) << changed.out;
  const auto cd = Json(changed.out);
  EXPECT_EQ(std::string(cd["verdict"].GetString()), "different") << changed.out;
  EXPECT_NE(changed.out.find("tokens_used"), std::string::npos) << changed.out;
  EXPECT_EQ(endpoint.requests().size(), 1u);
  EXPECT_EQ(llm.requests().size(), 1u);
}

}  // namespace
}  // namespace hub
