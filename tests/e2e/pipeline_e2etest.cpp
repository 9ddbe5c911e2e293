// The pipeline end to end: real PostgreSQL, the embedded Kafka-protocol broker
// (in this process, so faults can be injected), `hubworker run` processes, and
// a separate librdkafka client that produces events and reads the outputs.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <rapidjson/document.h>
#include <signal.h>

#include <iostream>
#include <map>
#include <memory>
#include <pqxx/pqxx>
#include <set>
#include <string>
#include <thread>

#include "tests/support/kafka_client.hpp"
#include "tests/support/pipeline_fixture.hpp"
#include "tests/support/pg_fixture.hpp"
#include "tests/support/process.hpp"
#include "worker/embedded_broker.hpp"
#include "worker/seed.hpp"

namespace hub {
namespace {
using namespace std::chrono_literals;
using testing::ChildProcess;
using testing::PgDatabase;
using testing::ReceivedMessage;
using testing::TestConsumer;
using testing::TestProducer;

using testing::JsonString;

class PipelineTest : public testing::PipelineFixture {};

TEST_F(PipelineTest, TenThousandEventsOnThreeWorkersGiveExactlyTenThousandExecutions) {
  std::vector<std::unique_ptr<ChildProcess>> workers;
  for (int i = 0; i < 3; ++i) workers.push_back(StartWorker());
  TestProducer producer(broker_->bootstrap());
  ProduceTriggered(producer, "w1", 0, 10000);
  TestConsumer completions(broker_->bootstrap(), "hub.workflow.completed");
  ASSERT_TRUE(WaitDistinctCompletions(completions, 10000, 180s))
      << "distinct completions: " << distinct() << "\n"
      << workers[0]->StderrText();
  EXPECT_EQ(distinct(), 10000u);
  EXPECT_EQ(Count("SELECT count(*) FROM workflow_executions"), 10000);
  EXPECT_EQ(Count("SELECT count(*) FROM workflow_executions WHERE status = 'COMPLETED' AND nodes_executed = 3"), 10000);
  EXPECT_EQ(Count("SELECT count(*) FROM notifications"), 10000);
  EXPECT_EQ(Count("SELECT sum(execution_count) FROM automation_workflows WHERE organization_id = 'org_a'"), 10000);
  EXPECT_TRUE(WaitOutboxEmpty(30s));
  for (auto& w : workers) StopWorker(*w);
}

TEST_F(PipelineTest, TheSameThousandEventsProducedTwiceGiveAThousandExecutions) {
  auto worker = StartWorker();
  TestProducer producer(broker_->bootstrap());
  ProduceTriggered(producer, "dup", 0, 1000);
  ProduceTriggered(producer, "dup", 0, 1000);
  TestConsumer completions(broker_->bootstrap(), "hub.workflow.completed");
  ASSERT_TRUE(WaitDistinctCompletions(completions, 1000, 120s)) << worker->StderrText() << Progress();
  // Both copies are consumed: wait until the worker has stored offsets past all 2,000.
  ASSERT_TRUE(testing::WaitFor([&] { return Count("SELECT count(*) FROM processed_events") == 1000; }, 60s, 50ms));
  EXPECT_TRUE(WaitOutboxEmpty(30s));
  EXPECT_EQ(Count("SELECT count(*) FROM workflow_executions"), 1000);
  EXPECT_EQ(distinct(), 1000u);
  StopWorker(*worker);
}

TEST_F(PipelineTest, BadEventsAreDeadLetteredWhileTheirNeighboursAreProcessed) {
  auto worker = StartWorker();
  TestProducer producer(broker_->bootstrap());
  const std::string wf = workflows_[0];
  const std::vector<std::pair<std::string, std::string>> structured = {
      {"content-type", "application/cloudevents+json"}};
  auto valid = [&](int i) {
    producer.Produce("hub.workflow.triggered", wf,
                     worker::MakeWorkflowTriggered("ok-" + std::to_string(i), "org_a", wf, "x"), structured);
  };
  valid(0);
  producer.Produce("hub.workflow.triggered", wf, "{\"specversion\":\"1.0\", not json", structured);
  valid(1);
  std::string no_workflow = worker::MakeWorkflowTriggered("bad-schema", "org_a", wf, "x");
  no_workflow.replace(no_workflow.find("\"workflowId\""), 12, "\"workflowXX\"");
  producer.Produce("hub.workflow.triggered", wf, no_workflow, structured);
  valid(2);
  std::string unknown_type = worker::MakeWorkflowTriggered("bad-type", "org_a", wf, "x");
  unknown_type.replace(unknown_type.find("workflow.triggered"), 18, "workflow.exploded!");
  producer.Produce("hub.workflow.triggered", wf, unknown_type, structured);
  valid(3);
  producer.Produce("hub.workflow.triggered", other_tenant_workflow_,
                   worker::MakeWorkflowTriggered("other-tenant", "org_a", other_tenant_workflow_, "x"), structured);
  valid(4);
  producer.Produce("hub.workflow.triggered", wf, worker::MakeWorkflowTriggered("no-org", "org_nope", wf, "x"),
                   structured);
  valid(5);
  producer.Flush();

  TestConsumer dead(broker_->bootstrap(), "hub.deadletter");
  ASSERT_TRUE(dead.PollUntil([](const auto& ms) { return ms.size() >= 5; }, 60s)) << worker->StderrText();
  std::map<std::string, std::string> class_by_event;
  for (const auto& m : dead.messages()) {
    std::string id = JsonString(m.value, nullptr, "id");
    class_by_event[id.empty() ? "malformed" : id] = m.headers.at("hub-error-class");
    EXPECT_FALSE(m.headers.at("hub-error").empty());
    EXPECT_EQ(m.headers.at("hub-source-topic"), "hub.workflow.triggered");
    EXPECT_EQ(m.headers.at("content-type"), "application/cloudevents+json");  // original headers kept
    EXPECT_TRUE(m.headers.count("hub-source-partition") && m.headers.count("hub-source-offset"));
  }
  EXPECT_EQ(class_by_event["malformed"], "schema");
  EXPECT_EQ(class_by_event["bad-schema"], "schema");
  EXPECT_EQ(class_by_event["bad-type"], "schema");
  EXPECT_EQ(class_by_event["other-tenant"], "not_found");
  EXPECT_EQ(class_by_event["no-org"], "tenant");

  TestConsumer completions(broker_->bootstrap(), "hub.workflow.completed");
  ASSERT_TRUE(WaitDistinctCompletions(completions, 6, 60s));
  EXPECT_EQ(Count("SELECT count(*) FROM workflow_executions"), 6);
  // Nothing was written into the other tenant's rows.
  EXPECT_EQ(Count("SELECT execution_count FROM automation_workflows WHERE organization_id = 'org_b'"), 0);
  StopWorker(*worker);
}

TEST_F(PipelineTest, InactiveWorkflowIsRecordedAsCancelledWithItsReason) {
  auto worker = StartWorker();
  TestProducer producer(broker_->bootstrap());
  const std::string wf = "wf_org_a_inactive";
  producer.Produce("hub.workflow.triggered", wf, worker::MakeWorkflowTriggered("inactive-1", "org_a", wf, "x"),
                   {{"content-type", "application/cloudevents+json"}});
  producer.Flush();
  TestConsumer completions(broker_->bootstrap(), "hub.workflow.completed");
  ASSERT_TRUE(WaitDistinctCompletions(completions, 1, 60s)) << worker->StderrText() << Progress();
  const std::string& v = completions.messages().at(0).value;
  EXPECT_EQ(JsonString(v, "data", "status"), "CANCELLED");
  EXPECT_NE(JsonString(v, "data", "error").find("inactive"), std::string::npos);
  EXPECT_EQ(JsonString(v, "data", "triggerEventId"), "inactive-1");
  EXPECT_EQ(Count("SELECT count(*) FROM workflow_executions WHERE status = 'CANCELLED'"), 1);
  StopWorker(*worker);
}

TEST_F(PipelineTest, KillNineOfOneWorkerLosesNothingAndAppliesNothingTwice) {
  std::vector<std::unique_ptr<ChildProcess>> workers;
  for (int i = 0; i < 3; ++i) workers.push_back(StartWorker());
  TestProducer producer(broker_->bootstrap());
  TestConsumer completions(broker_->bootstrap(), "hub.workflow.completed");
  ProduceTriggered(producer, "k9", 0, 10000);
  ASSERT_TRUE(WaitDistinctCompletions(completions, 3000, 120s));
  workers[1]->Signal(SIGKILL);
  workers[1]->WaitExit(10s);
  ProduceTriggered(producer, "k9", 10000, 20000);
  workers[1] = StartWorker();
  ASSERT_TRUE(WaitDistinctCompletions(completions, 20000, 240s))
      << "distinct completions: " << distinct();
  EXPECT_EQ(Count("SELECT count(*) FROM workflow_executions"), 20000);
  EXPECT_EQ(Count("SELECT count(*) FROM processed_events"), 20000);
  EXPECT_EQ(Count("SELECT sum(execution_count) FROM automation_workflows WHERE organization_id = 'org_a'"), 20000);
  EXPECT_TRUE(WaitOutboxEmpty(30s));
  for (auto& w : workers) StopWorker(*w);
}

TEST_F(PipelineTest, SigtermUnderLoadExitsCleanlyAndARestartFindsNothingHalfDone) {
  auto worker = StartWorker();
  TestProducer producer(broker_->bootstrap());
  TestConsumer completions(broker_->bootstrap(), "hub.workflow.completed");
  ProduceTriggered(producer, "term", 0, 20000);
  ASSERT_TRUE(WaitDistinctCompletions(completions, 2000, 120s)) << worker->StderrText() << Progress();
  worker->Signal(SIGTERM);
  auto rc = worker->WaitExit(25s);  // HUB_SHUTDOWN_TIMEOUT=20 plus process start/stop slack
  ASSERT_TRUE(rc.has_value()) << worker->StderrText();
  EXPECT_EQ(*rc, 0) << worker->StderrText();
  // Whatever committed was published: the stopping relay flushed the outbox.
  EXPECT_EQ(Count("SELECT count(*) FROM outbox"), 0);
  const int64_t executions = Count("SELECT count(*) FROM workflow_executions");
  EXPECT_EQ(Count("SELECT count(*) FROM processed_events"), executions);
  worker = StartWorker();
  ASSERT_TRUE(WaitDistinctCompletions(completions, 20000, 240s));
  EXPECT_EQ(Count("SELECT count(*) FROM workflow_executions"), 20000);
  EXPECT_TRUE(WaitOutboxEmpty(30s));
  StopWorker(*worker);
}

TEST_F(PipelineTest, InjectedBrokerFaultsNeitherLoseNorDoubleEvents) {
  auto worker = StartWorker();
  TestProducer producer(broker_->bootstrap());
  TestConsumer completions(broker_->bootstrap(), "hub.workflow.completed");
  ProduceTriggered(producer, "fault", 0, 2000);
  ASSERT_TRUE(WaitDistinctCompletions(completions, 500, 120s)) << worker->StderrText() << Progress();
  // Produce (API key 0) and OffsetCommit (API key 8) requests fail for a while,
  // then one broker goes down for a few seconds.
  rd_kafka_mock_push_request_errors(broker_->cluster(), 0, 6, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                    RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
                                    RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                                    RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS);
  rd_kafka_mock_push_request_errors(broker_->cluster(), 8, 4, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                                    RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                                    RD_KAFKA_RESP_ERR_NOT_COORDINATOR);
  // Broker 2 goes down; it comes back once processing has gone on without it
  // (events on partitions led by the other brokers keep being applied).
  rd_kafka_mock_broker_set_down(broker_->cluster(), 2);
  bool progressed_while_down = false;
  std::thread restorer([&] {
    progressed_while_down =
        testing::WaitFor([&] { return Count("SELECT count(*) FROM processed_events") >= 2500; }, 60s, 100ms);
    rd_kafka_mock_broker_set_up(broker_->cluster(), 2);
  });
  ProduceTriggered(producer, "fault", 2000, 4000);  // deliveries to broker 2 wait until it is back
  restorer.join();
  EXPECT_TRUE(progressed_while_down);
  ProduceTriggered(producer, "fault", 4000, 6000);
  ASSERT_TRUE(WaitDistinctCompletions(completions, 6000, 180s))
      << worker->StderrText() << Progress();
  EXPECT_EQ(Count("SELECT count(*) FROM workflow_executions"), 6000);
  EXPECT_EQ(Count("SELECT count(*) FROM processed_events"), 6000);
  EXPECT_TRUE(WaitOutboxEmpty(30s));
  StopWorker(*worker);
}


TEST_F(PipelineTest, DatabaseConnectionsKilledMidStreamAreRetriedWithoutLossOrDuplicates) {
  auto worker = StartWorker();
  TestProducer producer(broker_->bootstrap());
  TestConsumer completions(broker_->bootstrap(), "hub.workflow.completed");
  ProduceTriggered(producer, "dbkill", 0, 10000);
  // Each time processing passes a mark, every connection of the worker's role
  // is terminated (lanes, relay, health probe).
  int kills = 0;
  for (int64_t mark : {1000, 3000, 5000, 7000}) {
    if (!testing::WaitFor([&] { return Count("SELECT count(*) FROM processed_events") >= mark; }, 120s, 20ms)) break;
    kills += static_cast<int>(Count(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = 'hub_worker' AND datname = current_database()"));
  }
  EXPECT_GT(kills, 0);
  ASSERT_TRUE(WaitDistinctCompletions(completions, 10000, 240s))
      << worker->StderrText() << Progress();
  EXPECT_EQ(Count("SELECT count(*) FROM workflow_executions"), 10000);
  EXPECT_EQ(Count("SELECT count(*) FROM notifications"), 10000);
  EXPECT_EQ(Count("SELECT sum(execution_count) FROM automation_workflows WHERE organization_id = 'org_a'"), 10000);
  // Per key (workflow), the events were applied in the order they were
  // produced, retries included: no execution ran before an earlier event of
  // its workflow.
  EXPECT_EQ(Count("SELECT count(*) FROM (SELECT split_part(trigger_event_id, '-', 2)::int AS i,"
                  " lag(split_part(trigger_event_id, '-', 2)::int) OVER (PARTITION BY workflow_id"
                  "   ORDER BY started_at, split_part(trigger_event_id, '-', 2)::int) AS previous"
                  " FROM workflow_executions) AS x WHERE previous > i"),
            0);
  EXPECT_TRUE(WaitOutboxEmpty(30s));
  StopWorker(*worker);
}

TEST_F(PipelineTest, AnEventThatKeepsFailingTransientlyIsDeadLetteredAfterTheLastAttemptAlone) {
  testing::InstallPoisonTrigger(db_->admin_url());
  auto worker = StartWorker({{"HUB_RETRY_MAX_ATTEMPTS", "3"}, {"HUB_RETRY_BASE_MS", "20"}});
  TestProducer producer(broker_->bootstrap());
  const std::vector<std::pair<std::string, std::string>> structured = {
      {"content-type", "application/cloudevents+json"}};
  for (int i = 0; i < 300; ++i) {
    const std::string& wf = workflows_[static_cast<size_t>(i) % 10];
    const std::string name = i == 150 ? "poison" : "n" + std::to_string(i);
    producer.Produce("hub.workflow.triggered", wf,
                     worker::MakeWorkflowTriggered("p-" + std::to_string(i), "org_a", wf, name), structured);
  }
  producer.Flush();
  TestConsumer dead(broker_->bootstrap(), "hub.deadletter");
  ASSERT_TRUE(dead.PollUntil([](const auto& ms) { return !ms.empty(); }, 120s)) << worker->StderrText();
  const auto& letter = dead.messages().at(0);
  EXPECT_EQ(JsonString(letter.value, nullptr, "id"), "p-150");
  EXPECT_EQ(letter.headers.at("hub-error-class"), "internal");
  EXPECT_NE(letter.headers.at("hub-error").find("gave up after 3 attempts"), std::string::npos)
      << letter.headers.at("hub-error");
  EXPECT_NE(letter.headers.at("hub-error").find("simulated serialization failure"), std::string::npos);
  TestConsumer completions(broker_->bootstrap(), "hub.workflow.completed");
  ASSERT_TRUE(WaitDistinctCompletions(completions, 299, 120s)) << worker->StderrText() << Progress();
  EXPECT_EQ(Count("SELECT count(*) FROM workflow_executions"), 299);
  // Only the poison event was dead-lettered: none of its neighbours.
  EXPECT_FALSE(dead.PollUntil([](const auto& ms) { return ms.size() > 1; }, 2s));
  StopWorker(*worker);
}

TEST_F(PipelineTest, ACompletionTooLargeForTheProducerFailsItsExecutionAndItsKeyGoesOn) {
  // The producer takes messages up to 2,000 bytes; the middle event's greeting
  // makes its completion larger.  Such a completion used to be committed to
  // the outbox and quarantined by the relay, never published.  The execution
  // is FAILED instead, and its (small) completion event says why.
  auto worker = StartWorker({{"HUB_KAFKA_CONFIG", "message.max.bytes=2000"}});
  TestProducer producer(broker_->bootstrap());
  const std::string wf = workflows_[5];
  const std::vector<std::pair<std::string, std::string>> structured = {
      {"content-type", "application/cloudevents+json"}};
  producer.Produce("hub.workflow.triggered", wf, worker::MakeWorkflowTriggered("big-0", "org_a", wf, "Ada"), structured);
  producer.Produce("hub.workflow.triggered", wf,
                   worker::MakeWorkflowTriggered("big-1", "org_a", wf, std::string(3000, 'x')), structured);
  producer.Produce("hub.workflow.triggered", wf, worker::MakeWorkflowTriggered("big-2", "org_a", wf, "Bob"), structured);
  producer.Flush();
  TestConsumer completions(broker_->bootstrap(), "hub.workflow.completed");
  ASSERT_TRUE(WaitDistinctCompletions(completions, 3, 60s)) << worker->StderrText() << Progress();
  EXPECT_EQ(Count("SELECT count(*) FROM workflow_executions"), 3);
  EXPECT_EQ(Count("SELECT count(*) FROM workflow_executions WHERE trigger_event_id = 'big-1' AND status = 'FAILED' "
                  "AND error LIKE 'the completion event would be % bytes, over the producer''s limit%'"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM notifications n JOIN workflow_executions e "
                  "ON n.metadata->>'executionId' = e.id WHERE e.trigger_event_id = 'big-1'"), 0);
  EXPECT_TRUE(WaitOutboxEmpty(30s));
  EXPECT_EQ(Count("SELECT count(*) FROM outbox_quarantine"), 0);
  std::map<std::string, std::string> status_of;
  for (const auto& m : completions.messages())
    status_of[JsonString(m.value, "data", "triggerEventId")] = JsonString(m.value, "data", "status");
  EXPECT_EQ(status_of, (std::map<std::string, std::string>{{"big-0", "COMPLETED"}, {"big-1", "FAILED"},
                                                           {"big-2", "COMPLETED"}}));
  StopWorker(*worker);
}

TEST_F(PipelineTest, ADeadLetterTooLargeForTheProducerGoesOutWithoutItsValue) {
  // The producer takes messages up to 2,000 bytes.  The middle event (a schema
  // violation of 1,900 bytes) fits the broker, but its dead letter -- the event
  // plus the hub-error* / hub-source-* headers -- does not fit the producer.
  // Retrying it unchanged could never succeed: the event was never
  // dead-lettered and its partition was rewound to it forever (the offset
  // never moved past it; later events were applied and redelivered on every
  // retry).  The worker sends it without the value instead.
  auto worker = StartWorker({{"HUB_KAFKA_CONFIG", "message.max.bytes=2000"}});
  TestProducer producer(broker_->bootstrap());
  const std::string wf = workflows_[6];
  const std::vector<std::pair<std::string, std::string>> structured = {
      {"content-type", "application/cloudevents+json"}};
  producer.Produce("hub.workflow.triggered", wf, worker::MakeWorkflowTriggered("dl-0", "org_a", wf, "Ada"), structured);
  std::string bad = worker::MakeWorkflowTriggered("dl-1", "org_a", wf, "x");
  bad.replace(bad.find("\"workflowId\""), 12, "\"workflowXX\"");
  const std::string pad = ",\"padding\":\"" + std::string(1900 - bad.size(), 'p') + "\"}";
  bad.replace(bad.rfind('}'), 1, pad);
  ASSERT_GT(bad.size(), 1880u);
  producer.Produce("hub.workflow.triggered", wf, bad, structured);
  producer.Produce("hub.workflow.triggered", wf, worker::MakeWorkflowTriggered("dl-2", "org_a", wf, "Bob"), structured);
  producer.Flush();

  TestConsumer completions(broker_->bootstrap(), "hub.workflow.completed");
  ASSERT_TRUE(WaitDistinctCompletions(completions, 2, 60s)) << worker->StderrText() << Progress();
  TestConsumer dead(broker_->bootstrap(), "hub.deadletter");
  ASSERT_TRUE(dead.PollUntil([](const auto& ms) { return !ms.empty(); }, 30s)) << worker->StderrText();
  const auto& letter = dead.messages().at(0);
  EXPECT_EQ(letter.key, wf);
  EXPECT_TRUE(letter.value.empty());
  EXPECT_EQ(letter.headers.at("hub-value-omitted"), std::to_string(bad.size()));
  EXPECT_EQ(letter.headers.at("hub-error-class"), "schema");
  EXPECT_EQ(letter.headers.at("hub-source-topic"), "hub.workflow.triggered");
  EXPECT_EQ(letter.headers.at("content-type"), "application/cloudevents+json");  // original headers kept
  // The value is where hub-source-partition/offset say: read it back there.
  TestConsumer source(broker_->bootstrap(), "hub.workflow.triggered");
  ASSERT_TRUE(source.PollUntil([](const auto& ms) { return ms.size() >= 3; }, 30s));
  bool found = false;
  for (const auto& m : source.messages()) {
    if (std::to_string(m.partition) == letter.headers.at("hub-source-partition") &&
        std::to_string(m.offset) == letter.headers.at("hub-source-offset")) {
      found = true;
      EXPECT_EQ(m.value, bad);
    }
  }
  EXPECT_TRUE(found) << "no message at the letter's source offset";
  EXPECT_EQ(Count("SELECT count(*) FROM workflow_executions"), 2);
  EXPECT_NE(worker->StderrText().find("dead letter too large for the producer"), std::string::npos);
  StopWorker(*worker);
}

TEST_F(PipelineTest, BinaryModeEventsAreProcessedLikeStructuredOnes) {
  auto worker = StartWorker();
  TestProducer producer(broker_->bootstrap());
  const std::string wf = workflows_[3];
  producer.Produce("hub.workflow.triggered", wf,
                   R"({"organizationId":"org_a","workflowId":")" + wf + R"(","input":{"name":"Binary"}})",
                   {{"ce_specversion", "1.0"},
                    {"ce_id", "bin-1"},
                    {"ce_source", "urn:test"},
                    {"ce_type", "workflow.triggered"},
                    {"ce_time", "2026-11-23T10:00:00Z"},
                    {"ce_traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
                    {"content-type", "application/json"}});
  producer.Flush();
  TestConsumer completions(broker_->bootstrap(), "hub.workflow.completed");
  ASSERT_TRUE(WaitDistinctCompletions(completions, 1, 60s)) << worker->StderrText() << Progress();
  const std::string& v = completions.messages().at(0).value;
  EXPECT_EQ(JsonString(v, "data", "status"), "COMPLETED");
  EXPECT_EQ(JsonString(v, "data", "triggerEventId"), "bin-1");
  EXPECT_EQ(JsonString(v, nullptr, "traceparent"), "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  EXPECT_EQ(Count("SELECT count(*) FROM workflow_executions WHERE output->>'greeting' = 'hello Binary' "
                  "AND traceparent LIKE '00-0af7651916cd43dd%'"), 1);
  StopWorker(*worker);
}

TEST_F(PipelineTest, BackpressureKeepsEventsInFlightBoundedAndLosesNothing) {
  // A limit far below what one fetch brings and a lane that takes 10 events per
  // transaction: the worker is paused most of the time, so sampling sees it.
  // (With 200/50 a faster write path sometimes kept up with the fetches and
  // never reached the limit.)
  auto worker = StartWorker({{"HUB_MAX_INFLIGHT", "100"}, {"HUB_BATCH_MAX", "10"}, {"HUB_WORKER_THREADS", "1"}});
  // The worker logs its ephemeral HTTP port.
  std::string port;
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        const std::string err = worker->StderrText();
        const auto at = err.find("\"http server listening\"");
        if (at == std::string::npos) return false;
        const auto p = err.find("\"port\":\"", at);
        port = err.substr(p + 8, err.find('"', p + 8) - p - 8);
        return true;
      },
      30s));
  TestProducer producer(broker_->bootstrap());
  ProduceTriggered(producer, "bp", 0, 5000);
  int64_t max_inflight = 0;
  bool saw_paused = false;
  auto next_scrape = std::chrono::steady_clock::now();
  TestConsumer completions(broker_->bootstrap(), "hub.workflow.completed");
  auto metric = [](const std::string& text, const std::string& name) -> int64_t {
    const auto at = text.find("\n" + name + " ");
    return at == std::string::npos ? -1 : std::stoll(text.substr(at + name.size() + 2));
  };
  const bool done = completions.PollUntil(
      [&](const std::vector<ReceivedMessage>& ms) {
        if (std::chrono::steady_clock::now() >= next_scrape) {  // sample the gauges every 20 ms
          next_scrape = std::chrono::steady_clock::now() + 20ms;
          auto r = testing::RunToCompletion({"curl", {"-s", "http://127.0.0.1:" + port + "/metrics"}, {}, {}, {}}, 5s);
          max_inflight = std::max(max_inflight, metric(r.out, "hub_inflight_events"));
          saw_paused = saw_paused || metric(r.out, "hub_partitions_paused") > 0;
        }
        for (; seen_messages_ < ms.size(); ++seen_messages_)
          distinct_.insert(JsonString(ms[seen_messages_].value, "data", "executionId"));
        return distinct_.size() >= 5000;
      },
      180s);
  ASSERT_TRUE(done) << worker->StderrText() << Progress();
  EXPECT_LE(max_inflight, 100);
  EXPECT_GT(max_inflight, 0);
  EXPECT_TRUE(saw_paused);
  EXPECT_EQ(Count("SELECT count(*) FROM workflow_executions"), 5000);
  // A backlog of 50 times the in-flight limit stays on the broker, not in the
  // worker's memory.
  const int64_t rss_mib = testing::PeakRssKb(worker->pid()) / 1024;
  std::cout << "worker peak RSS with a backlog of 5000 events and HUB_MAX_INFLIGHT=100: " << rss_mib << " MiB\n";
  EXPECT_GT(rss_mib, 0);
#if defined(__SANITIZE_ADDRESS__)
  // AddressSanitizer's shadow memory and quarantine (256 MiB by default) come on top.
  constexpr int64_t kBoundMiB = 1024;
#else
  constexpr int64_t kBoundMiB = 256;
#endif
  EXPECT_LT(rss_mib, kBoundMiB);
  StopWorker(*worker);
}

TEST_F(PipelineTest, AHoldThatLastsPausesThePartitionsAndNothingIsLostWhenItEnds) {
  // The identities table is locked against inserts: every batch waits, the
  // in-flight limit is reached and consumption is held; after a second the
  // hold becomes a pause (under which the loop serves the consumer again).
  pqxx::connection locker(db_->admin_url());
  pqxx::work lock(locker);
  lock.exec("LOCK TABLE processed_events IN SHARE ROW EXCLUSIVE MODE");
  auto worker = StartWorker({{"HUB_MAX_INFLIGHT", "100"}, {"HUB_BATCH_MAX", "10"}});
  TestProducer producer(broker_->bootstrap());
  TestConsumer completions(broker_->bootstrap(), "hub.workflow.completed");
  ProduceTriggered(producer, "hold", 0, 2000);
  const auto has = [&](const char* text) { return worker->StderrText().find(text) != std::string::npos; };
  ASSERT_TRUE(testing::WaitFor([&] { return has("partitions paused for back-pressure"); }, 60s))
      << worker->StderrText();
  EXPECT_EQ(Count("SELECT count(*) FROM workflow_executions"), 0);
  lock.commit();
  ASSERT_TRUE(WaitDistinctCompletions(completions, 2000, 120s))
      << worker->StderrText() << Progress();
  EXPECT_TRUE(has("partitions resumed after back-pressure"));
  EXPECT_EQ(Count("SELECT count(*) FROM workflow_executions"), 2000);
  EXPECT_EQ(Count("SELECT count(*) FROM processed_events"), 2000);
  EXPECT_TRUE(WaitOutboxEmpty(30s));
  StopWorker(*worker);
}

TEST_F(PipelineTest, SigtermWithEveryBrokerDownStillExitsWithinTheShutdownTimeout) {
  auto worker = StartWorker({{"HUB_SHUTDOWN_TIMEOUT", "5"}});
  TestProducer producer(broker_->bootstrap());
  TestConsumer completions(broker_->bootstrap(), "hub.workflow.completed");
  ProduceTriggered(producer, "down", 0, 200);
  ASSERT_TRUE(WaitDistinctCompletions(completions, 200, 60s)) << worker->StderrText() << Progress();
  for (int b = 1; b <= 3; ++b) rd_kafka_mock_broker_set_down(broker_->cluster(), b);
  worker->Signal(SIGTERM);
  auto rc = worker->WaitExit(9s);  // 5 s timeout plus process start/stop slack
  ASSERT_TRUE(rc.has_value()) << worker->StderrText();
  EXPECT_EQ(*rc, 0);
  EXPECT_EQ(Count("SELECT count(*) FROM workflow_executions"), 200);
}

}  // namespace
}  // namespace hub
