// Hostile inputs against `hubworker run` (issue "Poison inputs"): a workflow
// whose output doubles at every node, an array index no array has, a title
// too long for its column, a notification the database refuses, NUL bytes
// and lone surrogates in identifiers and data, malformed settings.  Each ends
// at once as a FAILED execution or a dead letter with its reason, while the
// worker goes on with every other event, with bounded memory.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <string>

#include "tests/support/pipeline_fixture.hpp"

namespace hub {
namespace {
using namespace std::chrono_literals;
using testing::ChildProcess;
using testing::JsonString;
using testing::TestConsumer;
using testing::TestProducer;

class PoisonInputsTest : public testing::PipelineFixture {
 protected:
  void SetDefinition(const std::string& wf, const std::string& nodes, const std::string& edges) {
    testing::SetWorkflowDefinition(db_->admin_url(), wf, nodes, edges);
  }

  // The execution of the trigger event `id`: "STATUS: error".
  std::string Outcome(const std::string& id) {
    pqxx::connection c(db_->admin_url());
    pqxx::nontransaction q(c);
    auto r = q.exec_params("SELECT status::text || ': ' || coalesce(error, '') FROM workflow_executions "
                           "WHERE trigger_event_id = $1", id);
    return r.empty() ? "(no execution)" : r[0][0].as<std::string>();
  }

  // A workflow.triggered event with `input_json` as data.input and the given
  // organisation text (raw JSON string contents, escapes allowed).
  static std::string Event(const std::string& id, const std::string& org_json, const std::string& wf,
                           const std::string& input_json) {
    return R"({"specversion":"1.0","id":")" + id + R"(","source":"urn:poison","type":"workflow.triggered",)"
           R"("time":"2026-12-04T10:00:00Z","data":{"organizationId":")" + org_json + R"(","workflowId":")" + wf +
           R"(","input":)" + input_json + "}}";
  }
};

TEST_F(PoisonInputsTest, HostileEventsEndAtOnceWhileEveryOtherEventIsProcessed) {
  // workflows_[7]: 26 transforms, each doubling the previous output.
  const auto [doubling_nodes, doubling_edges] = testing::DoublingWorkflow(26);
  SetDefinition(workflows_[7], doubling_nodes, doubling_edges);
  SetDefinition(workflows_[8],
                R"([{"id":"t","type":"trigger"},{"id":"n1","type":"transform","data":{"fields":{"a":"{{input.arr.99999999999999999999999}}"}}}])",
                R"([{"source":"t","target":"n1"}])");
  SetDefinition(workflows_[9],
                R"([{"id":"t","type":"trigger"},{"id":"n","type":"notification","data":{"userId":"user_a","title":"{{input.t}}"}}])",
                R"([{"source":"t","target":"n"}])");

  auto worker = StartWorker();
  TestConsumer completions(broker_->bootstrap(), "hub.workflow.completed");
  TestConsumer dead(broker_->bootstrap(), "hub.deadletter");
  TestProducer producer(broker_->bootstrap());
  const std::vector<std::pair<std::string, std::string>> structured = {
      {"content-type", "application/cloudevents+json"}};
  ProduceTriggered(producer, "before", 0, 400);
  producer.Produce("hub.workflow.triggered", workflows_[7], Event("doubling", "org_a", workflows_[7], R"({"x":"12345678"})"),
                   structured);
  producer.Produce("hub.workflow.triggered", workflows_[8], Event("index", "org_a", workflows_[8], R"({"arr":[1,2,3]})"),
                   structured);
  producer.Produce("hub.workflow.triggered", workflows_[9],
                   Event("title", "org_a", workflows_[9], R"({"t":")" + std::string(201, 't') + R"("})"), structured);
  // org_a\u0000evil: libpq used to cut the text at the NUL and apply it to org_a.
  producer.Produce("hub.workflow.triggered", workflows_[0], Event("nul-org", R"(org_a\u0000evil)", workflows_[0], "{}"),
                   structured);
  producer.Produce("hub.workflow.triggered", workflows_[1],
                   Event("lone-surrogate", "org_a", workflows_[1], R"({"name":"\udc00"})"), structured);
  producer.Produce("hub.workflow.triggered", workflows_[2],
                   Event("nul-data", "org_a", workflows_[2], R"({"name":"a\u0000b"})"), structured);
  ProduceTriggered(producer, "after", 400, 800);
  producer.Flush();

  // 800 ordinary events and the three hostile workflows complete; the three
  // invalid events are dead letters.
  ASSERT_TRUE(WaitDistinctCompletions(completions, 803, 120s)) << worker->StderrText() << Progress();
  ASSERT_TRUE(dead.PollUntil([](const auto& ms) { return ms.size() >= 3; }, 30s)) << worker->StderrText();
  std::cout << "worker peak RSS: " << testing::PeakRssKb(worker->pid()) / 1024 << " MiB\n";

  EXPECT_NE(Outcome("doubling").find("FAILED: node 'n16' (transform): a rendered value reached 524288 bytes, over "
                                     "the limit of 262144 bytes per value (HUB_MAX_RENDERED_VALUE_BYTES)"),
            std::string::npos)
      << Outcome("doubling");
  EXPECT_NE(Outcome("index").find("array index 99999999999999999999999 is out of range"), std::string::npos)
      << Outcome("index");
  EXPECT_NE(Outcome("title").find("title rendered 201 characters"), std::string::npos) << Outcome("title");
  EXPECT_EQ(Count("SELECT count(*) FROM workflow_executions WHERE status = 'COMPLETED'"), 800);

  std::map<std::string, std::string> class_of;
  for (const auto& m : dead.messages()) {
    std::string cls, reason;
    for (const auto& [k, v] : m.headers) {
      if (k == "hub-error-class") cls = v;
      if (k == "hub-error") reason = v;
    }
    class_of[JsonString(m.value, nullptr, "id")] = cls + ": " + reason;
  }
  ASSERT_EQ(class_of.size(), 3u);
  for (const char* id : {"nul-org", "lone-surrogate", "nul-data"})
    EXPECT_EQ(class_of[id].rfind("schema: ", 0), 0u) << id << " -> " << class_of[id];
  EXPECT_NE(class_of["nul-org"].find("data.organizationId"), std::string::npos) << class_of["nul-org"];
  EXPECT_EQ(Count("SELECT count(*) FROM workflow_executions WHERE trigger_event_id IN "
                  "('nul-org', 'lone-surrogate', 'nul-data')"),
            0);

  // None of it was taken for a transient failure: nothing was retried.
  EXPECT_EQ(worker->StderrText().find("will retry"), std::string::npos) << worker->StderrText();
  StopWorker(*worker);
}

TEST(PoisonSettings, AMalformedDatabaseUrlIsAStartupErrorThatNamesTheSetting) {
  for (const char* url : {":notaport", "not a url", "postgresql://hub@127.0.0.1:notaport/hub"}) {
    SCOPED_TRACE(url);
    ChildProcess worker(HUB_BINARY, {"run"}, {{"HUB_DATABASE_URL", url}, {"HUB_HTTP_ADDR", "127.0.0.1:0"}});
    const auto rc = worker.WaitExit(10s);
    ASSERT_TRUE(rc.has_value()) << "still running (retrying?)\n" << worker.StderrText();
    EXPECT_EQ(*rc, 2);
    EXPECT_NE(worker.StderrText().find("configuration error: HUB_DATABASE_URL"), std::string::npos)
        << worker.StderrText();
  }
}

TEST(PoisonSettings, SigtermWhileWaitingForTheDatabaseExitsAtOnce) {
  // Port 1 on loopback: nothing listens; the worker waits and retries.
  ChildProcess worker(HUB_BINARY, {"run"},
                      {{"HUB_DATABASE_URL", "postgresql://hub@127.0.0.1:1/hub"}, {"HUB_HTTP_ADDR", "127.0.0.1:0"}});
  ASSERT_TRUE(testing::WaitFor(
      [&] { return worker.StderrText().find("database not reachable yet") != std::string::npos; }, 20s))
      << worker.StderrText();
  worker.Signal(SIGTERM);
  const auto rc = worker.WaitExit(5s);
  ASSERT_TRUE(rc.has_value()) << "SIGTERM ignored while waiting for the database\n" << worker.StderrText();
  EXPECT_EQ(*rc, 0) << worker.StderrText();
}

}  // namespace
}  // namespace hub
