// A newcomer's first hour, through the real binary: the README's "send your
// own event" and "write your own workflow" commands, read from README.md (so
// the two cannot drift) and run against PostgreSQL, the embedded broker and
// `hubworker run`; `watch`; and the start-up errors a first setup meets.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "tests/support/pipeline_fixture.hpp"

namespace hub {
namespace {

using namespace std::chrono_literals;
using testing::ChildProcess;
using testing::ProcessOptions;
using testing::RunToCompletion;

// The commands of the README's fenced block whose info string is
// "sh readme-test:<name>", one per line.  `build/bin/hubworker` becomes the
// binary under test; `source .local/run/env` (the running demo's settings)
// is left out: the test passes the same settings itself.
std::vector<std::string> ReadmeCommands(const std::string& name) {
  std::ifstream f(std::string(HUB_SOURCE_DIR) + "/README.md");
  std::string line;
  bool in = false;
  std::vector<std::string> out;
  while (std::getline(f, line)) {
    if (!in && line == "```sh readme-test:" + name) {
      in = true;
    } else if (in && line == "```") {
      break;
    } else if (in) {
      if (line.empty() || line[0] == '#' || line.rfind("source .local/run/env", 0) == 0) continue;
      line = std::regex_replace(line, std::regex("^build/bin/hubworker "), std::string(HUB_BINARY) + " ");
      out.push_back(line);
    }
  }
  return out;
}

class Newcomer : public testing::PipelineFixture {
 protected:
  void SetUp() override {
    PipelineFixture::SetUp();
    worker::SeedOrganization(db_->owner_url(), worker::SeedOptions{});  // org_demo, as `hubworker demo` seeds it
  }

  testing::RunResult Shell(const std::string& command) {
    ProcessOptions o;
    o.program = "bash";
    o.args = {"-c", "cd '" + std::string(HUB_SOURCE_DIR) + "' && " + command};
    o.env = {{"HUB_DATABASE_URL", db_->owner_url()}, {"HUB_KAFKA_BROKERS", broker_->bootstrap()},
             {"HUB_LOG_FORMAT", "text"}};
    return RunToCompletion(o, 60s);
  }
};

TEST_F(Newcomer, TheReadmesSendYourOwnEventStepsPrintTheOutcome) {
  const auto commands = ReadmeCommands("send-event");
  ASSERT_EQ(commands.size(), 1u) << "README.md: the block ```sh readme-test:send-event";
  auto worker = StartWorker();
  const auto r = Shell(commands[0]);
  ASSERT_EQ(r.exit_code, 0) << commands[0] << "\n" << r.out << r.err << worker->StderrText();
  EXPECT_NE(r.out.find("published hub.workflow.triggered event"), std::string::npos) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex("wf_org_demo_0 +COMPLETED"))) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex("\n  greet +transform +COMPLETED"))) << r.out;
  EXPECT_NE(r.out.find(R"("greeting":"hello Ada")"), std::string::npos) << r.out;
  // The worker logged the execution once, with the event's trace id.
  const std::string trace = r.out.substr(r.out.find("trace ") + 6, 32);
  EXPECT_TRUE(testing::WaitFor(
      [&] {
        const std::string log = worker->StderrText();
        const auto at = log.find(R"("msg":"execution finished")");
        return at != std::string::npos && log.find(trace, at) != std::string::npos;
      },
      10s))
      << trace << "\n" << worker->StderrText();
  StopWorker(*worker);
}

TEST_F(Newcomer, TheReadmesWriteYourOwnWorkflowStepsApplyAndRunIt) {
  const auto commands = ReadmeCommands("own-workflow");
  ASSERT_EQ(commands.size(), 2u) << "README.md: the block ```sh readme-test:own-workflow";
  auto worker = StartWorker();
  const auto applied = Shell(commands[0]);
  ASSERT_EQ(applied.exit_code, 0) << commands[0] << "\n" << applied.out << applied.err;
  EXPECT_NE(applied.out.find("created workflow 'wf_order_check'"), std::string::npos) << applied.out;
  const auto ran = Shell(commands[1]);
  ASSERT_EQ(ran.exit_code, 0) << commands[1] << "\n" << ran.out << ran.err << worker->StderrText();
  EXPECT_TRUE(std::regex_search(ran.out, std::regex("wf_order_check +COMPLETED"))) << ran.out;
  EXPECT_TRUE(std::regex_search(ran.out, std::regex("\n  review +transform +COMPLETED"))) << ran.out;
  EXPECT_TRUE(std::regex_search(ran.out, std::regex("\n  approve +transform +SKIPPED"))) << ran.out;
  EXPECT_NE(ran.out.find("review order A-1 by hand"), std::string::npos) << ran.out;
  // Applied again, it is an update; listed, it is there.
  EXPECT_NE(Shell(commands[0]).out.find("updated workflow 'wf_order_check'"), std::string::npos);
  const auto listed = Shell(std::string(HUB_BINARY) + " workflow list");
  EXPECT_TRUE(std::regex_search(listed.out, std::regex("wf_order_check +Order check +yes +5 +1"))) << listed.out;
  StopWorker(*worker);
}

TEST_F(Newcomer, AnInvalidWorkflowIsRefusedNamingTheNode) {
  const auto r = Shell(std::string(HUB_BINARY) + " workflow apply examples/broken.json");
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("examples/broken.json: workflow 'wf_broken' is not valid"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("'send'"), std::string::npos) << r.err;
  EXPECT_EQ(Count("SELECT count(*) FROM automation_workflows WHERE id = 'wf_broken'"), 0);
}

TEST_F(Newcomer, WatchPrintsEachExecutionAsItFinishes) {
  auto worker = StartWorker();
  ChildProcess watch(HUB_BINARY, {"watch", "--last", "0"}, {{"HUB_DATABASE_URL", db_->url()}});
  ASSERT_NE(watch.ReadLine(20s).find("as they finish"), std::string::npos) << watch.StderrText();
  const auto failed = Shell(std::string(HUB_BINARY) +
                            " trigger --workflow wf_org_demo_1 --input '{\"name\":\"Bo\"}' --wait");
  ASSERT_EQ(failed.exit_code, 0) << failed.out << failed.err;
  ASSERT_TRUE(testing::WaitFor(
      [&] { return std::regex_search(watch.StdoutText(), std::regex("wf_org_demo_1 +COMPLETED +[0-9]+ ms +3 nodes")); },
      20s))
      << watch.StdoutText() << watch.StderrText();
  watch.Signal(SIGINT);
  EXPECT_EQ(watch.WaitExit(10s), 0);
  StopWorker(*worker);
}

TEST_F(Newcomer, TriggeringAWorkflowThatIsNotThereSaysSoBeforePublishing) {
  const auto r = Shell(std::string(HUB_BINARY) + " trigger --workflow wf_nope --wait");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no workflow 'wf_nope' in organisation 'org_demo' (see hubworker workflow list"),
            std::string::npos)
      << r.err;
}

// The throwaway cluster trusts local connections; this rule, first so that it
// wins, makes `role` connect with its password.
void RequirePassword(const std::string& admin_url, const std::string& role) {
  pqxx::connection c(admin_url);
  pqxx::nontransaction q(c);
  const std::string file = q.exec("SHOW hba_file")[0][0].as<std::string>();
  const std::string rule = "host all " + role + " 127.0.0.1/32 scram-sha-256";
  const std::string now = q.exec("SELECT pg_read_file(" + q.quote(file) + ")")[0][0].as<std::string>();
  if (now.find(rule) != std::string::npos) return;
  std::vector<std::string> lines = {rule};
  std::istringstream in(now);
  for (std::string l; std::getline(in, l);) {
    if (l.find_first_of("\t\\") != std::string::npos) std::replace(l.begin(), l.end(), '\t', ' ');
    lines.push_back(l);
  }
  std::string arr = "ARRAY[";
  for (size_t i = 0; i < lines.size(); ++i) arr += (i ? "," : "") + q.quote(lines[i]);
  q.exec("COPY (SELECT unnest(" + arr + "]::text[])) TO " + q.quote(file));
  q.exec("SELECT pg_reload_conf()");
}

TEST(StartupErrors, AWrongPasswordFailsAtOnceNamingTheSetting) {
  testing::PgDatabase db;
  {
    pqxx::connection c(db.admin_url());
    pqxx::nontransaction q(c);
    q.exec("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'hub_pw_test') THEN "
           "CREATE ROLE hub_pw_test LOGIN PASSWORD 'right' NOSUPERUSER NOBYPASSRLS; END IF; END $$");
  }
  RequirePassword(db.admin_url(), "hub_pw_test");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(db.url(), m, std::regex("@([^/]+)/(.+)$"))) << db.url();
  const std::string url = "postgresql://hub_pw_test:wrong@" + m[1].str() + "/" + m[2].str();
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        try {
          pqxx::connection c(url);
          return false;
        } catch (const pqxx::broken_connection&) {
          return true;  // the reloaded rule applies
        }
      },
      10s));
  ChildProcess worker(HUB_BINARY, {"run"}, {{"HUB_DATABASE_URL", url}, {"HUB_HTTP_ADDR", "127.0.0.1:0"}});
  const auto rc = worker.WaitExit(10s);
  ASSERT_TRUE(rc.has_value()) << "still running (retrying?)\n" << worker.StderrText();
  EXPECT_EQ(*rc, 2);
  EXPECT_NE(worker.StderrText().find("HUB_DATABASE_URL: the server refused the user or password (hub_pw_test)"),
            std::string::npos)
      << worker.StderrText();
  EXPECT_EQ(worker.StderrText().find("not reachable yet"), std::string::npos) << worker.StderrText();
  EXPECT_EQ(worker.StderrText().find("wrong"), std::string::npos) << "the password was logged";
}

TEST(StartupErrors, AMissingDatabaseFailsAtOnceWithTheFix) {
  testing::PgDatabase db;
  const std::string url = std::regex_replace(db.url(), std::regex("/[^/]+$"), "/no_such_database");
  ChildProcess worker(HUB_BINARY, {"run"}, {{"HUB_DATABASE_URL", url}, {"HUB_HTTP_ADDR", "127.0.0.1:0"}});
  const auto rc = worker.WaitExit(10s);
  ASSERT_TRUE(rc.has_value()) << worker.StderrText();
  EXPECT_EQ(*rc, 2);
  EXPECT_NE(worker.StderrText().find("the database 'no_such_database' does not exist; create it"), std::string::npos)
      << worker.StderrText();
}

TEST(StartupErrors, ARoleWithoutTheWorkersGrantsFailsAtOnceWithTheFix) {
  // Migrating as a superuser is fine (the worker never needs to own the
  // tables); running as a role that is not hub_worker nor a member of it fails.
  testing::PgDatabase db(/*migrate=*/false);
  const auto migrated = RunToCompletion({HUB_BINARY, {"migrate"}, {{"HUB_DATABASE_URL", db.admin_url()},
                                                                    {"HUB_LOG_FORMAT", "text"}}},
                                        60s);
  ASSERT_EQ(migrated.exit_code, 0) << migrated.err;
  {
    pqxx::connection c(db.admin_url());
    pqxx::nontransaction q(c);
    q.exec("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'hub_stranger_test') THEN "
           "CREATE ROLE hub_stranger_test LOGIN NOSUPERUSER NOBYPASSRLS; END IF; END $$");
  }
  const std::string url = std::regex_replace(db.url(), std::regex("//hub_worker:hub_worker@"), "//hub_stranger_test@");
  ASSERT_NE(url, db.url());
  ChildProcess worker(HUB_BINARY, {"run"}, {{"HUB_DATABASE_URL", url}, {"HUB_HTTP_ADDR", "127.0.0.1:0"}});
  const auto rc = worker.WaitExit(10s);
  ASSERT_TRUE(rc.has_value()) << worker.StderrText();
  EXPECT_EQ(*rc, 2);
  EXPECT_NE(worker.StderrText().find("the role hub_stranger_test has no access to the worker's tables"),
            std::string::npos)
      << worker.StderrText();
  EXPECT_NE(worker.StderrText().find("GRANT hub_worker TO hub_stranger_test"), std::string::npos)
      << worker.StderrText();
}

TEST(StartupErrors, RunningAsTheTablesOwnerWarns) {
  testing::PgDatabase db;
  ChildProcess worker(HUB_BINARY, {"run"}, {{"HUB_DATABASE_URL", db.owner_url()},
                                            {"HUB_HTTP_ADDR", "127.0.0.1:0"},
                                            {"HUB_LOG_FORMAT", "text"}});
  ASSERT_TRUE(testing::WaitFor(
      [&] { return worker.StderrText().find("the worker's database role owns the tables") != std::string::npos; },
      20s))
      << worker.StderrText();
  EXPECT_NE(worker.StderrText().find("hub_test_owner"), std::string::npos) << worker.StderrText();
}

TEST(StartupErrors, CtrlCWhileWaitingForTheDatabaseExitsWithinASecond) {
  // Port 1 on loopback: nothing listens; the worker waits and retries.
  ChildProcess worker(HUB_BINARY, {"run"},
                      {{"HUB_DATABASE_URL", "postgresql://hub@127.0.0.1:1/hub"}, {"HUB_HTTP_ADDR", "127.0.0.1:0"}});
  ASSERT_TRUE(testing::WaitFor(
      [&] { return worker.StderrText().find("database not reachable yet") != std::string::npos; }, 20s))
      << worker.StderrText();
  worker.Signal(SIGINT);
  const auto rc = worker.WaitExit(1s);
  ASSERT_TRUE(rc.has_value()) << "Ctrl-C ignored while waiting for the database\n" << worker.StderrText();
  EXPECT_EQ(*rc, 0) << worker.StderrText();
}

TEST(StartupErrors, TheDatabaseReadsUpWhileOnlyTheBrokerIsDown) {
  testing::PgDatabase db;
  ChildProcess worker(HUB_BINARY, {"run"},
                      {{"HUB_DATABASE_URL", db.url()}, {"HUB_KAFKA_BROKERS", "127.0.0.1:1"},
                       {"HUB_HTTP_ADDR", "127.0.0.1:0"}, {"HUB_LOG_FORMAT", "text"}});
  // The match is read from a copy that outlives it (a smatch points into the string it searched).
  std::string err;
  std::smatch m;
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        err = worker.StderrText();
        return std::regex_search(err, m, std::regex("http endpoint listening addr=([0-9.:]+)"));
      },
      20s))
      << worker.StderrText();
  const std::string addr = m[1].str();
  // The first answer already says the database is up: nothing waits for the broker first.
  std::string metrics;
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        metrics = RunToCompletion({"curl", {"-s", "http://" + addr + "/metrics"}}, 10s).out;
        return !metrics.empty();
      },
      20s, 100ms))
      << worker.StderrText();
  EXPECT_NE(metrics.find("\nhub_database_up 1"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("\nhub_broker_up 0"), std::string::npos) << metrics;
  worker.Signal(SIGTERM);
  worker.WaitExit(40s);
}

}  // namespace
}  // namespace hub
