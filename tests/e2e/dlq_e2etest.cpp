// `hubworker dlq` against a running worker: a dead letter caused by a missing
// workflow is listed, shown, redriven after the workflow is created, then
// processed normally -- once: a second redrive skips it.
#include <gtest/gtest.h>

#include "tests/support/pipeline_fixture.hpp"

namespace hub {
namespace {
using namespace std::chrono_literals;
using testing::ChildProcess;
using testing::TestConsumer;

class DlqTest : public testing::PipelineFixture {
 protected:
  // Runs `hubworker dlq <args>` to completion; returns stdout, expects exit 0.
  std::string Dlq(const std::vector<std::string>& args, int want_exit = 0) {
    std::vector<std::string> all{"dlq"};
    all.insert(all.end(), args.begin(), args.end());
    ChildProcess p(HUB_BINARY, all,
                   {{"HUB_DATABASE_URL", db_->url()}, {"HUB_KAFKA_BROKERS", broker_->bootstrap()},
                    {"HUB_LOG_LEVEL", "warn"}});
    const auto rc = p.WaitExit(60s);
    EXPECT_TRUE(rc.has_value()) << p.StderrText();
    EXPECT_EQ(rc.value_or(-1), want_exit) << p.StdoutText() << p.StderrText();
    return p.StdoutText();
  }

  static rapidjson::Document Json(const std::string& text) {
    rapidjson::Document d;
    d.Parse(text.c_str());
    EXPECT_FALSE(d.HasParseError()) << text;
    return d;
  }
};

TEST_F(DlqTest, MissingWorkflowLetterIsRedrivenAfterTheWorkflowExistsAndProcessedOnce) {
  auto worker = StartWorker();
  TestConsumer dead(broker_->bootstrap(), "hub.deadletter");
  testing::TestProducer producer(broker_->bootstrap());
  producer.Produce("hub.workflow.triggered", "wf_late", worker::MakeWorkflowTriggered("late-1", "org_a", "wf_late", "Ada"),
                   {{"content-type", "application/cloudevents+json"}, {"traceparent",
                     "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}});
  // A neighbour that is processed normally, and a malformed event (class schema).
  producer.Produce("hub.workflow.triggered", workflows_[0],
                   worker::MakeWorkflowTriggered("fine-1", "org_a", workflows_[0], "Bo"),
                   {{"content-type", "application/cloudevents+json"}});
  producer.Produce("hub.workflow.triggered", "junk", "{not json", {{"content-type", "application/cloudevents+json"}});
  producer.Flush();
  ASSERT_TRUE(dead.PollUntil([](const auto& ms) { return ms.size() >= 2; }, 60s)) << worker->StderrText();

  // list: both letters, with class, type, key and organisation.
  auto listed = Json(Dlq({"list", "--output", "json"}));
  ASSERT_EQ(listed["matched"].GetUint64(), 2u);
  std::string position;
  for (const auto& l : listed["letters"].GetArray()) {
    if (std::string(l["class"].GetString()) != "not_found") continue;
    EXPECT_EQ(std::string(l["type"].GetString()), "workflow.triggered");
    EXPECT_EQ(std::string(l["key"].GetString()), "wf_late");
    EXPECT_EQ(std::string(l["organization"].GetString()), "org_a");
    EXPECT_EQ(std::string(l["sourceTopic"].GetString()), "hub.workflow.triggered");
    position = std::to_string(l["partition"].GetInt()) + ":" + std::to_string(l["offset"].GetInt64());
  }
  ASSERT_FALSE(position.empty()) << "no not_found letter listed";
  auto only_schema = Json(Dlq({"list", "--class", "schema", "--output", "json"}));
  EXPECT_EQ(only_schema["matched"].GetUint64(), 1u);
  const std::string table = Dlq({"list"});
  EXPECT_NE(table.find("wf_late"), std::string::npos) << table;
  EXPECT_NE(table.find("2 of 2 matching dead letters"), std::string::npos) << table;

  // show: the original payload and headers.
  const std::string shown = Dlq({"show", position});
  EXPECT_NE(shown.find("\"id\":\"late-1\""), std::string::npos) << shown;
  EXPECT_NE(shown.find("traceparent: 00-0af7651916cd43dd8448eb211c80319c"), std::string::npos) << shown;
  EXPECT_NE(shown.find("hub-error-class: not_found"), std::string::npos) << shown;

  // Redriving before the cause is fixed only dead-letters it again; here the
  // operator fixes it first: the workflow is created.
  {
    pqxx::connection c(db_->admin_url());
    pqxx::work t(c);
    t.exec_params("INSERT INTO automation_workflows (id, organization_id, name, nodes, edges) "
                  "VALUES ('wf_late', 'org_a', 'late', $1::jsonb, $2::jsonb)",
                  worker::GreetingNodes("user_a"), worker::GreetingEdges());
    t.commit();
  }
  auto redriven = Json(Dlq({"redrive", "--class", "not_found", "--output", "json"}));
  EXPECT_EQ(redriven["redriven"].GetUint64(), 1u);
  EXPECT_EQ(redriven["failed"].GetUint64(), 0u);

  const std::string late = "SELECT count(*) FROM workflow_executions WHERE workflow_id = 'wf_late'";
  ASSERT_TRUE(testing::WaitFor([&] { return Count(late + " AND status = 'COMPLETED'") == 1; }, 60s, 50ms))
      << worker->StderrText() << Progress();
  EXPECT_EQ(Count(late + " AND trigger_event_id = 'late-1'"), 1);
  // On the source topic: the same key, the original headers and the provenance, no hub-error*.
  TestConsumer source(broker_->bootstrap(), "hub.workflow.triggered");
  ASSERT_TRUE(source.PollUntil([](const auto& ms) { return ms.size() >= 4; }, 30s));
  int redrives = 0;
  for (const auto& m : source.messages()) {
    if (!m.headers.count("hub-redrive-of")) continue;
    ++redrives;
    EXPECT_EQ(m.key, "wf_late");
    EXPECT_EQ(m.headers.at("hub-redrive-of"), "hub.deadletter:" + position);
    EXPECT_EQ(m.headers.at("hub-redrive-error-class"), "not_found");
    EXPECT_EQ(m.headers.at("traceparent"), "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    EXPECT_EQ(m.headers.count("hub-error"), 0u);
    EXPECT_EQ(m.headers.count("hub-source-offset"), 0u);
  }
  EXPECT_EQ(redrives, 1);

  // Once: the letter is marked, a second redrive (by filter or by position) skips it.
  auto again = Json(Dlq({"redrive", "--class", "not_found", "--output", "json"}));
  EXPECT_EQ(again["redriven"].GetUint64(), 0u);
  ASSERT_EQ(again["skipped"].Size(), 1u);
  EXPECT_NE(std::string(again["skipped"][0]["why"].GetString()).find("already redriven"), std::string::npos);
  auto by_position = Json(Dlq({"redrive", position, "--output", "json"}));
  EXPECT_EQ(by_position["redriven"].GetUint64(), 0u);
  EXPECT_EQ(Count("SELECT count(*) FROM dead_letter_redrives"), 1);
  auto relisted = Json(Dlq({"list", "--class", "not_found", "--output", "json"}));
  EXPECT_TRUE(relisted["letters"][0].HasMember("redriven"));
  // The malformed one is redrivable in principle, but only on request.
  Dlq({"redrive"}, 2);
  EXPECT_EQ(Count(late), 1);
  StopWorker(*worker);
}

}  // namespace
}  // namespace hub
