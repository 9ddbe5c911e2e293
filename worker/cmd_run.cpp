// `hubworker run`: the composition root of the processing pipeline.  Builds
// every long-lived object (broker if embedded, Kafka clients, lanes, relay,
// HTTP endpoint) and wires them; nothing else constructs them.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <thread>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/log.hpp"
#include "common/metrics.hpp"
#include "consumers/consume_loop.hpp"
#include "consumers/schema_registry.hpp"
#include "consumers/workflows/step_runner.hpp"
#include "producers/dead_letter_sink.hpp"
#include "kafka/producer.hpp"
#include "outbox/publisher.hpp"
#include "outbox/relay.hpp"
#include "store/connection.hpp"
#include "worker/catalogue.hpp"
#include "worker/commands.hpp"
#include "worker/embedded_broker.hpp"
#include "worker/health_probe.hpp"
#include "worker/http_server.hpp"
#include "worker/metrics_exporter.hpp"
#include "worker/signals.hpp"

namespace hub::worker {
namespace {

// The worker needs only row access (migration 0026 grants it to hub_worker).
// A role that owns the tables could also change or drop them, and row-level
// security binds it only because the tables FORCE it: run, but say so.
void WarnWhenRoleOwnsTables(pqxx::nontransaction& q) {
  const auto r = q.exec(
      "SELECT count(*), current_user FROM pg_tables WHERE schemaname = current_schema() AND tableowner = current_user");
  if (r.empty() || r[0][0].as<long>() == 0) return;
  common::LogWarn("the worker's database role owns the tables; run it as hub_worker (or a member of it), which may "
                  "only read and write rows, and keep the owner for `hubworker migrate`",
                  {{"role", r[0][1].as<std::string>()}, {"tables_owned", r[0][0].as<long>()}});
}

// Start-up check: the database is reachable and its role cannot bypass RLS.
// Retries for a while so that pods starting together with the database wait;
// a stop signal ends the wait (returns false).  What waiting cannot fix (a
// refused password, a missing database, tables of another owner) fails at
// once with what to do.
bool CheckDatabase(const std::string& url) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (int attempt = 1;; ++attempt) {
    try {
      pqxx::connection conn(url);
      store::RequireRowSecurity(conn);
      pqxx::nontransaction q(conn);
      try {
        q.exec("SELECT 1 FROM schema_migrations LIMIT 1");
      } catch (const pqxx::insufficient_privilege&) {
        const std::string me = q.exec1("SELECT current_user")[0].as<std::string>();
        throw common::ConfigError("the role " + me +
                                  " has no access to the worker's tables (permission denied for table "
                                  "schema_migrations): connect as hub_worker, or make this role a member of it "
                                  "(GRANT hub_worker TO " + me + "); `hubworker migrate` grants hub_worker what the "
                                  "worker needs (README, \"Run against your own Kafka and PostgreSQL\")");
      }
      WarnWhenRoleOwnsTables(q);
      return true;
    } catch (const pqxx::broken_connection& e) {
      if (const std::string fix = store::ConnectFailureFix(e.what()); !fix.empty()) throw common::ConfigError(fix);
      if (std::chrono::steady_clock::now() > deadline)
        throw std::runtime_error(std::string("database unreachable: ") + e.what());
      common::LogWarn("database not reachable yet; retrying", {{"attempt", attempt}, {"error", e.what()}});
      if (WaitForStopSignal(std::chrono::milliseconds(std::min(2000, 200 * attempt))) != 0) {
        common::LogInfo("stop signal received while waiting for the database; exiting");
        return false;
      }
    } catch (const pqxx::undefined_table&) {
      throw std::runtime_error("the database has no schema yet: run `hubworker migrate` first");
    }
  }
}

// This process's name on the leases it takes: host, pid and a random part
// (a restarted pod may reuse its pid).
std::string LeaseOwnerName() {
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  std::random_device rd;
  return std::string(host) + ":" + std::to_string(getpid()) + ":" + std::to_string(rd());
}

}  // namespace

int RunCommand(const Settings& s, const std::vector<std::string>& args) {
  if (!args.empty()) throw common::ConfigError("run: unexpected argument '" + args[0] + "'");
  RequireSetting(s.database_url, "HUB_DATABASE_URL", "run");
  BlockStopSignals();  // before any thread exists, so only the watcher sees them

  common::LogInfo("hubworker starting", {{"database", common::RedactUrl(s.database_url)},
                                         {"group", s.kafka_group}, {"lanes", s.worker_threads}});
  if (!CheckDatabase(s.database_url)) return 0;

  std::unique_ptr<EmbeddedBroker> broker;
  std::string brokers = s.kafka_brokers;
  if (brokers.empty()) {
    broker = std::make_unique<EmbeddedBroker>(EmbeddedBroker::kDefaultBrokers, s.kafka_partitions, s.topic_prefix);
    brokers = broker->bootstrap();
    common::LogInfo("embedded Kafka-protocol broker started (HUB_KAFKA_BROKERS was empty)",
                    {{"bootstrap", brokers}, {"partitions", s.kafka_partitions}});
  }

  common::Metrics metrics;
  metrics.db_ok = true;  // CheckDatabase has just connected; the probe keeps it current from here
  const common::SystemClock clock;  // the one clock every part below reads
  const consumers::EventCatalogue& catalogue = Catalogue();
  for (const auto& f : catalogue.families()) metrics.event_types.push_back(f.type);
  MetricsExporter exporter(metrics);
  auto [http_host, http_port] = ParseHostPort("HUB_HTTP_ADDR", s.http_addr);
  HttpServer http(
      http_host, http_port, [&] { return exporter.MetricsText(); },
      [&] { return metrics.db_ok.load() && metrics.broker_ok.load(); });
  common::LogInfo("http endpoint listening", {{"addr", http_host + ":" + std::to_string(http.port())}});

  // Before anything that waits for the broker: hub_database_up and
  // hub_broker_up each say what the probe sees of its own server.
  HealthProbe probe(s.database_url, brokers, s.kafka_config, metrics);

  consumers::SchemaRegistry schemas(consumers::SchemaRegistry::DefaultDir());

  kafka::ProducerOptions po;
  po.brokers = brokers;
  po.extra = s.kafka_config;
  kafka::KafkaProducer producer(po);
  // Fetch the output topics' metadata now rather than on the first event.
  std::vector<std::string> outputs;  // of the families consumed, and the dead letters
  std::string inputs;
  for (const auto& f : catalogue.families()) {
    if (!f.make_handler) continue;
    inputs += (inputs.empty() ? "" : ",") + s.topic_prefix + f.type;
    for (const auto& e : f.emits) outputs.push_back(s.topic_prefix + e);
  }
  outputs.push_back(s.topic_prefix + "deadletter");
  producer.WarmUp(outputs, std::chrono::seconds(5));
  producers::KafkaDeadLetterSink dead_letters(producer, s.topic_prefix + "deadletter", metrics);

  outbox::RelayOptions ro;
  ro.database_url = s.database_url;
  ro.batch = s.relay_batch;
  ro.poll_ms = s.relay_poll_ms;
  ro.grace_ms = s.relay_grace_ms;
  ro.clock = &clock;
  outbox::OutboxRelay relay(ro, producer, metrics);
  relay.Start();
  // Committed outbox rows are published from memory; the relay only takes
  // what is older than its grace period.
  outbox::PublisherOptions pub_o;
  pub_o.database_url = s.database_url;
  outbox::OutboxPublisher publisher(pub_o, producer, metrics);
  publisher.Start();

  consumers::ConsumeOptions co;
  co.brokers = brokers;
  co.kafka_config = s.kafka_config;
  co.group = s.kafka_group;
  co.topic_prefix = s.topic_prefix;
  co.database_url = s.database_url;
  co.lanes = s.worker_threads;
  co.batch_max = s.batch_max;
  co.batch_linger_us = s.batch_linger_us;
  co.max_inflight = s.max_inflight;
  co.fetch_wait_ms = s.fetch_wait_ms;
  co.session_timeout_ms = s.session_timeout_ms;
  co.lag_interval_ms = s.lag_interval_ms;
  co.retry_max_attempts = s.retry_max_attempts;
  co.retry_base_ms = s.retry_base_ms;
  co.catalogue = &catalogue;
  co.deps.limits.max_value_bytes = static_cast<size_t>(s.max_rendered_value_bytes);
  co.deps.limits.max_execution_bytes = static_cast<size_t>(s.max_execution_bytes);
  co.deps.limits.max_output_bytes = static_cast<size_t>(s.max_output_bytes);
  co.deps.limits.max_nodes = s.max_nodes_executed;
  co.deps.max_event_bytes = static_cast<size_t>(ProducerMessageMaxBytes(s)) - 1024;  // room for key and headers
  if (!s.secret_key.empty())
    co.deps.secrets = std::make_shared<const common::SecretKeyring>(
        common::SecretKeyring::FromBase64(s.secret_key, s.secret_keys_old));
  else
    common::LogWarn("HUB_SECRET_KEY is not set: integration.webhook events cannot be verified and are dead-lettered "
                    "(class signature) until it is set",
                    {});
  co.clock = &clock;
  co.on_outbox_committed = [&publisher](outbox::CommittedOutbox&& rows) {
    if (!rows.log_lines.empty()) common::WriteLog(rows.log_lines);  // one line per finished execution
    publisher.Submit(std::move(rows));
  };
  // Bounded: with the broker unreachable the rebalance goes on after 5 s (the
  // rows stay for the relay; per-key order may then break, README).
  co.on_revoke = [&publisher] { publisher.WaitPublished(std::chrono::steady_clock::now() + std::chrono::seconds(5)); };
  consumers::ConsumeLoop loop(co, schemas, dead_letters, metrics);

  // Resumes executions parked at durable steps (delays), on any pod.
  workflows::StepRunnerOptions so;
  so.database_url = s.database_url;
  so.topic_prefix = s.topic_prefix;
  so.clock = &clock;
  so.limits = co.deps.limits;
  so.max_event_bytes = co.deps.max_event_bytes;
  so.owner = LeaseOwnerName();
  so.on_committed = co.on_outbox_committed;
  clients::HttpClientOptions ho;
  ho.allowlist = s.http_allowlist;
  ho.ca_file = s.http_ca_file;
  ho.max_response_bytes = static_cast<size_t>(s.http_max_response_bytes);
  const clients::HttpClient http_client(ho);
  so.http = &http_client;
  clients::ModelClientOptions mo;
  mo.openai = {s.llm_base_url, s.llm_api_key};
  mo.anthropic = {s.anthropic_base_url, s.anthropic_api_key};
  mo.ca_file = s.http_ca_file;
  mo.max_response_bytes = static_cast<size_t>(s.http_max_response_bytes);
  const clients::ModelClient model_client(mo);
  so.models = &model_client;
  common::LogInfo("ai_agent model endpoints",
                  {{"openai", s.llm_base_url.empty() ? "local provider (HUB_LLM_BASE_URL unset)" : common::RedactUrl(s.llm_base_url)},
                   {"anthropic", s.anthropic_base_url.empty() ? "local provider (HUB_ANTHROPIC_BASE_URL unset)"
                                                              : common::RedactUrl(s.anthropic_base_url)}});
  so.concurrency = s.step_concurrency;
  so.lease_ms = s.step_lease_ms;
  workflows::WorkflowStepRunner steps(so, metrics);
  steps.Start();

  const auto timeout = std::chrono::seconds(s.shutdown_timeout_s);
  std::chrono::steady_clock::time_point stop_deadline{};
  StopSignalWatcher watcher([&](int sig) {
    common::LogInfo("stop signal received; draining", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"},
                                                      {"timeout_s", s.shutdown_timeout_s}});
    stop_deadline = std::chrono::steady_clock::now() + timeout;
    // The consumer gets most of the budget; the relay flush gets the rest.
    loop.RequestStop(std::chrono::duration_cast<std::chrono::milliseconds>(timeout * 3 / 4));
    // The last steps (Kafka commit, leaving the group) block while the broker
    // is unreachable.  The promise is to exit within the timeout: whatever is
    // not finished by then is safe — its offsets are not stored, so it is
    // delivered again and deduplicated.
    std::thread([deadline = stop_deadline] {
      std::this_thread::sleep_until(deadline);
      common::LogWarn("shutdown timeout reached before the clean stop finished; exiting now (unfinished "
                      "events were not committed and will be redelivered)");
      std::_Exit(0);
    }).detach();
  });
  common::LogInfo("hubworker running", {{"topics", inputs}});

  const bool clean = loop.Run();
  steps.Stop();
  const auto relay_deadline =
      stop_deadline == std::chrono::steady_clock::time_point{} ? std::chrono::steady_clock::now() + timeout
                                                               : stop_deadline;
  publisher.Stop(relay_deadline - std::chrono::milliseconds(1500));
  relay.Stop(relay_deadline - std::chrono::milliseconds(500));
  probe.Stop();
  http.Stop();
  common::LogInfo("hubworker stopped", {{"clean", clean ? "true" : "false"},
                                        {"processed", metrics.events_processed[0].load()},
                                        {"outbox_published", metrics.outbox_published.load()}});
  return 0;
}

}  // namespace hub::worker
