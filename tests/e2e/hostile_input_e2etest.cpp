// Hostile input, one table: every row is an event a tenant (or a broken
// producer, or a stranger posting to a webhook endpoint) could send, with what must become of it — a dead letter of a
// class with a reason that says what is wrong, a FAILED execution whose error
// names the cause, or (for text that only looks dangerous) a normal
// execution that took it literally.  All rows go to one `hubworker run`
// among ordinary events; the test checks each row, that ordinary events all
// complete, that nothing was written for a dead letter, that nothing was
// retried, and that the worker stays up with bounded memory.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "common/secret_box.hpp"
#include "engine/webhook_signature.hpp"
#include "tests/support/http_stub.hpp"
#include "tests/support/pipeline_fixture.hpp"

namespace hub {
namespace {
using namespace std::chrono_literals;
using testing::JsonString;
using testing::TestConsumer;
using testing::TestProducer;

using Headers = std::vector<std::pair<std::string, std::string>>;

enum class Expect { kDeadLetter, kFailed, kCompleted };

struct Row {
  std::string name;  // also the Kafka key ("hostile-<name>") and, where there is one, the event id
  std::string value;
  Headers headers;
  Expect expect;
  std::string cls;   // dead letters: hub-error-class
  std::string text;  // what the reason, the error or (kCompleted) the output must contain
  std::string topic = "hub.workflow.triggered";
};

const Headers kStructured = {{"content-type", "application/cloudevents+json"}};

// A structured workflow.triggered event; `data_json` is the whole data object.
std::string Event(const std::string& id, const std::string& data_json, const std::string& type = "workflow.triggered",
                  const std::string& source = "urn:hostile") {
  return R"({"specversion":"1.0","id":")" + id + R"(","source":")" + source + R"(","type":")" + type +
         R"(","time":"2026-12-04T10:00:00Z","data":)" + data_json + "}";
}

// An integration.webhook event of org_a for `integration` with these headers.
std::string Webhook(const std::string& id, const std::string& integration, const std::string& headers_json) {
  return Event(id, R"({"organizationId":"org_a","integrationId":")" + integration +
                       R"(","eventType":"push","headers":)" + headers_json + R"(,"body":"{\"a\":1}"})",
               "integration.webhook");
}

std::string Data(const std::string& wf, const std::string& input_json, const std::string& extra = "") {
  return R"({"organizationId":"org_a","workflowId":")" + wf + R"(","input":)" + input_json + extra + "}";
}

class HostileInputTest : public testing::PipelineFixture {
 protected:
  void Define(const std::string& wf, const std::string& nodes, const std::string& edges) {
    testing::SetWorkflowDefinition(db_->admin_url(), wf, nodes, edges);
  }

  std::string Execution(const std::string& id, const char* column) {
    pqxx::connection c(db_->admin_url());
    pqxx::nontransaction q(c);
    auto r = q.exec_params(std::string("SELECT status::text || ': ' || coalesce(") + column +
                               "::text, '') FROM workflow_executions WHERE trigger_event_id = $1",
                           id);
    return r.empty() ? "(no execution)" : r[0][0].as<std::string>();
  }
};

TEST_F(HostileInputTest, EveryRowEndsAsItShouldAndTheWorkerGoesOn) {
  // Workflows the graph and template rows need (the rest stay greetings:
  // trigger -> transform greeting = "hello {{input.name}}" -> notification).
  const std::string& cycle = workflows_[90];
  Define(cycle,
         R"([{"id":"t","type":"trigger"},{"id":"a","type":"transform","data":{"fields":{"x":"1"}}},
             {"id":"b","type":"transform","data":{"fields":{"y":"2"}}}])",
         R"([{"source":"t","target":"a"},{"source":"a","target":"b"},{"source":"b","target":"a"}])");
  const std::string& huge_graph = workflows_[91];
  {
    std::string nodes = R"([{"id":"t","type":"trigger"})", edges = "[";
    for (int i = 0; i < 10000; ++i) {
      nodes += R"(,{"id":"n)" + std::to_string(i) + R"(","type":"transform","data":{"fields":{"v":"x"}}})";
      edges += std::string(i ? "," : "") + R"({"source":")" + (i ? "n" + std::to_string(i - 1) : std::string("t")) +
               R"(","target":"n)" + std::to_string(i) + R"("})";
    }
    Define(huge_graph, nodes + "]", edges + "]");
  }
  const std::string& doubling = workflows_[92];
  {
    const auto [nodes, edges] = testing::DoublingWorkflow(30);
    Define(doubling, nodes, edges);
  }
  const std::string& render_all = workflows_[93];
  Define(render_all, R"([{"id":"t","type":"trigger"},{"id":"a","type":"transform","data":{"fields":{"all":"{{input.a}}"}}}])",
         R"([{"source":"t","target":"a"}])");
  // A stub on 127.0.0.1 (listed exactly) that redirects to the cloud
  // metadata address.
  testing::HttpStub redirector([](const testing::HttpStub::Request&) {
    return testing::HttpStub::Response{302, {{"Location", "http://169.254.169.254/latest/meta-data/"}}, ""};
  });
  auto call = [&](const std::string& wf, const std::string& url) {
    Define(wf, R"([{"id":"t","type":"trigger"},{"id":"call","type":"http_request","data":{"url":")" + url + R"("}}])",
           R"([{"source":"t","target":"call"}])");
  };
  call(workflows_[94], "http://169.254.169.254/latest/meta-data/");
  call(workflows_[95], "http://localhost:" + std::to_string(redirector.port()) + "/");
  call(workflows_[96], "http://10.0.0.1/internal");
  call(workflows_[97], redirector.url("/go"));
  call(workflows_[98], "http://evil.example.org/");
  const std::string& greet = workflows_[0];

  std::string deep;
  for (int i = 0; i < 100000; ++i) deep += '[';
  for (int i = 0; i < 100000; ++i) deep += ']';
  std::string big_array = "[";
  for (int i = 0; i < 300000; ++i) big_array += i ? ",0" : "0";
  big_array += "]";
  const std::string sql = R"(x'); DROP TABLE workflow_executions; --)";

  // A GitHub-style integration whose signing secret is stored encrypted.
  const std::string secret_key = common::EncodeBase64(std::string(32, 'h'));
  {
    pqxx::connection c(db_->admin_url());
    pqxx::work t(c);
    t.exec_params("INSERT INTO integrations (id, organization_id, name, provider, credentials) VALUES ('int_gh', "
                  "'org_a', 'GitHub', 'github', $1::jsonb)",
                  R"({"signingSecret":")" + common::SecretKeyring::FromBase64(secret_key, {}).Encrypt("gh-secret") +
                      R"("})");
    t.commit();
  }
  const std::string good_sig = "sha256=" + engine::HmacSha256Hex("gh-secret", R"({"a":1})");

  std::vector<Row> rows = {
      {"malformed", R"({"specversion":"1.0","id":)", kStructured, Expect::kDeadLetter, "schema", "malformed JSON"},
      {"truncated", Event("hostile-truncated", Data(greet, "{}")).substr(0, 60), kStructured, Expect::kDeadLetter,
       "schema", "malformed JSON"},
      {"bad-utf8", Event("hostile-bad-utf8", Data(greet, "{\"name\":\"\xc3\x28\"}")), kStructured,
       Expect::kDeadLetter, "schema", "not valid UTF-8"},
      {"nul-byte", Event("hostile-nul-byte", Data(greet, std::string("{\"name\":\"a") + '\0' + "b\"}")), kStructured,
       Expect::kDeadLetter, "schema", "a NUL byte"},
      {"escaped-nul-org", Event("hostile-escaped-nul-org", R"({"organizationId":"org_a\u0000x","workflowId":")" + greet +
                                                               R"(","input":{}})"),
       kStructured, Expect::kDeadLetter, "schema", "data.organizationId"},
      {"deep", Event("hostile-deep", Data(greet, deep)), kStructured, Expect::kDeadLetter, "schema",
       "nested deeper than 128 levels"},
      {"huge-number", Event("hostile-huge-number", Data(greet, R"({"n":1e999999})")), kStructured,
       Expect::kDeadLetter, "schema", "malformed JSON"},
      {"big-integer", Event("hostile-big-integer", Data(greet, R"({"n":123456789012345678901234567890})")),
       kStructured, Expect::kDeadLetter, "schema", "data.input.n"},
      {"missing-field", Event("hostile-missing-field", R"({"organizationId":"org_a","input":{}})"), kStructured,
       Expect::kDeadLetter, "schema", "workflowId"},
      {"mistyped-field", Event("hostile-mistyped-field", R"({"organizationId":"org_a","workflowId":42})"),
       kStructured, Expect::kDeadLetter, "schema", "workflowId"},
      {"unknown-type", Event("hostile-unknown-type", Data(greet, "{}"), "workflow.exploded"), kStructured,
       Expect::kDeadLetter, "schema", "workflow.exploded"},
      {"other-tenant", Event("hostile-other-tenant", Data(other_tenant_workflow_, "{}")), kStructured,
       Expect::kDeadLetter, "not_found", "not found in organization 'org_a'"},
      {"conflicting-headers", Data(greet, R"({"name":"Ada"})"),
       {{"ce_specversion", "1.0"},
        {"ce_id", "hostile-conflicting-headers"},
        {"ce_source", "urn:hostile"},
        {"ce_type", "workflow.triggered"},
        {"ce_type", "order.submitted"},
        {"content-type", "application/json"}},
       Expect::kDeadLetter, "schema", "given twice with different values"},
      {"binary-wrong-type", Data(greet, R"({"name":"Ada"})"),
       {{"ce_specversion", "1.0"},
        {"ce_id", "hostile-binary-wrong-type"},
        {"ce_source", "urn:hostile"},
        {"ce_type", "order.submitted"},
        {"content-type", "application/json"}},
       Expect::kDeadLetter, "schema", "does not match the topic's event type"},
      {"cycle", Event("hostile-cycle", Data(cycle, "{}")), kStructured, Expect::kFailed, "",
       "the workflow graph has a cycle"},
      {"ten-thousand-nodes", Event("hostile-ten-thousand-nodes", Data(huge_graph, "{}")), kStructured,
       Expect::kFailed, "", "HUB_MAX_NODES_EXECUTED"},
      {"doubling", Event("hostile-doubling", Data(doubling, R"({"x":"12345678"})")), kStructured, Expect::kFailed,
       "", "HUB_MAX_RENDERED_VALUE_BYTES"},
      {"big-array", Event("hostile-big-array", Data(render_all, R"({"a":)" + big_array + "}")), kStructured,
       Expect::kFailed, "", "HUB_MAX_RENDERED_VALUE_BYTES"},
      {"huge-string", Event("hostile-huge-string", Data(greet, R"({"name":")" + std::string(600000, 'x') + "\"}")),
       kStructured, Expect::kFailed, "", "HUB_MAX_RENDERED_VALUE_BYTES"},
      {"metadata-address", Event("hostile-metadata-address", Data(workflows_[94], "{}")), kStructured,
       Expect::kFailed, "", "host '169.254.169.254' is not in HUB_HTTP_ALLOWLIST"},
      {"loopback-by-name", Event("hostile-loopback-by-name", Data(workflows_[95], "{}")), kStructured,
       Expect::kFailed, "", "host 'localhost' is not in HUB_HTTP_ALLOWLIST"},
      {"private-address", Event("hostile-private-address", Data(workflows_[96], "{}")), kStructured,
       Expect::kFailed, "", "host '10.0.0.1' is not in HUB_HTTP_ALLOWLIST"},
      {"redirect-to-metadata", Event("hostile-redirect-to-metadata", Data(workflows_[97], "{}")), kStructured,
       Expect::kFailed, "", "is not in HUB_HTTP_ALLOWLIST (after a redirect)"},
      {"unlisted-host", Event("hostile-unlisted-host", Data(workflows_[98], "{}")), kStructured, Expect::kFailed, "",
       "host 'evil.example.org' is not in HUB_HTTP_ALLOWLIST"},
      // Text that only looks dangerous is data: taken literally, not run.
      {"sql-text", Event("hostile-sql-text", Data(greet, R"({"name":"x'); DROP TABLE workflow_executions; --"})",
                                                  R"(,"correlationId":"x'); DROP TABLE outbox; --")"),
                         "workflow.triggered", "urn:x'); DROP TABLE processed_events; --"),
       kStructured, Expect::kCompleted, "", "hello " + sql},
      {"template-text", Event("hostile-template-text", Data(greet, R"({"name":"{{trigger.id}} {{input.name}}"})")),
       kStructured, Expect::kCompleted, "", "hello {{trigger.id}} {{input.name}}"},
      // SQL and template text in every other string field: source, the
      // optional ids, an input key; all stored and passed on as text.
      {"sql-every-field",
       Event("hostile-sql-every-field",
             Data(greet, R"({"name":"Ada","x'); DROP TABLE outbox; --":"{{input.name}}"})",
                  R"(,"triggeredBy":"' OR 1=1; DROP TABLE users; --","correlationId":"{{trigger.id}}'; --")"),
             "workflow.triggered", "urn:x'); DROP TABLE processed_events; --"),
       kStructured, Expect::kCompleted, "", "hello Ada"},
  };

  // Webhooks a stranger could send: no, a forged, a malformed or a doubled
  // signature, and one for an integration of no organisation it names.
  const std::vector<Row> webhooks = {
      {"webhook-unsigned", Webhook("hostile-webhook-unsigned", "int_gh", "{}"), kStructured, Expect::kDeadLetter,
       "signature", "X-Hub-Signature-256 is missing", "hub.integration.webhook"},
      {"webhook-forged", Webhook("hostile-webhook-forged", "int_gh",
                                 R"({"X-Hub-Signature-256":"sha256=)" + std::string(64, 'a') + R"("})"),
       kStructured, Expect::kDeadLetter, "signature", "does not match the body", "hub.integration.webhook"},
      {"webhook-malformed", Webhook("hostile-webhook-malformed", "int_gh", R"({"X-Hub-Signature-256":"sha256=xyz"})"),
       kStructured, Expect::kDeadLetter, "signature", "64 hex digits", "hub.integration.webhook"},
      {"webhook-doubled", Webhook("hostile-webhook-doubled", "int_gh",
                                  R"({"X-Hub-Signature-256":")" + good_sig + R"(","x-hub-signature-256":"sha256=00"})"),
       kStructured, Expect::kDeadLetter, "signature", "more than once", "hub.integration.webhook"},
      {"webhook-other-integration", Webhook("hostile-webhook-other-integration", "int_nowhere",
                                            R"({"X-Hub-Signature-256":")" + good_sig + R"("})"),
       kStructured, Expect::kDeadLetter, "not_found", "integration 'int_nowhere' not found", "hub.integration.webhook"},
  };
  rows.insert(rows.end(), webhooks.begin(), webhooks.end());

  auto worker = StartWorker({{"HUB_HTTP_ALLOWLIST", "127.0.0.1,*.example.com"}, {"HUB_SECRET_KEY", secret_key}});
  TestConsumer completions(broker_->bootstrap(), "hub.workflow.completed");
  TestConsumer dead(broker_->bootstrap(), "hub.deadletter");
  TestProducer producer(broker_->bootstrap());
  ProduceTriggered(producer, "before", 0, 200);
  for (const auto& r : rows) producer.Produce(r.topic, "hostile-" + r.name, r.value, r.headers);
  ProduceTriggered(producer, "after", 200, 400);
  producer.Flush();

  size_t dead_letters = 0, executions = 0;
  for (const auto& r : rows) (r.expect == Expect::kDeadLetter ? dead_letters : executions) += 1;
  ASSERT_TRUE(WaitDistinctCompletions(completions, 400 + executions, 120s)) << worker->StderrText() << Progress();
  ASSERT_TRUE(dead.PollUntil([&](const auto& ms) { return ms.size() >= dead_letters; }, 60s)) << worker->StderrText();

  std::map<std::string, std::string> letter;  // key -> "class: reason"
  for (const auto& m : dead.messages()) {
    std::string cls, reason;
    for (const auto& [k, v] : m.headers) {
      if (k == "hub-error-class") cls = v;
      if (k == "hub-error") reason = v;
    }
    letter[m.key] = cls + ": " + reason;
  }
  EXPECT_EQ(letter.size(), dead_letters);
  for (const auto& r : rows) {
    SCOPED_TRACE(r.name);
    const std::string id = "hostile-" + r.name;
    switch (r.expect) {
      case Expect::kDeadLetter:
        ASSERT_EQ(letter.count(id), 1u) << "no dead letter";
        EXPECT_EQ(letter[id].rfind(r.cls + ": ", 0), 0u) << letter[id];
        EXPECT_NE(letter[id].find(r.text), std::string::npos) << letter[id];
        EXPECT_EQ(Execution(id, "error"), "(no execution)");
        break;
      case Expect::kFailed:
        EXPECT_EQ(Execution(id, "error").rfind("FAILED: ", 0), 0u) << Execution(id, "error");
        EXPECT_NE(Execution(id, "error").find(r.text), std::string::npos) << Execution(id, "error");
        break;
      case Expect::kCompleted:
        EXPECT_NE(Execution(id, "output").find(r.text), std::string::npos) << Execution(id, "output");
        EXPECT_EQ(Execution(id, "output").rfind("COMPLETED: ", 0), 0u) << Execution(id, "output");
        break;
    }
  }
  // Ordinary events all completed; only the rows that ran wrote executions,
  // and every greeting that completed wrote its one notification.
  EXPECT_EQ(Count("SELECT count(*) FROM workflow_executions WHERE trigger_event_id LIKE 'before-%' "
                  "OR trigger_event_id LIKE 'after-%'"),
            400);
  EXPECT_EQ(Count("SELECT count(*) FROM workflow_executions WHERE trigger_event_id LIKE 'hostile-%'"),
            static_cast<int64_t>(executions));
  // (Ordinary events also reach the redefined workflows 90..98, which have
  // no notification node.)
  EXPECT_EQ(Count("SELECT count(*) FROM notifications"),
            Count("SELECT count(*) FROM workflow_executions e JOIN automation_workflows w ON w.id = e.workflow_id "
                  "WHERE e.status = 'COMPLETED' AND w.nodes::text LIKE '%notification%'"));
  EXPECT_EQ(Count("SELECT count(*) FROM notifications WHERE message LIKE '%DROP TABLE workflow_executions%'"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM processed_events WHERE event_id = 'hostile-sql-every-field' "
                  "AND source = 'urn:x''); DROP TABLE processed_events; --'"),
            1);
  EXPECT_EQ(Count("SELECT count(*) FROM workflow_executions WHERE triggered_by = ''' OR 1=1; DROP TABLE users; --' "
                  "AND correlation_id = '{{trigger.id}}''; --' AND input ? 'x''); DROP TABLE outbox; --'"),
            1);
  EXPECT_EQ(Count("SELECT count(*) FROM execution_steps"), 0);
  // None of it was taken for a transient failure.
  EXPECT_EQ(worker->StderrText().find("will retry"), std::string::npos) << worker->StderrText();
  const int64_t rss_mib = testing::PeakRssKb(worker->pid()) / 1024;
  std::cout << "worker peak RSS: " << rss_mib << " MiB\n";
  // The largest row is about 700 KB; what one event may cost is bounded far
  // below this (HUB_MAX_EXECUTION_BYTES and the broker's message size).
  EXPECT_LT(rss_mib, 512);
  StopWorker(*worker);
}

}  // namespace
}  // namespace hub
