// A lane against a real PostgreSQL, fed real Kafka messages (read back from an
// in-process mock cluster): what it reports to the consume loop when a
// partition fails while some of its messages are stale or still queued.
//
// The consume loop rewinds a partition only for a failure reported under the
// partition's current epoch, and stores offsets up to `done_through`; these
// tests pin down the two lane behaviours that this relies on.
#include <gtest/gtest.h>

#include <librdkafka/rdkafkacpp.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <memory>
#include <stdexcept>
#include <pqxx/pqxx>
#include <rapidjson/document.h>
#include <string>
#include <thread>
#include <vector>

#include "common/ids.hpp"
#include "consumers/lane.hpp"
#include "consumers/workflows/step_runner.hpp"
#include "tests/support/http_stub.hpp"
#include "tests/support/kafka_client.hpp"
#include "tests/support/mock_kafka.hpp"
#include "tests/support/pg_fixture.hpp"
#include "worker/catalogue.hpp"
#include "worker/seed.hpp"

namespace hub {
namespace {
using namespace std::chrono_literals;
using consumers::Completion;
using consumers::LaneMessage;
using consumers::SharedPartition;

constexpr const char* kTopic = "hub.workflow.triggered";

class NoDeadLetters : public producers::DeadLetterSink {
 public:
  void Send(const std::vector<producers::DeadLetter>& letters) override {
    ADD_FAILURE() << "unexpected dead letter: " << letters.at(0).reason;
  }
};

// Records dead letters instead of sending them.
class RecordingDeadLetters : public producers::DeadLetterSink {
 public:
  void Send(const std::vector<producers::DeadLetter>& letters) override {
    for (const auto& l : letters) sent.push_back(l);
  }
  std::vector<producers::DeadLetter> sent;
};

// A lane over partition 0 of topic_ (kTopic unless a test says otherwise), fed messages read back from a mock
// cluster; subclasses seed the database and produce the events.
class LaneHarness : public ::testing::Test {
 protected:
  void StartLane(producers::DeadLetterSink& dead_letters, const std::string& url = "") {
    part_->topic = topic_;
    part_->partition = 0;
    consumers::LaneOptions o;
    o.database_url = url.empty() ? db_.url() : url;
    o.catalogue = &worker::Catalogue();
    o.deps.clock = &clock_;
    lane_ = std::make_unique<consumers::Lane>(0, o, schemas_, dead_letters, completions_, metrics_);
  }

  // Organisation org_a (user user_a) with `workflows` greeting workflows.
  std::vector<std::string> SeedOrgA(int workflows) {
    worker::SeedOptions o;
    o.organization_id = "org_a";
    o.user_id = "user_a";
    o.workflows = workflows;
    return worker::SeedOrganization(db_.owner_url(), o);
  }

  // One workflow.triggered event (name "Ada") for `wf` on partition 0,
  // applied by a lane started here.
  void ApplyOneTrigger(const std::string& wf, const std::string& event_id, producers::DeadLetterSink& dead) {
    kafka_.CreateTopic(kTopic, 1);
    testing::TestProducer producer(kafka_.bootstraps());
    producer.Produce(kTopic, wf, worker::MakeWorkflowTriggered(event_id, "org_a", wf, "Ada"),
                     {{"content-type", "application/cloudevents+json"}});
    producer.Flush();
    StartLane(dead);
    lane_->Push(Messages(0, 1, 0, false));
    EXPECT_EQ(NextCompletion().done_through, 0);
  }

  void TearDown() override {
    lane_.reset();  // the messages it held go before the consumer they came from
    if (reader_) reader_->close();
  }

  // Offsets [from, to) of partition 0, read from the broker, as the consume
  // loop would dispatch them under `epoch`; `isolate` as for a retry.
  std::vector<LaneMessage> Messages(int64_t from, int64_t to, uint32_t epoch, bool isolate) {
    if (!reader_) {
      std::string err;
      std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
      conf->set("bootstrap.servers", kafka_.bootstraps(), err);
      conf->set("group.id", "lane-test", err);
      reader_.reset(RdKafka::KafkaConsumer::create(conf.get(), err));
      if (!reader_) throw std::runtime_error("kafka consumer: " + err);
    }
    std::unique_ptr<RdKafka::TopicPartition> tp(RdKafka::TopicPartition::create(topic_, 0, from));
    std::vector<RdKafka::TopicPartition*> assignment{tp.get()};
    reader_->assign(assignment);
    std::vector<LaneMessage> out;
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (static_cast<int64_t>(out.size()) < to - from && std::chrono::steady_clock::now() < deadline) {
      std::unique_ptr<RdKafka::Message> m(reader_->consume(100));
      if (!m || m->err() != RdKafka::ERR_NO_ERROR) continue;
      if (m->offset() != from + static_cast<int64_t>(out.size())) continue;  // of an earlier assignment
      LaneMessage lm;
      lm.part = part_;
      lm.epoch = epoch;
      lm.isolate = isolate;
      lm.msg = std::move(m);
      out.push_back(std::move(lm));
    }
    EXPECT_EQ(static_cast<int64_t>(out.size()), to - from);
    return out;
  }

  // The next completion the lane reports (it reports one per partition per batch).
  Completion NextCompletion() {
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < deadline) {
      std::vector<Completion> got = completions_.Take();
      if (!got.empty()) {
        EXPECT_EQ(got.size(), 1u);
        return std::move(got.front());
      }
      completions_.WaitForPush(100ms);
    }
    ADD_FAILURE() << "no completion within 60 s";
    return {};
  }

  int64_t Executions() {
    pqxx::connection c(db_.admin_url());
    pqxx::nontransaction q(c);
    return q.exec1("SELECT count(*) FROM workflow_executions")[0].as<int64_t>();
  }

  int64_t Scalar(const std::string& sql) {
    pqxx::connection c(db_.admin_url());
    pqxx::nontransaction q(c);
    return q.exec1(sql)[0].as<int64_t>();
  }

  std::string topic_ = kTopic;
  common::SystemClock clock_;
  testing::PgDatabase db_;
  testing::MockKafka kafka_;
  consumers::SchemaRegistry schemas_{consumers::SchemaRegistry::DefaultDir()};
  consumers::CompletionQueue completions_;
  common::Metrics metrics_;
  std::shared_ptr<SharedPartition> part_ = std::make_shared<SharedPartition>();
  std::unique_ptr<RdKafka::KafkaConsumer> reader_;  // reads the messages fed to the lane
  std::unique_ptr<consumers::Lane> lane_;
};

class LaneTest : public LaneHarness {
 protected:
  void SetUp() override {
    const std::string wf = SeedOrgA(1).at(0);
    // Event "e-2" (name "poison") fails with a serialization failure: a
    // transient error, retried by the consume loop.
    testing::InstallPoisonTrigger(db_.admin_url());

    kafka_.CreateTopic(kTopic, 1);
    testing::TestProducer producer(kafka_.bootstraps());
    for (int i = 0; i < kEvents; ++i)
      producer.Produce(kTopic, wf,
                       worker::MakeWorkflowTriggered("e-" + std::to_string(i), "org_a", wf,
                                                     i == 2 ? "poison" : "n" + std::to_string(i)),
                       {{"content-type", "application/cloudevents+json"}});
    producer.Flush();
    StartLane(dead_letters_);
  }

  static constexpr int kEvents = 10;
  NoDeadLetters dead_letters_;
};

TEST_F(LaneTest, AFailedRetryIsReportedUnderTheLiveEpochEvenBehindStaleMessages) {
  // The partition was rewound to offset 2 (epoch 0 -> 1).  The lane still holds
  // offsets 5..9 dispatched before the seek when 2..9 arrive again: one batch
  // of stale then live messages, and the retried event fails again.
  part_->epoch = 1;
  std::vector<LaneMessage> batch = Messages(5, 10, 0, false);
  for (auto& m : Messages(2, 10, 1, true)) batch.push_back(std::move(m));
  lane_->Push(std::move(batch));
  const Completion c = NextCompletion();
  EXPECT_EQ(c.epoch, 1u) << "a failure under a stale epoch is ignored by the consume loop: the partition stalls";
  EXPECT_EQ(c.failed_at, 2);
  EXPECT_EQ(c.done_through, -1);
  EXPECT_EQ(c.retired, 13);
  EXPECT_NE(c.error.find("simulated serialization failure"), std::string::npos) << c.error;
  EXPECT_EQ(Executions(), 0);
}

TEST_F(LaneTest, AfterAFailureThePartitionsQueuedMessagesWaitForTheRewind) {
  // Offsets 0..4 fail in one transaction (offset 2 is poison).  Offsets 5..9,
  // dispatched under the same epoch before the consume loop rewinds, must not
  // be applied ahead of them (per-key order) nor reported done (their offsets
  // would be stored past events that were never applied).
  lane_->Push(Messages(0, 5, 0, false));
  const Completion failed = NextCompletion();
  EXPECT_EQ(failed.epoch, 0u);
  EXPECT_EQ(failed.failed_at, 0);
  EXPECT_EQ(failed.retired, 5);
  lane_->Push(Messages(5, 10, 0, false));
  const Completion after = NextCompletion();
  EXPECT_EQ(after.failed_at, -1);
  EXPECT_EQ(after.done_through, -1);
  EXPECT_EQ(after.retired, 5);
  EXPECT_EQ(Executions(), 0);

  // The consume loop rewinds (epoch 1) and offsets 0..9 come again, the
  // failing one isolated: the events before it are applied, the rest wait.
  part_->epoch = 1;
  lane_->Push(Messages(0, 10, 1, true));
  const Completion retried = NextCompletion();
  EXPECT_EQ(retried.epoch, 1u);
  EXPECT_EQ(retried.done_through, 1);
  EXPECT_EQ(retried.failed_at, 2);
  EXPECT_EQ(retried.retired, 10);
  EXPECT_EQ(Executions(), 2);
}

// Hostile workflow definitions and values: each execution fails on its own,
// at once, as a FAILED execution with its completion event -- no retry, no
// dead letter, and its neighbours in the batch are applied.
class PoisonLaneTest : public LaneHarness {
 protected:
  void SetUp() override {
    wfs_ = SeedOrgA(6);
    const auto [doubling_nodes, doubling_edges] = testing::DoublingWorkflow(26);
    SetDefinition(wfs_[1], doubling_nodes, doubling_edges);
    SetDefinition(wfs_[2], R"([{"id":"t","type":"trigger"},{"id":"n1","type":"transform","data":{"fields":{"a":"{{input.arr.99999999999999999999999}}"}}}])",
                  R"([{"source":"t","target":"n1"}])");
    SetDefinition(wfs_[3], R"([{"id":"t","type":"trigger"},{"id":"n","type":"notification","data":{"userId":"user_a","title":"{{input.name}}"}}])",
                  R"([{"source":"t","target":"n"}])");
    // A user of no organisation: the database refuses the notification.
    SetDefinition(wfs_[4], R"([{"id":"t","type":"trigger"},{"id":"n","type":"notification","data":{"userId":"ghost","title":"hi"}}])",
                  R"([{"source":"t","target":"n"}])");

    kafka_.CreateTopic(kTopic, 1);
    testing::TestProducer producer(kafka_.bootstraps());
    auto produce = [&](const std::string& id, const std::string& wf, const std::string& name,
                       const std::string& extra_input = "") {
      std::string e = worker::MakeWorkflowTriggered(id, "org_a", wf, name);
      if (!extra_input.empty()) e.replace(e.find("\"input\":{") + 9, 0, extra_input + ",");
      producer.Produce(kTopic, wf, e, {{"content-type", "application/cloudevents+json"}});
    };
    produce("ok-0", wfs_[0], "Ada");
    produce("doubling", wfs_[1], "x", R"("x":"12345678")");
    produce("index", wfs_[2], "x", R"("arr":[1,2,3])");
    produce("title", wfs_[3], std::string(201, 't'));
    produce("ghost", wfs_[4], "x");
    produce("ok-5", wfs_[5], "Bob");
    produce("killme", wfs_[0], "killme");
    producer.Flush();
  }

  void SetDefinition(const std::string& wf, const std::string& nodes, const std::string& edges) {
    testing::SetWorkflowDefinition(db_.admin_url(), wf, nodes, edges);
  }

  std::string ErrorOf(const std::string& trigger) {
    pqxx::connection c(db_.admin_url());
    pqxx::nontransaction q(c);
    auto r = q.exec_params("SELECT status::text || ': ' || coalesce(error, '') FROM workflow_executions "
                           "WHERE trigger_event_id = $1", trigger);
    return r.empty() ? "(no execution)" : r[0][0].as<std::string>();
  }

  std::vector<std::string> wfs_;
  RecordingDeadLetters dead_letters_;
};

TEST_F(PoisonLaneTest, HostileWorkflowsFailTheirExecutionsAtOnceAndTheBatchIsApplied) {
  StartLane(dead_letters_);
  lane_->Push(Messages(0, 6, 0, false));
  const Completion c = NextCompletion();
  EXPECT_EQ(c.failed_at, -1) << c.error;
  EXPECT_EQ(c.done_through, 5);
  EXPECT_EQ(metrics_.retries.load(), 0u);
  EXPECT_TRUE(dead_letters_.sent.empty()) << dead_letters_.sent.at(0).reason;

  EXPECT_EQ(ErrorOf("ok-0"), "COMPLETED: ");
  EXPECT_EQ(ErrorOf("ok-5"), "COMPLETED: ");
  EXPECT_NE(ErrorOf("doubling").find("FAILED: node 'n16' (transform): a rendered value reached 524288 bytes, over the "
                                     "limit of 262144 bytes per value (HUB_MAX_RENDERED_VALUE_BYTES)"),
            std::string::npos)
      << ErrorOf("doubling");
  EXPECT_NE(ErrorOf("index").find("FAILED: node 'n1' (transform): template path 'input.arr.99999999999999999999999': "
                                  "array index 99999999999999999999999 is out of range"),
            std::string::npos)
      << ErrorOf("index");
  EXPECT_NE(ErrorOf("title").find("FAILED: node 'n' (notification): title rendered 201 characters"), std::string::npos)
      << ErrorOf("title");
  EXPECT_NE(ErrorOf("ghost").find("FAILED: the database refused the execution's writes"), std::string::npos)
      << ErrorOf("ghost");
  // Failed executions write no notifications; every execution has its
  // completion event in the outbox.
  EXPECT_EQ(Scalar("SELECT count(*) FROM notifications"), 2);
  EXPECT_EQ(Scalar("SELECT count(*) FROM outbox WHERE topic = 'hub.workflow.completed'"), 6);
  // The family's health: six applied, four of them FAILED executions, each
  // with its processing time.
  EXPECT_EQ(metrics_.events_processed[0].load(), 6u);
  EXPECT_EQ(metrics_.events_failed[0].load(), 4u);
  EXPECT_EQ(metrics_.event_processing[0].count(), 6u);
}

// A connection that breaks every time one event is applied (the server cannot
// take its message) is the event's failure: after reconnecting, it counts
// towards the event's dead letter.  The database not being reachable at all
// does not.
TEST_F(PoisonLaneTest, AConnectionThatBreaksOnTheSameEventCountsAsItsFailure) {
  {
    pqxx::connection c(db_.admin_url());
    pqxx::work t(c);
    t.exec(R"(CREATE FUNCTION kill_me() RETURNS trigger LANGUAGE plpgsql AS $$
              BEGIN
                IF NEW.input->>'name' = 'killme' THEN PERFORM pg_terminate_backend(pg_backend_pid()); END IF;
                RETURN NEW;
              END $$)");
    t.exec("CREATE TRIGGER kill_me BEFORE INSERT ON workflow_executions FOR EACH ROW EXECUTE FUNCTION kill_me()");
    t.commit();
  }
  StartLane(dead_letters_);
  lane_->Push(Messages(6, 7, 0, /*isolate=*/true));
  const Completion c = NextCompletion();
  EXPECT_EQ(c.failed_at, 6);
  EXPECT_TRUE(c.counts_attempt) << c.error;
  EXPECT_EQ(ErrorOf("killme"), "(no execution)");
}

TEST_F(PoisonLaneTest, ADatabaseThatCannotBeReachedIsNotTheEventsFailure) {
  // Port 1 on loopback: nothing listens there.
  StartLane(dead_letters_, "postgresql://hub@127.0.0.1:1/nothing?connect_timeout=2");
  lane_->Push(Messages(0, 1, 0, /*isolate=*/true));
  const Completion c = NextCompletion();
  EXPECT_EQ(c.failed_at, 0);
  EXPECT_FALSE(c.counts_attempt) << c.error;
}

// Records on a topic whose type is not an input of the catalogue (unknown,
// or one of the worker's outputs) are `schema` dead letters; nothing is
// applied.
class UnknownTypeLaneTest : public LaneHarness, public ::testing::WithParamInterface<const char*> {};

TEST_P(UnknownTypeLaneTest, IsASchemaDeadLetter) {
  topic_ = std::string("hub.") + GetParam();
  const std::string wf = SeedOrgA(1).at(0);
  kafka_.CreateTopic(topic_, 1);
  testing::TestProducer producer(kafka_.bootstraps());
  std::string event = worker::MakeWorkflowTriggered("u-1", "org_a", wf, "x");
  event.replace(event.find("\"workflow.triggered\""), 20, std::string("\"") + GetParam() + "\"");
  producer.Produce(topic_, wf, event, {{"content-type", "application/cloudevents+json"}});
  producer.Flush();
  RecordingDeadLetters dead;
  StartLane(dead);
  lane_->Push(Messages(0, 1, 0, false));
  const Completion c = NextCompletion();
  EXPECT_EQ(c.done_through, 0);
  ASSERT_EQ(dead.sent.size(), 1u);
  EXPECT_EQ(dead.sent[0].error_class, common::ErrorClass::kSchema);
  EXPECT_NE(dead.sent[0].reason.find(GetParam()), std::string::npos) << dead.sent[0].reason;
  EXPECT_EQ(Executions(), 0);
}

INSTANTIATE_TEST_SUITE_P(Types, UnknownTypeLaneTest, ::testing::Values("teleport.requested", "workflow.completed"));

// Durable delays: the lane parks the execution (RUNNING, one step row); a
// step runner on a manual clock resumes it once due, exactly once, and
// honours a cancellation and an expired lease.
class DelayLaneTest : public LaneHarness {
 protected:
  void SetUp() override {
    wf_ = SeedOrgA(1).at(0);
    testing::SetWorkflowDefinition(
        db_.admin_url(), wf_,
        R"([{"id":"t","type":"trigger"},{"id":"greet","type":"transform","data":{"fields":{"g":"hi {{input.name}}"}}},
            {"id":"wait","type":"delay","data":{"ms":60000}},
            {"id":"n","type":"notification","data":{"userId":"user_a","title":"t","message":"{{output.g}}"}}])",
        R"([{"source":"t","target":"greet"},{"source":"greet","target":"wait"},{"source":"wait","target":"n"}])");
    ApplyOneTrigger(wf_, "d-1", dead_letters_);
    // Now, after the lane parked the execution with the system clock.
    manual_ = std::make_unique<common::ManualClock>(common::SystemClock().NowUnixMicros());
  }

  std::unique_ptr<workflows::WorkflowStepRunner> Runner(const std::string& owner) {
    workflows::StepRunnerOptions o;
    o.database_url = db_.url();
    o.clock = manual_.get();
    o.owner = owner;
    return std::make_unique<workflows::WorkflowStepRunner>(o, metrics_);
  }

  std::string Status() {
    pqxx::connection c(db_.admin_url());
    pqxx::nontransaction q(c);
    return q.exec1("SELECT status::text || ' ' || coalesce(next_node, '-') FROM workflow_executions")[0]
        .as<std::string>();
  }

  std::string wf_;
  NoDeadLetters dead_letters_;
  std::unique_ptr<common::ManualClock> manual_;
};

TEST_F(DelayLaneTest, TheExecutionWaitsDurablyAndIsResumedOnceWhenDue) {
  EXPECT_EQ(Status(), "RUNNING wait");
  EXPECT_EQ(Scalar("SELECT count(*) FROM execution_steps"), 1);
  EXPECT_EQ(Scalar("SELECT count(*) FROM outbox"), 0);  // no completion yet
  auto a = Runner("a"), b = Runner("b");
  EXPECT_EQ(a->RunOnce(), 0u);
  manual_->Advance(std::chrono::seconds(59));
  EXPECT_EQ(a->RunOnce(), 0u);
  manual_->Advance(std::chrono::seconds(2));
  EXPECT_EQ(a->RunOnce(), 1u);
  EXPECT_EQ(b->RunOnce(), 0u);  // nothing left to run twice
  EXPECT_EQ(a->RunOnce(), 0u);
  EXPECT_EQ(Status(), "COMPLETED -");
  EXPECT_EQ(Scalar("SELECT count(*) FROM execution_steps"), 0);
  EXPECT_EQ(Scalar("SELECT count(*) FROM notifications WHERE message = 'hi Ada'"), 1);
  EXPECT_EQ(Scalar("SELECT count(*) FROM outbox WHERE topic = 'hub.workflow.completed' "
                   "AND payload LIKE '%\"status\":\"COMPLETED\"%'"),
            1);
  EXPECT_EQ(Scalar("SELECT nodes_executed FROM workflow_executions"), 4);
  EXPECT_EQ(metrics_.steps_finished[0][0].load(), 1u);  // one delay, completed once
  EXPECT_EQ(Scalar("SELECT jsonb_array_length(logs) FROM workflow_executions"), 4);
}

TEST_F(DelayLaneTest, ACancelledExecutionStopsBeforeItsNextNode) {
  {
    pqxx::connection c(db_.admin_url());
    pqxx::work t(c);
    t.exec("UPDATE workflow_executions SET status = 'CANCELLED'");
    t.commit();
  }
  manual_->Advance(std::chrono::seconds(61));
  EXPECT_EQ(Runner("a")->RunOnce(), 1u);
  EXPECT_EQ(Status(), "CANCELLED -");
  EXPECT_EQ(metrics_.steps_finished[0][3].load(), 1u);  // cancelled
  EXPECT_EQ(Scalar("SELECT count(*) FROM notifications"), 0);
  EXPECT_EQ(Scalar("SELECT count(*) FROM outbox WHERE payload LIKE '%\"status\":\"CANCELLED\"%' "
                   "AND payload LIKE '%cancelled before node%'"),
            1);
  EXPECT_EQ(Scalar("SELECT count(*) FROM execution_steps"), 0);
}

TEST_F(DelayLaneTest, AStepWhoseClaimWasLostIsTakenAgainAfterTheLease) {
  manual_->Advance(std::chrono::seconds(61));
  {
    // A worker claimed it and died: its lease runs 30 s from now.
    pqxx::connection c(db_.admin_url());
    pqxx::work t(c);
    t.exec_params("UPDATE execution_steps SET lease_owner = 'dead', attempts = 1, "
                  "lease_until = $1::timestamptz + interval '30 seconds'",
                  common::FormatRfc3339(manual_->NowUnixMicros()));
    t.commit();
  }
  auto b = Runner("b");
  EXPECT_EQ(b->RunOnce(), 0u);
  manual_->Advance(std::chrono::seconds(31));
  EXPECT_EQ(b->RunOnce(), 1u);
  EXPECT_EQ(Status(), "COMPLETED -");
  EXPECT_EQ(metrics_.step_leases_expired.load(), 1u);
}

// http_request steps: the lane parks the execution with the rendered
// request; the step runner calls the stub outside any transaction, retries
// 5xx on a durable timer (manual clock), and fails 4xx at once.
class HttpLaneTest : public LaneHarness {
 protected:
  void Run(const std::string& http_data) {
    RunDefinition(R"([{"id":"t","type":"trigger"},{"id":"call","type":"http_request","data":)" + http_data + R"(},
                      {"id":"n","type":"notification","data":{"userId":"user_a","title":"t",
                       "message":"{{nodes.call.output.body.greeting}}"}}])",
                  R"([{"source":"t","target":"call"},{"source":"call","target":"n"}])");
  }

  void RunDefinition(const std::string& nodes, const std::string& edges) {
    const std::string wf = SeedOrgA(1).at(0);
    testing::SetWorkflowDefinition(db_.admin_url(), wf, nodes, edges);
    ApplyOneTrigger(wf, "h-1", dead_letters_);
    // Now, after the lane parked the execution with the system clock.
    manual_ = std::make_unique<common::ManualClock>(common::SystemClock().NowUnixMicros());
    clients::HttpClientOptions ho;
    ho.allowlist = {"127.0.0.1"};
    http_ = std::make_unique<clients::HttpClient>(ho);
    runner_ = MakeRunner("runner", 500);
  }

  std::unique_ptr<workflows::WorkflowStepRunner> MakeRunner(const std::string& owner, int batch) {
    workflows::StepRunnerOptions ro;
    ro.database_url = db_.url();
    ro.clock = manual_.get();
    ro.owner = owner;
    ro.http = http_.get();
    ro.batch = batch;
    return std::make_unique<workflows::WorkflowStepRunner>(ro, metrics_);
  }

  // Two calls on parallel branches (price, user), a condition on one, a join.
  void RunTwoCalls(const testing::HttpStub& stub) {
    RunDefinition(
        R"([{"id":"t","type":"trigger"},
            {"id":"price","type":"http_request","data":{"url":")" + stub.url("/price") + R"("}},
            {"id":"user","type":"http_request","data":{"url":")" + stub.url("/user") + R"("}},
            {"id":"big","type":"condition","data":{"conditions":[
               {"left":"{{nodes.price.output.body.price}}","op":">","right":100}]}},
            {"id":"cheap","type":"transform","data":{"fields":{"deal":"cheap"}}},
            {"id":"dear","type":"transform","data":{"fields":{"deal":"dear"}}},
            {"id":"n","type":"notification","data":{"userId":"user_a","title":"t",
               "message":"{{nodes.user.output.body.name}}: {{output.deal}}"}}])",
        R"([{"source":"t","target":"price"},{"source":"t","target":"user"},{"source":"price","target":"big"},
            {"source":"big","sourceHandle":"true","target":"dear"},{"source":"big","sourceHandle":"false","target":"cheap"},
            {"source":"dear","target":"n"},{"source":"cheap","target":"n"},{"source":"user","target":"n"}])");
  }

  std::string Outcome() {
    pqxx::connection c(db_.admin_url());
    pqxx::nontransaction q(c);
    return q.exec1("SELECT status::text || ' ' || coalesce(error, '') FROM workflow_executions")[0].as<std::string>();
  }

  int CallLogAttempts() {
    return static_cast<int>(
        Scalar("SELECT coalesce((logs->1->>'attempts')::int, -1) FROM workflow_executions"));
  }

  NoDeadLetters dead_letters_;
  std::unique_ptr<common::ManualClock> manual_;
  std::unique_ptr<clients::HttpClient> http_;
  std::unique_ptr<workflows::WorkflowStepRunner> runner_;
};

TEST_F(HttpLaneTest, TwoFailuresThenSuccessCompletesWithThreeAttemptsAndOneIdempotencyKey) {
  std::atomic<int> calls{0};
  testing::HttpStub stub([&](const testing::HttpStub::Request&) {
    return ++calls <= 2 ? testing::HttpStub::Response{503, {}, "busy"}
                        : testing::HttpStub::Response{200, {{"Content-Type", "application/json"}}, R"({"greeting":"hi"})"};
  });
  Run(R"({"url":")" + stub.url("/greet") + R"(","retry":{"maxAttempts":3,"backoffMs":1000}})");
  EXPECT_EQ(Outcome(), "RUNNING ");
  EXPECT_EQ(runner_->RunOnce(), 0u);  // 503: rescheduled, not resumed
  EXPECT_EQ(runner_->RunOnce(), 0u);  // its backoff has not passed on the clock
  manual_->Advance(std::chrono::seconds(2));
  EXPECT_EQ(runner_->RunOnce(), 0u);  // 503 again
  manual_->Advance(std::chrono::seconds(3));
  EXPECT_EQ(runner_->RunOnce(), 1u);  // 200
  EXPECT_EQ(Outcome(), "COMPLETED ");
  EXPECT_EQ(CallLogAttempts(), 3);
  EXPECT_EQ(metrics_.steps_started[1].load(), 3u);   // http_request
  EXPECT_EQ(metrics_.steps_finished[1][2].load(), 2u);  // retried
  EXPECT_EQ(metrics_.steps_finished[1][0].load(), 1u);  // completed
  EXPECT_EQ(Scalar("SELECT count(*) FROM notifications WHERE message = 'hi'"), 1);
  // The answer the execution used is kept for replay, once (the retried calls are not).
  EXPECT_EQ(Scalar("SELECT count(*) FROM execution_call_results WHERE node_id = 'call' AND attempts = 3 "
                   "AND output->>'status' = '200' AND error IS NULL AND organization_id = 'org_a'"),
            1);
  EXPECT_EQ(Scalar("SELECT count(*) FROM execution_call_results"), 1);
  const auto seen = stub.requests();
  ASSERT_EQ(seen.size(), 3u);
  const std::string key = seen[0].headers.at("idempotency-key");
  EXPECT_NE(key.find(":call"), std::string::npos) << key;
  for (const auto& r : seen) EXPECT_EQ(r.headers.at("idempotency-key"), key);
}

TEST_F(HttpLaneTest, AlwaysFailingFailsAfterMaxAttempts) {
  testing::HttpStub stub([](const testing::HttpStub::Request&) { return testing::HttpStub::Response{503, {}, ""}; });
  Run(R"({"url":")" + stub.url() + R"(","retry":{"maxAttempts":2,"backoffMs":100}})");
  EXPECT_EQ(runner_->RunOnce(), 0u);
  manual_->Advance(std::chrono::seconds(1));
  EXPECT_EQ(runner_->RunOnce(), 1u);
  EXPECT_EQ(Outcome(), "FAILED node 'call' (http_request): failed after 2 attempts; the last: the call answered HTTP 503");
  EXPECT_EQ(stub.requests().size(), 2u);
  EXPECT_EQ(Scalar("SELECT count(*) FROM outbox WHERE payload LIKE '%\"status\":\"FAILED\"%'"), 1);
  EXPECT_EQ(Scalar("SELECT count(*) FROM execution_call_results WHERE output IS NULL AND attempts = 2 "
                   "AND error = 'failed after 2 attempts; the last: the call answered HTTP 503'"),
            1);
  EXPECT_EQ(metrics_.steps_finished[1][2].load(), 1u);  // retried
  EXPECT_EQ(metrics_.steps_finished[1][1].load(), 1u);  // failed
}

TEST_F(HttpLaneTest, NotFoundAndUnlistedHostsFailAtOnce) {
  testing::HttpStub stub([](const testing::HttpStub::Request&) { return testing::HttpStub::Response{404, {}, ""}; });
  Run(R"({"url":")" + stub.url() + R"(","retry":{"maxAttempts":5}})");
  EXPECT_EQ(runner_->RunOnce(), 1u);
  EXPECT_EQ(Outcome(), "FAILED node 'call' (http_request): the call answered HTTP 404");
  EXPECT_EQ(stub.requests().size(), 1u);
}

TEST_F(HttpLaneTest, AHostNotOnTheAllowlistFailsWithoutACall) {
  Run(R"({"url":"http://example.invalid/x"})");
  EXPECT_EQ(runner_->RunOnce(), 1u);
  EXPECT_NE(Outcome().find("host 'example.invalid' is not in HUB_HTTP_ALLOWLIST"), std::string::npos) << Outcome();
}

TEST_F(HttpLaneTest, TwoCallsOnParallelBranchesAConditionAndAJoin) {
  // Each call is answered only once both are in flight (or after a deadline):
  // calls made one after the other would be seen here.
  std::mutex mu;
  std::condition_variable cv;
  int arrived = 0;
  std::atomic<int> answered_together{0};
  testing::HttpStub stub([&](const testing::HttpStub::Request& r) {
    {
      std::unique_lock<std::mutex> lock(mu);
      ++arrived;
      cv.notify_all();
      if (cv.wait_for(lock, std::chrono::seconds(10), [&] { return arrived >= 2; })) ++answered_together;
    }
    const std::string body = r.target == "/price" ? R"({"price":250})" : R"({"name":"Ada"})";
    return testing::HttpStub::Response{200, {{"Content-Type", "application/json"}}, body};
  });
  RunTwoCalls(stub);
  // Both calls are steps of the first run, made in one round at the same
  // time and resumed one after the other in one transaction.
  EXPECT_EQ(Scalar("SELECT count(*) FROM execution_steps"), 2);
  EXPECT_EQ(runner_->RunOnce(), 2u);
  EXPECT_EQ(Outcome(), "COMPLETED ");
  EXPECT_EQ(stub.requests().size(), 2u);
  EXPECT_EQ(answered_together.load(), 2);
  EXPECT_EQ(Scalar("SELECT count(*) FROM notifications WHERE message = 'Ada: dear'"), 1);
  pqxx::connection c(db_.admin_url());
  pqxx::nontransaction q(c);
  const auto row = q.exec1("SELECT string_agg(e->>'nodeId' || '=' || (e->>'status'), ' ' ORDER BY i) "
                           "FROM workflow_executions, jsonb_array_elements(logs) WITH ORDINALITY AS l(e, i)");
  // Which call answers first decides the order of the middle entries; the
  // join (n) comes last.
  const std::string order = row[0].as<std::string>();
  EXPECT_TRUE(order == "t=COMPLETED price=COMPLETED big=COMPLETED dear=COMPLETED cheap=SKIPPED user=COMPLETED "
                       "n=COMPLETED" ||
              order == "t=COMPLETED user=COMPLETED price=COMPLETED big=COMPLETED dear=COMPLETED cheap=SKIPPED "
                       "n=COMPLETED")
      << order;
  EXPECT_EQ(Scalar("SELECT count(*) FROM execution_steps"), 0);
  EXPECT_EQ(Scalar("SELECT nodes_executed FROM workflow_executions"), 6);
  EXPECT_EQ(Scalar("SELECT count(*) FROM outbox WHERE payload LIKE '%\"status\":\"COMPLETED\"%'"), 1);
}

// Two workers each claim one branch of the same execution and resume at the
// same moment: the execution's row lock makes the second resume start from
// the first one's result, so the join runs once with both outputs.
TEST_F(HttpLaneTest, TwoRunnersResumingBranchesOfOneExecutionTakeTurns) {
  std::mutex mu;
  std::condition_variable cv;
  int arrived = 0;
  testing::HttpStub stub([&](const testing::HttpStub::Request& r) {
    {
      std::unique_lock<std::mutex> lock(mu);
      ++arrived;
      cv.notify_all();
      cv.wait_for(lock, std::chrono::seconds(10), [&] { return arrived >= 2; });
    }
    const std::string body = r.target == "/price" ? R"({"price":50})" : R"({"name":"Ada"})";
    return testing::HttpStub::Response{200, {{"Content-Type", "application/json"}}, body};
  });
  RunTwoCalls(stub);
  // Both resumes are held just before they write the execution, until both
  // are waiting: without the row lock both would have read the state before
  // the other's result, and the second write would undo the first.
  pqxx::connection admin(db_.admin_url());
  {
    pqxx::nontransaction q(admin);
    q.exec("CREATE FUNCTION hold_resume() RETURNS trigger LANGUAGE plpgsql AS "
           "$$ BEGIN PERFORM pg_advisory_xact_lock_shared(4242); RETURN NEW; END $$");
    q.exec("CREATE TRIGGER hold_resume BEFORE UPDATE ON workflow_executions "
           "FOR EACH ROW EXECUTE FUNCTION hold_resume()");
    q.exec("SELECT pg_advisory_lock(4242)");
  }
  auto first = MakeRunner("first", 1), second = MakeRunner("second", 1);
  size_t resumed_first = 0, resumed_second = 0;
  std::thread one([&] { resumed_first = first->RunOnce(); });
  std::thread other([&] { resumed_second = second->RunOnce(); });
  {
    pqxx::nontransaction q(admin);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    int64_t waiting = 0;
    while (waiting < 2 && std::chrono::steady_clock::now() < deadline) {
      waiting = q.exec1("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        "AND pid <> pg_backend_pid()")[0]
                    .as<int64_t>();
      if (waiting < 2) std::this_thread::yield();
    }
    EXPECT_EQ(waiting, 2) << "both resumes should be waiting";
    q.exec("SELECT pg_advisory_unlock(4242)");
  }
  one.join();
  other.join();
  EXPECT_EQ(resumed_first, 1u);
  EXPECT_EQ(resumed_second, 1u);
  EXPECT_EQ(Outcome(), "COMPLETED ");
  EXPECT_EQ(Scalar("SELECT count(*) FROM notifications WHERE message = 'Ada: cheap'"), 1);
  EXPECT_EQ(Scalar("SELECT nodes_executed FROM workflow_executions"), 6);
  EXPECT_EQ(Scalar("SELECT count(*) FROM outbox WHERE payload LIKE '%\"status\":\"COMPLETED\"%'"), 1);
  EXPECT_EQ(Scalar("SELECT count(*) FROM execution_steps"), 0);
}

// ai_agent steps: the model call runs in the step runner's round against a
// stub that speaks the provider's format; the agent is read under the tenant.
class AgentLaneTest : public LaneHarness {
 protected:
  static constexpr const char* kKey = "sk-test-0123456789-secret";

  // trigger -> ask (ai_agent with `agent_data`) -> notification of its text.
  void Run(const std::string& agent_data, const clients::ModelClientOptions& models) {
    const std::string wf = SeedOrgA(1).at(0);
    {
      pqxx::connection c(db_.admin_url());
      pqxx::work t(c);
      t.exec_params(
          "INSERT INTO ai_agents (id, organization_id, name, personality, model_config) VALUES "
          "('agent_oa', 'org_a', 'Writer', '{\"tone\":\"warm\"}', $1), ('agent_an', 'org_a', 'Critic', '{}', $2)",
          R"({"provider":"openai","model":"gpt-test","temperature":0.2,"systemPrompt":"You write greetings.",)"
          R"("pricing":{"inputCentsPerMillion":250,"outputCentsPerMillion":1000}})",
          R"({"provider":"anthropic","model":"claude-test","maxTokens":200})");
      t.commit();
    }
    testing::SetWorkflowDefinition(
        db_.admin_url(), wf,
        R"([{"id":"t","type":"trigger"},{"id":"ask","type":"ai_agent","data":)" + agent_data + R"(},
            {"id":"n","type":"notification","data":{"userId":"user_a","title":"t",
             "message":"{{nodes.ask.output.text}}"}}])",
        R"([{"source":"t","target":"ask"},{"source":"ask","target":"n"}])");
    ApplyOneTrigger(wf, "a-1", dead_letters_);
    manual_ = std::make_unique<common::ManualClock>(common::SystemClock().NowUnixMicros());
    models_ = std::make_unique<clients::ModelClient>(models);
    workflows::StepRunnerOptions ro;
    ro.database_url = db_.url();
    ro.clock = manual_.get();
    ro.owner = "runner";
    ro.models = models_.get();
    runner_ = std::make_unique<workflows::WorkflowStepRunner>(ro, metrics_);
  }

  std::string Outcome() {
    pqxx::connection c(db_.admin_url());
    pqxx::nontransaction q(c);
    return q.exec1("SELECT status::text || ' ' || coalesce(error, '') FROM workflow_executions")[0].as<std::string>();
  }

  std::string Text(const std::string& sql) {
    pqxx::connection c(db_.admin_url());
    pqxx::nontransaction q(c);
    return q.exec1(sql)[0].as<std::string>();
  }

  NoDeadLetters dead_letters_;
  std::unique_ptr<common::ManualClock> manual_;
  std::unique_ptr<clients::ModelClient> models_;
  std::unique_ptr<workflows::WorkflowStepRunner> runner_;
};

TEST_F(AgentLaneTest, AnOpenAiCompatibleAnswerCompletesTheExecutionWithItsUsageAndCost) {
  testing::HttpStub stub([](const testing::HttpStub::Request&) {
    return testing::HttpStub::Response{
        200, {{"Content-Type", "application/json"}},
        R"({"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-test-2026",
            "choices":[{"index":0,"message":{"role":"assistant","content":"Hello Ada!"},"finish_reason":"stop"}],
            "usage":{"prompt_tokens":30000,"completion_tokens":12000,"total_tokens":42000}})"};
  });
  clients::ModelClientOptions mo;
  mo.openai = {stub.url("/v1"), kKey};
  Run(R"({"agentId":"agent_oa","prompt":"Greet {{input.name}}","maxTokens":64})", mo);
  EXPECT_EQ(Outcome(), "RUNNING ");
  EXPECT_EQ(Scalar("SELECT count(*) FROM execution_steps WHERE kind = 'ai_agent'"), 1);
  EXPECT_EQ(runner_->RunOnce(), 1u);
  EXPECT_EQ(Outcome(), "COMPLETED ");
  const auto seen = stub.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].target, "/v1/chat/completions");
  EXPECT_EQ(seen[0].headers.at("authorization"), std::string("Bearer ") + kKey);
  EXPECT_NE(seen[0].headers.at("idempotency-key").find(":ask"), std::string::npos);
  rapidjson::Document body;
  body.Parse(seen[0].body.c_str());
  ASSERT_TRUE(body.IsObject()) << seen[0].body;
  EXPECT_STREQ(body["model"].GetString(), "gpt-test");
  EXPECT_EQ(body["max_tokens"].GetInt(), 64);  // the node's bound over the agent's
  EXPECT_DOUBLE_EQ(body["temperature"].GetDouble(), 0.2);
  EXPECT_STREQ(body["messages"][0]["content"].GetString(), "You write greetings.\n\nPersonality: {\"tone\":\"warm\"}");
  EXPECT_STREQ(body["messages"][1]["content"].GetString(), "Greet Ada");
  EXPECT_EQ(Scalar("SELECT count(*) FROM notifications WHERE message = 'Hello Ada!'"), 1);
  // 30,000 x 250 + 12,000 x 1,000 cents per million tokens = 19.5 cents.
  EXPECT_EQ(Text("SELECT tokens_used || ' ' || cost FROM workflow_executions"), "42000 19.50");
  EXPECT_EQ(Scalar("SELECT count(*) FROM outbox WHERE payload LIKE '%\"tokensUsed\":42000%' "
                   "AND payload LIKE '%\"cost\":19.50%'"),
            1);
  EXPECT_EQ(Text("SELECT kind || ' ' || (output->>'text') || ' ' || (output->'usage'->>'totalTokens') "
                 "FROM execution_call_results WHERE node_id = 'ask' AND organization_id = 'org_a'"),
            "ai_agent Hello Ada! 42000");
  EXPECT_EQ(metrics_.steps_finished[2][0].load(), 1u);  // ai_agent, completed
  // The key went into a header only.
  EXPECT_EQ(Scalar(std::string("SELECT count(*) FROM workflow_executions WHERE logs::text LIKE '%") + kKey + "%'"), 0);
}

TEST_F(AgentLaneTest, AnAnthropicOverloadIsRetriedAndTheAnswerUsed) {
  std::atomic<int> calls{0};
  testing::HttpStub stub([&](const testing::HttpStub::Request&) {
    if (++calls == 1)
      return testing::HttpStub::Response{
          529, {{"Content-Type", "application/json"}},
          R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})"};
    return testing::HttpStub::Response{
        200, {{"Content-Type", "application/json"}},
        R"({"id":"msg_1","type":"message","role":"assistant","model":"claude-test",
            "content":[{"type":"text","text":"Fine work, "},{"type":"text","text":"Ada."}],
            "stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":9,"output_tokens":4}})"};
  });
  clients::ModelClientOptions mo;
  mo.anthropic = {stub.url(), kKey};
  Run(R"({"agentId":"agent_an","prompt":"Review {{input.name}}","retry":{"maxAttempts":2,"backoffMs":100}})", mo);
  EXPECT_EQ(runner_->RunOnce(), 0u);  // 529: rescheduled
  manual_->Advance(std::chrono::seconds(1));
  EXPECT_EQ(runner_->RunOnce(), 1u);
  EXPECT_EQ(Outcome(), "COMPLETED ");
  const auto seen = stub.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1].target, "/v1/messages");
  EXPECT_EQ(seen[1].headers.at("x-api-key"), kKey);
  EXPECT_EQ(seen[1].headers.at("anthropic-version"), "2023-06-01");
  EXPECT_EQ(seen[1].headers.count("authorization"), 0u);
  rapidjson::Document body;
  body.Parse(seen[1].body.c_str());
  ASSERT_TRUE(body.IsObject()) << seen[1].body;
  EXPECT_STREQ(body["model"].GetString(), "claude-test");
  EXPECT_EQ(body["max_tokens"].GetInt(), 200);
  EXPECT_STREQ(body["messages"][0]["content"].GetString(), "Review Ada");
  EXPECT_EQ(Scalar("SELECT count(*) FROM notifications WHERE message = 'Fine work, Ada.'"), 1);
  EXPECT_EQ(Text("SELECT tokens_used || ' ' || cost || ' ' || (logs->1->>'attempts') FROM workflow_executions"),
            "13 0.00 2");
  EXPECT_EQ(metrics_.steps_finished[2][2].load(), 1u);  // retried
}

TEST_F(AgentLaneTest, AProviderErrorFailsTheExecutionWithItsReasonAndNeverTheKey) {
  testing::HttpStub stub([](const testing::HttpStub::Request&) {
    return testing::HttpStub::Response{
        401, {{"Content-Type", "application/json"}},
        std::string(R"({"error":{"message":"Incorrect API key provided: )") + kKey +
            R"(","type":"invalid_request_error","param":null,"code":"invalid_api_key"}})"};
  });
  clients::ModelClientOptions mo;
  mo.openai = {stub.url(), kKey};
  Run(R"({"agentId":"agent_oa","prompt":"Greet {{input.name}}"})", mo);
  EXPECT_EQ(runner_->RunOnce(), 1u);
  EXPECT_EQ(Outcome(),
            "FAILED node 'ask' (ai_agent): the model answered HTTP 401: (invalid_request_error) Incorrect API key "
            "provided: [redacted]");
  EXPECT_EQ(stub.requests().size(), 1u);  // a 401 is not retried
  EXPECT_EQ(Scalar(std::string("SELECT count(*) FROM outbox WHERE payload LIKE '%") + kKey + "%'"), 0);
  EXPECT_EQ(Scalar("SELECT count(*) FROM execution_call_results WHERE output IS NULL AND error LIKE '%[redacted]%'"), 1);
}

TEST_F(AgentLaneTest, AnAgentOfAnotherOrganisationIsNotFound) {
  worker::SeedOptions other;
  other.organization_id = "org_b";
  other.user_id = "user_b";
  other.workflows = 0;
  worker::SeedOrganization(db_.owner_url(), other);
  {
    pqxx::connection c(db_.admin_url());
    pqxx::work t(c);
    t.exec("INSERT INTO ai_agents (id, organization_id, name, model_config) VALUES "
           "('agent_b', 'org_b', 'Theirs', '{\"provider\":\"local\"}')");
    t.commit();
  }
  Run(R"({"agentId":"agent_b","prompt":"Greet {{input.name}}"})", clients::ModelClientOptions{});
  EXPECT_EQ(runner_->RunOnce(), 1u);
  EXPECT_EQ(Outcome(), "FAILED node 'ask' (ai_agent): agent 'agent_b' does not exist in this organisation");
}

TEST_F(AgentLaneTest, ACallThatTimesOutFailsAfterItsAttempts) {
  testing::HttpStub stub([](const testing::HttpStub::Request&) {
    testing::HttpStub::Response r{200, {{"Content-Type", "application/json"}}, "{}"};
    r.delay_ms = 2000;
    return r;
  });
  clients::ModelClientOptions mo;
  mo.openai = {stub.url(), kKey};
  Run(R"({"agentId":"agent_oa","prompt":"Greet {{input.name}}","timeoutMs":200,"retry":{"maxAttempts":1}})", mo);
  EXPECT_EQ(runner_->RunOnce(), 1u);
  const std::string outcome = Outcome();
  EXPECT_EQ(outcome.rfind("FAILED node 'ask' (ai_agent): failed after 1 attempt; the last: the model call failed: ", 0),
            0u)
      << outcome;
  EXPECT_NE(outcome.find("timed out"), std::string::npos) << outcome;
}

TEST_F(AgentLaneTest, WithNoEndpointTheLocalProviderAnswersWithoutANetworkCall) {
  Run(R"({"modelConfig":{"model":"any"},"prompt":"Greet {{input.name}}"})", clients::ModelClientOptions{});
  EXPECT_EQ(runner_->RunOnce(), 1u);
  EXPECT_EQ(Outcome(), "COMPLETED ");
  const std::string text = Text("SELECT message FROM notifications");
  EXPECT_EQ(text.rfind("[local ", 0), 0u) << text;
  EXPECT_NE(text.find("] Greet Ada"), std::string::npos) << text;
  EXPECT_EQ(Text("SELECT (output->>'provider') FROM execution_call_results"), "local");
  EXPECT_GT(Scalar("SELECT tokens_used FROM workflow_executions"), 0);
  EXPECT_EQ(metrics_.step_calls[0].load() + metrics_.step_calls[1].load() + metrics_.step_calls[2].load(), 0u);
}

}  // namespace
}  // namespace hub
