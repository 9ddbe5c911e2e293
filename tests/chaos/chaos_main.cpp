// hub_chaos: three `hubworker run` processes under a mixed load while a
// seeded schedule kills them, injects broker faults, restarts PostgreSQL and
// stops a worker that holds a step lease; then one table of checks.
//
//   hub_chaos --events 20000 --workers 3 --kills 3 [--seed S] [--duration 60]
//
// It starts everything it needs: its own PostgreSQL cluster (scripts/pg.sh,
// so it can restart it), the embedded Kafka-protocol broker in this process
// (faults are injected through it), an HTTP stub on 127.0.0.1 that the
// workflows call.  Exit code 0 when every check passed, 1 when one failed, 2
// when the run could not be set up.  `tests/chaos/run.sh` builds and starts it.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rapidjson/document.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <pqxx/pqxx>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "tests/chaos/completion_tally.hpp"
#include "tests/chaos/load.hpp"
#include "tests/chaos/producer.hpp"
#include "tests/chaos/report.hpp"
#include "tests/chaos/schedule.hpp"
#include "tests/chaos/topic_ids.hpp"
#include "tests/chaos/worker_pool.hpp"
#include "tests/support/http_stub.hpp"
#include "tests/support/kafka_client.hpp"
#include "tests/support/pg_fixture.hpp"
#include "tests/support/process.hpp"
#include "common/log.hpp"
#include "worker/embedded_broker.hpp"

namespace hub::chaos {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr int kPartitions = 12;
constexpr int kBrokers = 3;
constexpr int kLeaseMs = 5000;
constexpr int kStubSlowMs = 1500;

std::atomic<bool> g_interrupted{false};

struct Options {
  int64_t events = 20000;
  int workers = 3;
  int kills = 3;
  uint64_t seed = 0;
  bool seed_given = false;
  double duration_s = 0;       // 0: events / 400
  int settle_timeout_s = 240;  // after the load, for everything to finish
  int max_lead = 20000;        // produced but not completed, at most
  std::string hubworker = HUB_BINARY;
  std::string source_dir = HUB_SOURCE_DIR;
};

[[noreturn]] void Usage(const std::string& why) {
  std::cerr << "hub_chaos: " << why << "\n"
            << "usage: hub_chaos [--events N] [--workers W] [--kills K] [--seed S] [--duration SECONDS]\n"
               "                 [--settle-timeout SECONDS] [--hubworker PATH] [--source-dir DIR]\n";
  std::exit(2);
}

Options Parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) Usage(a + " needs a value");
    const std::string v = argv[++i];
    try {
      if (a == "--events") o.events = std::stoll(v);
      else if (a == "--workers") o.workers = std::stoi(v);
      else if (a == "--kills") o.kills = std::stoi(v);
      else if (a == "--seed") o.seed = std::stoull(v), o.seed_given = true;
      else if (a == "--duration") o.duration_s = std::stod(v);
      else if (a == "--settle-timeout") o.settle_timeout_s = std::stoi(v);
      else if (a == "--hubworker") o.hubworker = v;
      else if (a == "--source-dir") o.source_dir = v;
      else Usage("unknown option " + a);
    } catch (const std::logic_error&) {
      Usage(a + " takes a number, not '" + v + "'");
    }
  }
  if (o.events < 1000 || o.workers < 2 || o.kills < 0) Usage("needs --events >= 1000, --workers >= 2, --kills >= 0");
  if (!o.seed_given) o.seed = std::random_device{}() * 4294967296ULL + std::random_device{}();
  if (o.duration_s <= 0) o.duration_s = static_cast<double>(o.events) / 400.0;
  return o;
}

std::string Seconds(Clock::duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", std::chrono::duration<double>(d).count());
  return buf;
}

// The throwaway cluster of this run (scripts/pg.sh), stopped and removed at the end.
class OwnPostgres {
 public:
  explicit OwnPostgres(const std::string& source_dir) : script_(source_dir + "/scripts/pg.sh") {
    const std::string local = source_dir + "/.local";
    mkdir(local.c_str(), 0755);
    chmod(local.c_str(), 0755);
    dir_ = local + "/chaos-pg-" + std::to_string(getpid());
    const auto r = Script("start", {"--fast"}, 120s);
    if (r.exit_code != 0) throw std::runtime_error("scripts/pg.sh start failed: " + r.err);
    const auto nl = r.out.find_last_not_of('\n');
    url_ = r.out.substr(r.out.rfind('\n', nl) + 1, std::string::npos);
    url_ = url_.substr(0, url_.find('\n'));
  }
  ~OwnPostgres() {
    Script("stop", {}, 120s);
    testing::RunToCompletion({"rm", {"-rf", dir_}, {}, {}, {}}, 60s);
  }
  const std::string& url() const { return url_; }
  // Fast shutdown (every connection cut) and start on the same port.
  void Restart() {
    const auto r = Script("restart", {}, 120s);
    if (r.exit_code != 0) throw std::runtime_error("scripts/pg.sh restart failed: " + r.err);
  }

 private:
  testing::RunResult Script(const std::string& cmd, std::vector<std::string> extra, std::chrono::milliseconds d) {
    std::vector<std::string> args = {script_, cmd, dir_};
    args.insert(args.end(), extra.begin(), extra.end());
    return testing::RunToCompletion({"bash", args, {}, {}, {}}, d);
  }
  std::string script_, dir_, url_;
};

// Calls the stub received, by Idempotency-Key.
class CallTally {
 public:
  testing::HttpStub::Response Answer(const testing::HttpStub::Request& r) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++total_;
      const auto k = r.headers.find("idempotency-key");
      ++by_key_[k == r.headers.end() ? std::string() : k->second];
    }
    return {200, {{"Content-Type", "application/json"}}, R"({"greeting":"hi"})",
            r.target.rfind("/slow", 0) == 0 ? kStubSlowMs : 0};
  }
  std::unordered_map<std::string, int> by_key() const {
    std::lock_guard<std::mutex> lock(mu_);
    return by_key_;
  }
  int64_t total() const {
    std::lock_guard<std::mutex> lock(mu_);
    return total_;
  }

 private:
  mutable std::mutex mu_;
  int64_t total_ = 0;
  std::unordered_map<std::string, int> by_key_;
};

// The "id" attribute of a structured CloudEvent ("" when there is none).
std::string IdOf(const std::string& json) {
  rapidjson::Document d;
  d.Parse(json.c_str(), json.size());
  if (d.HasParseError() || !d.IsObject() || !d.HasMember("id") || !d["id"].IsString()) return {};
  return d["id"].GetString();
}

int64_t Count(const std::string& admin_url, const std::string& sql) {
  pqxx::connection c(admin_url);
  pqxx::nontransaction q(c);
  return q.exec(sql)[0][0].as<int64_t>(0);
}

// What the run did, for the table.
struct Done {
  int kills = 0, pg_restarts = 0, broker_downs = 0, rtts = 0;
  std::map<std::string, int> errors_pushed;  // by API
  int stops = 0, stops_taken_over = 0, stops_without_lease = 0;
  std::string stop_detail;
};

// SIGSTOP of a worker while it holds a step lease, until other workers have
// taken over every step it held (its lease expired), then SIGCONT.
class LeaseStopper {
 public:
  LeaseStopper(WorkerPool& pool, std::string admin_url) : pool_(pool), admin_url_(std::move(admin_url)) {}
  bool busy() const { return armed_ || stopped_ >= 0; }
  void Arm(Clock::time_point now) {
    if (!busy()) armed_since_ = now, armed_ = true;
  }
  void Tick(Clock::time_point now, Done& done, const std::function<void(const std::string&)>& log) {
    if (now < next_check_) return;
    next_check_ = now + 50ms;
    try {
      if (armed_) {
        if (now - armed_since_ > 60s) {
          armed_ = false;
          ++done.stops_without_lease;
          log("no worker held a step lease for 60 s: nothing stopped");
          return;
        }
        pqxx::connection c(admin_url_);
        pqxx::nontransaction q(c);
        // A lease with at least 2 s left: the worker is inside a round (its
        // calls to the stub's slow endpoint take 1.5 s).
        for (const auto& row : q.exec("SELECT DISTINCT lease_owner FROM execution_steps "
                                      "WHERE lease_until > now() + interval '2 seconds' AND lease_owner IS NOT NULL")) {
          const std::string owner = row[0].as<std::string>();
          for (int i = 0; i < pool_.size(); ++i) {
            if (pool_.stopped(i) || owner.find(":" + std::to_string(pool_.pid(i)) + ":") == std::string::npos) continue;
            held_ = Count(admin_url_, "SELECT count(*) FROM execution_steps WHERE lease_owner = " + c.quote(owner));
            pool_.Stop(i);
            stopped_ = i, owner_ = owner, stopped_at_ = now, armed_ = false;
            ++done.stops;
            log("SIGSTOP worker " + std::to_string(i) + " (pid " + std::to_string(pool_.pid(i)) + "), holding " +
                std::to_string(held_) + " step leases");
            return;
          }
        }
      } else if (stopped_ >= 0) {
        pqxx::connection c(admin_url_);
        const int64_t still =
            Count(admin_url_, "SELECT count(*) FROM execution_steps WHERE lease_owner = " + c.quote(owner_));
        const bool over = still == 0;
        if (over || now - stopped_at_ > std::chrono::milliseconds(kLeaseMs) + 60s) {
          pool_.Continue(stopped_);
          if (over) ++done.stops_taken_over;
          done.stop_detail = std::to_string(held_) + " leases, " + (over ? "taken over" : "NOT taken over") +
                             " after " + Seconds(now - stopped_at_);
          log("SIGCONT worker " + std::to_string(stopped_) + ": its " + done.stop_detail);
          stopped_ = -1;
        }
      }
    } catch (const pqxx::failure&) {
      // PostgreSQL is being restarted (refused or cut connections, "shutting
      // down"): look again at the next tick.
    }
  }

 private:
  WorkerPool& pool_;
  std::string admin_url_;
  bool armed_ = false;
  Clock::time_point armed_since_, stopped_at_, next_check_;
  int stopped_ = -1;
  int64_t held_ = 0;
  std::string owner_;
};

int Run(const Options& o) {
  const auto t0 = Clock::now();
  std::cout << "hub_chaos: seed " << o.seed << " (pass --seed " << o.seed << " with the same flags to replay it)\n"
            << "hub_chaos: " << o.events << " events, " << o.workers << " workers, " << o.kills
            << " kills, load over " << o.duration_s << " s" << std::endl;
  ScheduleShape shape;
  shape.load_seconds = o.duration_s;
  shape.workers = o.workers;
  shape.brokers = kBrokers;
  shape.kills = o.kills;
  shape.rounds = std::max(1, o.kills / 4);
  const std::vector<Fault> schedule = MakeSchedule(o.seed, shape);
  std::cout << "hub_chaos: schedule\n";
  for (const auto& f : schedule) std::printf("  %7.1f s  %s\n", f.at_s, Describe(f).c_str());
  std::cout << std::flush;

  OwnPostgres pg(o.source_dir);
  setenv("HUB_TEST_DATABASE_URL", pg.url().c_str(), 1);
  testing::PgDatabase db;
  worker::EmbeddedBroker broker(kBrokers, kPartitions, "hub.");
  // The group's coordinator is broker 1, which the schedule never takes down
  // (see ScheduleShape).
  broker.Control([](rd_kafka_mock_cluster_t* c) { rd_kafka_mock_coordinator_set(c, "group", "hub-chaos", 1); });
  CallTally calls;
  testing::HttpStub stub([&](const testing::HttpStub::Request& r) { return calls.Answer(r); }, false);
  const std::vector<ChaosWorkflow> workflows = SeedChaosWorkflows(db.owner_url(), db.admin_url(), stub.url(""), 4);
  std::unordered_set<std::string> greeting_keys;
  std::map<std::string, WorkflowKind> kind_of;
  for (const auto& w : workflows) {
    kind_of[w.id] = w.kind;
    if (w.kind == WorkflowKind::kGreeting) greeting_keys.insert(w.id);
  }

  WorkerPool pool(o.hubworker,
                  {{"HUB_DATABASE_URL", db.url()},
                   {"HUB_KAFKA_BROKERS", broker.bootstrap()},
                   {"HUB_KAFKA_GROUP", "hub-chaos"},
                   {"HUB_HTTP_ADDR", "127.0.0.1:0"},
                   {"HUB_SESSION_TIMEOUT_MS", "4000"},
                   {"HUB_FETCH_WAIT_MS", "5"},
                   {"HUB_SHUTDOWN_TIMEOUT", "20"},
                   {"HUB_RETRY_BASE_MS", "50"},
                   {"HUB_RELAY_GRACE_MS", "2000"},
                   {"HUB_HTTP_ALLOWLIST", "127.0.0.1"},
                   {"HUB_STEP_LEASE_MS", std::to_string(kLeaseMs)},
                   {"HUB_LOG_LEVEL", "info"},
                   {"HUB_LOG_FORMAT", "json"}},
                  o.workers);
  if (!pool.WaitReady(60s)) {
    std::cerr << "hub_chaos: the workers did not become ready within 60 s\n" << pool.Problems(0, 20);
    return 2;
  }

  CompletionTally completions(broker.bootstrap(), "hub.workflow.completed", kPartitions,
                              [&](const std::string& key) { return greeting_keys.count(key) > 0; });
  TopicIds inputs(broker.bootstrap(), "hub.workflow.triggered", kPartitions);
  LoadProducer producer(broker.bootstrap());
  LeaseStopper stopper(pool, db.admin_url());
  Done done;
  const auto load_start = Clock::now();
  auto log = [&](const std::string& what) {
    std::printf("  [%7.1f s] %s\n", std::chrono::duration<double>(Clock::now() - load_start).count(), what.c_str());
    std::fflush(stdout);
  };

  // Faults act on the cluster from this thread; the mock serves them on its own.
  auto push_errors = [&](int api, const char* name, int n, std::vector<rd_kafka_resp_err_t> codes) {
    std::vector<rd_kafka_resp_err_t> errs;
    for (int i = 0; i < n; ++i) errs.push_back(codes[static_cast<size_t>(i) % codes.size()]);
    broker.Control([&](rd_kafka_mock_cluster_t* c) {
      rd_kafka_mock_push_request_errors_array(c, static_cast<int16_t>(api), errs.size(), errs.data());
    });
    done.errors_pushed[name] += n;
  };
  auto apply = [&](const Fault& f) {
    log(Describe(f));
    switch (f.kind) {
      case FaultKind::kKillWorker: {
        int i = f.target;
        while (pool.stopped(i)) i = (i + 1) % pool.size();  // a stopped worker is the stopper's
        const pid_t old = pool.pid(i);
        pool.KillAndReplace(i);
        ++done.kills;
        log("  worker " + std::to_string(i) + ": pid " + std::to_string(old) + " killed, pid " +
            std::to_string(pool.pid(i)) + " started");
        break;
      }
      case FaultKind::kProduceErrors:
        push_errors(0, "Produce", f.amount,
                    {RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                     RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS});
        break;
      case FaultKind::kFetchErrors:
        push_errors(1, "Fetch", f.amount,
                    {RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT});
        break;
      case FaultKind::kOffsetCommitErrors:
        push_errors(8, "OffsetCommit", f.amount,
                    {RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
                     RD_KAFKA_RESP_ERR_NOT_COORDINATOR});
        break;
      case FaultKind::kJoinGroupErrors:
        push_errors(11, "JoinGroup", f.amount,
                    {RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS, RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
                     RD_KAFKA_RESP_ERR_NOT_COORDINATOR, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT});
        break;
      case FaultKind::kBrokerDown:
        broker.Control([&](rd_kafka_mock_cluster_t* c) { rd_kafka_mock_broker_set_down(c, f.target); });
        ++done.broker_downs;
        break;
      case FaultKind::kBrokerUp:
        broker.Control([&](rd_kafka_mock_cluster_t* c) { rd_kafka_mock_broker_set_up(c, f.target); });
        break;
      case FaultKind::kRttOn:
        broker.Control([&](rd_kafka_mock_cluster_t* c) { rd_kafka_mock_broker_set_rtt(c, f.target, f.amount); });
        ++done.rtts;
        break;
      case FaultKind::kRttOff:
        broker.Control([&](rd_kafka_mock_cluster_t* c) { rd_kafka_mock_broker_set_rtt(c, f.target, 0); });
        break;
      case FaultKind::kPostgresRestart: {
        const auto s = Clock::now();
        pg.Restart();
        ++done.pg_restarts;
        log("  PostgreSQL back after " + Seconds(Clock::now() - s));
        break;
      }
      case FaultKind::kStopWorkerWithLease:
        stopper.Arm(Clock::now());
        break;
    }
  };

  // The load: `rate` events per second, at most `max_lead` ahead of the
  // completions; 1 invalid event per 5,000.
  const double rate = static_cast<double>(o.events) / o.duration_s;
  int64_t produced = 0, bad = 0;
  size_t next_fault = 0;
  auto next_progress = Clock::now() + 5s;
  std::set<std::string> bad_ids;
  while (!g_interrupted && (produced < o.events || next_fault < schedule.size() || stopper.busy())) {
    const auto now = Clock::now();
    const double elapsed = std::chrono::duration<double>(now - load_start).count();
    const int64_t due = std::min<int64_t>(o.events, static_cast<int64_t>(elapsed * rate) + 1);
    while (produced < due &&
           produced - static_cast<int64_t>(completions.distinct_executions()) < o.max_lead) {
      const LoadEvent e = MakeEvent(produced++, workflows);
      producer.Produce("hub.workflow.triggered", e.key, e.value);
      if (produced % 5000 == 2500) {
        const LoadEvent b = MakeBadEvent(bad++, workflows);
        producer.Produce("hub.workflow.triggered", b.key, b.value);
        bad_ids.insert(b.id);
      }
    }
    producer.Poll();
    while (next_fault < schedule.size() && schedule[next_fault].at_s <= elapsed) apply(schedule[next_fault++]);
    stopper.Tick(now, done, log);
    if (const int crashed = pool.ReplaceCrashed()) log(std::to_string(crashed) + " worker(s) exited on their own");
    completions.Poll(40ms);
    inputs.Poll(10ms);
    if (now >= next_progress) {
      next_progress = now + 5s;
      log("produced " + std::to_string(produced) + ", completed " + std::to_string(completions.distinct_executions()));
    }
  }
  const auto load_end = Clock::now();
  const bool flushed = producer.Flush(120000);
  log("load done: " + std::to_string(produced) + " events (+" + std::to_string(bad) + " invalid); waiting for the rest");

  // Quiescence: every execution completed and published, nothing left in the
  // outbox or the step queue.
  int64_t outbox = -1, steps = -1;
  const auto settle_deadline = Clock::now() + std::chrono::seconds(o.settle_timeout_s);
  auto next_db = Clock::now();
  while (!g_interrupted && Clock::now() < settle_deadline) {
    completions.Poll(100ms);
    inputs.Poll(20ms);
    if (pool.ReplaceCrashed()) log("a worker exited on its own");
    if (Clock::now() < next_db) continue;
    next_db = Clock::now() + 500ms;
    try {
      outbox = Count(db.admin_url(), "SELECT count(*) FROM outbox");
      steps = Count(db.admin_url(), "SELECT count(*) FROM execution_steps");
    } catch (const std::exception&) {
      continue;
    }
    if (static_cast<int64_t>(completions.distinct_executions()) >= produced && outbox == 0 && steps == 0) break;
  }
  const auto quiet = Clock::now();
  // Late duplicates and dead letters: a little longer, then read what there is.
  completions.Poll(2s);
  testing::TestConsumer dead(broker.bootstrap(), "hub.deadletter");
  dead.PollUntil([&](const auto& ms) { return ms.size() >= bad_ids.size(); }, 30s);
  dead.PollUntil([](const auto&) { return false; }, 1s);

  Report report;
  const std::string admin = db.admin_url();
  report.Info("seed", std::to_string(o.seed));
  report.Info("events produced (valid + invalid)", std::to_string(produced) + " + " + std::to_string(bad));
  report.Check("events acknowledged by the broker", std::to_string(produced + bad),
               std::to_string(producer.delivered()) + (producer.failed() ? " (" + producer.first_error() + ")" : ""),
               flushed && producer.delivered() == produced + bad);
  // An event the broker lost is not the workers' to find.
  int64_t on_topic = 0;
  for (int64_t i = 0; i < produced; ++i) on_topic += inputs.ids().count("ev-" + std::to_string(i)) > 0;
  report.Equal("trigger events read back from the input topic", produced, on_topic);
  // Executions: one per trigger event, none lost, none doubled.
  pqxx::connection c(admin);
  pqxx::nontransaction q(c);
  const auto ex = q.exec1(
      "SELECT count(*), count(DISTINCT trigger_event_id), count(*) FILTER (WHERE status = 'COMPLETED'), "
      "coalesce(min(split_part(trigger_event_id, '-', 2)::bigint), -1), "
      "coalesce(max(split_part(trigger_event_id, '-', 2)::bigint), -1) FROM workflow_executions "
      "WHERE trigger_event_id LIKE 'ev-%'");
  report.Equal("executions", produced, ex[0].as<int64_t>());
  report.Equal("distinct trigger events of the executions", produced, ex[1].as<int64_t>());
  report.Check("trigger events of the executions are ev-0 .. ev-N-1", "0 .. " + std::to_string(produced - 1),
               ex[3].as<std::string>() + " .. " + ex[4].as<std::string>(),
               ex[3].as<int64_t>() == 0 && ex[4].as<int64_t>() == produced - 1);
  report.Equal("executions COMPLETED", produced, ex[2].as<int64_t>());
  std::map<std::string, int64_t> by_kind;
  for (const auto& row : q.exec("SELECT workflow_id, count(*) FROM workflow_executions WHERE status = 'COMPLETED' "
                                "GROUP BY workflow_id"))
    by_kind[KindName(kind_of[row[0].as<std::string>()])] += row[1].as<int64_t>();
  std::string kinds;
  for (const auto& [k, n] : by_kind) kinds += (kinds.empty() ? "" : ", ") + k + " " + std::to_string(n);
  report.Info("COMPLETED executions by workflow kind", kinds);
  report.Equal("executions of other trigger ids", 0,
               Count(admin, "SELECT count(*) FROM workflow_executions WHERE trigger_event_id NOT LIKE 'ev-%'"));
  report.Equal("processed_events rows", produced, Count(admin, "SELECT count(*) FROM processed_events"));
  report.Equal("sum of automation_workflows.execution_count", produced,
               Count(admin, "SELECT coalesce(sum(execution_count), 0) FROM automation_workflows"));
  report.Equal("notifications (one per execution)", produced, Count(admin, "SELECT count(*) FROM notifications"));
  // Per key, triggers were applied in the order they were produced.
  report.Equal("per-key order of applied triggers: inversions", 0,
               Count(admin,
                     "SELECT count(*) FROM (SELECT split_part(trigger_event_id, '-', 2)::bigint AS i, "
                     "lag(split_part(trigger_event_id, '-', 2)::bigint) OVER (PARTITION BY workflow_id "
                     "ORDER BY started_at, split_part(trigger_event_id, '-', 2)::bigint) AS previous "
                     "FROM workflow_executions WHERE trigger_event_id LIKE 'ev-%') AS x WHERE previous > i"));
  // Completion events.
  report.Equal("completion events: distinct execution ids", produced,
               static_cast<int64_t>(completions.distinct_executions()));
  report.Equal("completion events: distinct trigger event ids", produced,
               static_cast<int64_t>(completions.distinct_triggers()));
  report.Equal("completion events: distinct event ids", produced,
               static_cast<int64_t>(completions.distinct_event_ids()));
  const auto st = completions.by_status().find("COMPLETED");
  report.Equal("completion events saying COMPLETED", produced,
               st == completions.by_status().end() ? 0 : st->second);
  report.Equal("completion events that do not parse", 0, completions.unreadable());
  report.Info("completion messages (re-publications have the same id)", completions.messages());
  // Not a check: a completion whose delivery failed (a broker down longer
  // than the message timeout) is published by the relay after newer ones of
  // its key, and so are those of a worker that lost its group session.
  report.Info("W1 completions first published after a newer one of their key",
              std::to_string(completions.order_violations()) +
                  (completions.order_violations() ? " (e.g. " + completions.first_violation() + ")" : ""));
  // Calls: every committed http_request node was called, and with its key.
  std::unordered_set<std::string> committed_keys;
  for (const auto& row : q.exec("SELECT id, workflow_id FROM workflow_executions WHERE status = 'COMPLETED'")) {
    const std::string node = CallingNode(kind_of[row[1].as<std::string>()]);
    if (!node.empty()) committed_keys.insert(row[0].as<std::string>() + ":" + node);
  }
  const auto by_key = calls.by_key();
  int64_t never_called = 0, unknown = 0, repeated = 0, keys_repeated = 0;
  for (const auto& k : committed_keys)
    if (!by_key.count(k)) ++never_called;
  for (const auto& [k, n] : by_key) {
    if (!committed_keys.count(k)) ++unknown;
    if (n > 1) repeated += n - 1, ++keys_repeated;
  }
  report.Info("http_request nodes committed", static_cast<int64_t>(committed_keys.size()));
  report.Equal("committed http_request nodes the stub never saw", 0, never_called);
  report.Equal("stub calls whose key is no committed node", 0, unknown);
  report.Info("stub calls", calls.total());
  report.Info("calls repeated with the same Idempotency-Key (keys)",
              std::to_string(repeated) + " (" + std::to_string(keys_repeated) + ")");
  // Nothing left behind.
  report.Equal("outbox rows left", 0, Count(admin, "SELECT count(*) FROM outbox"));
  report.Equal("outbox rows quarantined", 0, Count(admin, "SELECT count(*) FROM outbox_quarantine"));
  report.Equal("execution_steps rows left", 0, Count(admin, "SELECT count(*) FROM execution_steps"));
  // Dead letters: exactly the invalid events.
  std::set<std::string> dead_ids;  // of events other than ev-<i>
  int64_t dead_valid = 0;
  for (const auto& m : dead.messages()) {
    const std::string id = IdOf(m.value);
    if (id.rfind("ev-", 0) == 0) ++dead_valid;
    else dead_ids.insert(id);
  }
  report.Equal("dead letters of valid events", 0, dead_valid);
  // A dead letter is sent at least once: a worker killed after sending it but
  // before storing the offset sends it again.
  report.Check("invalid events dead-lettered (distinct)", std::to_string(bad_ids.size()),
               std::to_string(dead_ids.size()), dead_ids == bad_ids);
  report.Info("dead-letter messages (a repeat has the same event)", static_cast<int64_t>(dead.messages().size()));
  // The workers.
  int healthy = 0, ready = 0;
  for (int i = 0; i < pool.size(); ++i) healthy += pool.HttpStatus(i, "/healthz") == 200;
  report.Equal("workers answering /healthz 200", pool.size(), healthy);
  // Readiness asks the cluster for metadata (1.5 s timeout): after a broker
  // fault the embedded broker can leave a request unanswered until the
  // client's 60 s socket timeout, and a worker says 503 meanwhile.
  const auto ready_from = Clock::now();
  const bool all_ready = pool.WaitReady(90s);
  for (int i = 0; i < pool.size(); ++i) ready += pool.HttpStatus(i, "/readyz") == 200;
  report.Check("workers answering /readyz 200 (within 90 s)", std::to_string(pool.size()),
               std::to_string(ready) + " after " + Seconds(Clock::now() - ready_from), all_ready);
  report.Equal("workers that exited on their own", 0, pool.crashes());
  // What was done to them.
  report.Check("kill -9 (each followed by a new worker)", ">= " + std::to_string(o.kills), std::to_string(done.kills),
               done.kills >= o.kills);
  std::string pushed;
  for (const auto& [api, n] : done.errors_pushed) pushed += (pushed.empty() ? "" : ", ") + api + " " + std::to_string(n);
  report.Check("request errors pushed (Produce, Fetch, OffsetCommit, JoinGroup)", "each kind", pushed,
               done.errors_pushed.size() == 4);
  report.Check("broker down then up", ">= 1", std::to_string(done.broker_downs), done.broker_downs >= 1);
  report.Check("added round-trip time", ">= 1", std::to_string(done.rtts), done.rtts >= 1);
  report.Check("PostgreSQL restarts (fast shutdown)", ">= 1", std::to_string(done.pg_restarts), done.pg_restarts >= 1);
  report.Check("SIGSTOP while holding step leases, taken over, SIGCONT", ">= " + std::to_string(shape.rounds),
               std::to_string(done.stops_taken_over) + (done.stop_detail.empty() ? "" : " (" + done.stop_detail + ")"),
               done.stops_taken_over >= shape.rounds);
  report.Info("load time / until quiet", Seconds(load_end - load_start) + " / " + Seconds(quiet - load_start));
  report.Info("whole run", Seconds(Clock::now() - t0));

  std::cout << "\n" << report.Table() << std::flush;
  if (!report.ok()) {
    for (int i = 0; i < pool.size(); ++i)
      std::cout << "\n--- worker " << i << " warnings and errors (first 30):\n" << pool.Problems(i, 30);
    for (const auto& l : pool.crash_logs()) std::cout << "\n--- " << l;
  }
  const auto codes = pool.StopAll(40s);
  for (size_t i = 0; i < codes.size(); ++i)
    if (codes[i] != 0) std::cout << "hub_chaos: worker " << i << " exited with " << codes[i] << " on SIGTERM\n";
  std::cout << "hub_chaos: " << (report.ok() ? "every check passed" : std::to_string(report.failed()) + " checks FAILED")
            << " (seed " << o.seed << ")" << std::endl;
  return report.ok() ? 0 : 1;
}

}  // namespace
}  // namespace hub::chaos

int main(int argc, char** argv) {
  const auto options = hub::chaos::Parse(argc, argv);
  // The migrations and the embedded broker log through the worker's logger:
  // only their problems belong in the run's output.
  hub::common::ConfigureLogging(hub::common::LogLevel::kWarn, true);
  // Ctrl-C / SIGTERM end the load early; the checks still run and the
  // cluster is stopped and removed.
  signal(SIGINT, [](int) { hub::chaos::g_interrupted = true; });
  signal(SIGTERM, [](int) { hub::chaos::g_interrupted = true; });
  try {
    return hub::chaos::Run(options);
  } catch (const std::exception& e) {
    std::cerr << "hub_chaos: " << e.what() << std::endl;
    return 2;
  }
}
