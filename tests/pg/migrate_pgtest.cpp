// `hubworker migrate` and store::ApplyMigrations against a real PostgreSQL.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "store/migrator.hpp"
#include "tests/support/pg_fixture.hpp"

extern char** environ;

namespace hub {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------------------
// A `hubworker` child process whose stdout and stderr go to one pipe.

struct Child {
  pid_t pid = -1;
  int fd = -1;  // read end of the output pipe
  std::string output;
  std::optional<int> exit_code;
};

// Starts HUB_BINARY with `args`; `env` overrides (a nullopt value removes the
// variable from the inherited environment).
Child Spawn(const std::vector<std::string>& args,
            const std::map<std::string, std::optional<std::string>>& env) {
  std::vector<std::string> envs;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    if (env.count(kv.substr(0, kv.find('=')))) continue;
    envs.push_back(kv);
  }
  for (const auto& [k, v] : env)
    if (v) envs.push_back(k + "=" + *v);
  std::vector<std::string> argv_s{HUB_BINARY};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv, envp;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : envs) envp.push_back(e.data());
  envp.push_back(nullptr);

  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, p[1], 1);
  posix_spawn_file_actions_adddup2(&fa, p[1], 2);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  Child c;
  int rc = posix_spawn(&c.pid, argv[0], &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  close(p[1]);
  if (rc != 0) {
    close(p[0]);
    throw std::runtime_error(std::string("posix_spawn ") + HUB_BINARY + ": " + std::strerror(rc));
  }
  c.fd = p[0];
  return c;
}

// Reads every child's output until all pipes close, then reaps them.  Returns
// false (after killing the stragglers) if that takes longer than `deadline`.
bool WaitAll(std::vector<Child>& children, std::chrono::milliseconds deadline) {
  const auto end = Clock::now() + deadline;
  bool in_time = true;
  for (;;) {
    std::vector<pollfd> fds;
    std::vector<Child*> owners;
    for (auto& c : children)
      if (c.fd >= 0) {
        fds.push_back({c.fd, POLLIN, 0});
        owners.push_back(&c);
      }
    if (fds.empty()) break;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count();
    if (left <= 0) {
      in_time = false;
      break;
    }
    int n = poll(fds.data(), fds.size(), static_cast<int>(left));
    if (n < 0 && errno != EINTR) throw std::runtime_error("poll failed");
    for (size_t i = 0; n > 0 && i < fds.size(); ++i) {
      if (!fds[i].revents) continue;
      char buf[4096];
      ssize_t r = read(fds[i].fd, buf, sizeof buf);
      if (r > 0) {
        owners[i]->output.append(buf, static_cast<size_t>(r));
      } else if (r == 0 || errno != EINTR) {
        close(owners[i]->fd);
        owners[i]->fd = -1;
      }
    }
  }
  for (auto& c : children) {
    if (c.fd >= 0) {
      close(c.fd);
      c.fd = -1;
    }
    if (!in_time) kill(c.pid, SIGKILL);
    int status = 0;
    if (waitpid(c.pid, &status, 0) == c.pid && WIFEXITED(status)) c.exit_code = WEXITSTATUS(status);
  }
  return in_time;
}

Child RunMigrate(const std::vector<std::string>& args, const std::map<std::string, std::optional<std::string>>& env) {
  std::vector<Child> one{Spawn(args, env)};
  EXPECT_TRUE(WaitAll(one, std::chrono::seconds(60))) << "hubworker migrate did not finish in 60 s";
  return one[0];
}

// ---------------------------------------------------------------------------

std::vector<std::string> MigrationFiles(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".sql") names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

long Count(const std::string& url, const std::string& sql) {
  pqxx::connection c(url);
  pqxx::nontransaction q(c);
  return q.exec1(sql)[0].as<long>();
}

// A copy of the real migrations in a private temporary folder.
class TempMigrations {
 public:
  TempMigrations() {
    std::string tmpl = (fs::temp_directory_path() / "hub-migrations-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    for (const auto& name : MigrationFiles(store::DefaultMigrationsDir()))
      fs::copy_file(fs::path(store::DefaultMigrationsDir()) / name, fs::path(dir_) / name);
  }
  ~TempMigrations() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  void Write(const std::string& name, const std::string& sql) const {
    std::ofstream(fs::path(dir_) / name, std::ios::binary | std::ios::trunc) << sql;
  }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

TEST(Migrate, SecondRunIsANoOp) {
  testing::PgDatabase db(/*migrate=*/false);
  const auto files = MigrationFiles(store::DefaultMigrationsDir());
  ASSERT_FALSE(files.empty());

  store::MigrationReport first = store::ApplyMigrations(db.owner_url(), store::DefaultMigrationsDir());
  EXPECT_EQ(first.applied, static_cast<int>(files.size()));
  EXPECT_EQ(first.already, 0);

  store::MigrationReport second = store::ApplyMigrations(db.owner_url(), store::DefaultMigrationsDir());
  EXPECT_EQ(second.applied, 0);
  EXPECT_EQ(second.already, static_cast<int>(files.size()));
  EXPECT_EQ(Count(db.owner_url(), "SELECT count(*) FROM schema_migrations"), static_cast<long>(files.size()));
  EXPECT_EQ(Count(db.owner_url(), "SELECT count(*) FROM schema_migrations WHERE length(checksum) = 64"),
            static_cast<long>(files.size()));
}

TEST(Migrate, ThreeConcurrentProcessesApplyEachFileOnce) {
  testing::PgDatabase db(/*migrate=*/false);
  const auto files = MigrationFiles(store::DefaultMigrationsDir());

  std::vector<Child> children;
  for (int i = 0; i < 3; ++i)
    children.push_back(Spawn({"migrate"}, {{"HUB_DATABASE_URL", db.owner_url()},
                               {"HUB_LOG_FORMAT", std::string("json")},
                               {"HUB_LOG_LEVEL", std::string("info")}}));
  ASSERT_TRUE(WaitAll(children, std::chrono::seconds(60))) << "migrate processes did not finish in 60 s";

  // Every process succeeds; between them each file is applied exactly once.
  int applied_lines = 0, applied_total = 0;
  const std::regex done(R"re("msg":"migrations done","applied":"?(\d+)"?,"already_applied":"?(\d+)"?)re");
  for (const auto& c : children) {
    ASSERT_TRUE(c.exit_code.has_value()) << c.output;
    EXPECT_EQ(*c.exit_code, 0) << c.output;
    for (size_t pos = 0; (pos = c.output.find("\"applied migration\"", pos)) != std::string::npos; ++pos)
      ++applied_lines;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(c.output, m, done)) << c.output;
    const int applied = std::stoi(m[1]), already = std::stoi(m[2]);
    EXPECT_EQ(applied + already, static_cast<int>(files.size())) << c.output;
    applied_total += applied;
  }
  EXPECT_EQ(applied_total, static_cast<int>(files.size()));
  EXPECT_EQ(applied_lines, static_cast<int>(files.size()));
  EXPECT_EQ(Count(db.owner_url(), "SELECT count(*) FROM schema_migrations"), static_cast<long>(files.size()));
}

TEST(Migrate, FailingFileRollsBackAndItsNameIsInTheError) {
  testing::PgDatabase db(/*migrate=*/false);
  TempMigrations tmp;
  const size_t good = MigrationFiles(tmp.dir()).size();
  // Creates a table, then fails: the table must not survive.
  tmp.Write("9999_broken.sql",
            "CREATE TABLE rollback_probe (id int);\n"
            "INSERT INTO no_such_table VALUES (1);\n");

  try {
    store::ApplyMigrations(db.owner_url(), tmp.dir());
    FAIL() << "a failing migration did not throw";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("9999_broken.sql"));
    EXPECT_THAT(e.what(), HasSubstr("no_such_table"));
  }
  EXPECT_EQ(Count(db.owner_url(), "SELECT count(*) FROM schema_migrations"), static_cast<long>(good));
  EXPECT_EQ(Count(db.owner_url(), "SELECT count(*) FROM schema_migrations WHERE version = '9999_broken'"), 0);
  EXPECT_EQ(Count(db.owner_url(), "SELECT count(*) FROM pg_class WHERE relname = 'rollback_probe'"), 0);

  // The command line says the same and exits 1; fixing the file lets it finish.
  Child c = RunMigrate({"migrate", "--dir", tmp.dir()}, {{"HUB_DATABASE_URL", db.owner_url()}});
  ASSERT_TRUE(c.exit_code.has_value());
  EXPECT_EQ(*c.exit_code, 1) << c.output;
  EXPECT_THAT(c.output, HasSubstr("9999_broken.sql"));
  EXPECT_THAT(c.output, HasSubstr("no_such_table"));
  EXPECT_THAT(c.output, ::testing::Not(HasSubstr("hub_test_owner:hub_test_owner@"))) << "password logged";

  tmp.Write("9999_broken.sql", "CREATE TABLE rollback_probe (id int);\n");
  store::MigrationReport r = store::ApplyMigrations(db.owner_url(), tmp.dir());
  EXPECT_EQ(r.applied, 1);
  EXPECT_EQ(Count(db.owner_url(), "SELECT count(*) FROM pg_class WHERE relname = 'rollback_probe'"), 1);
}

TEST(Migrate, EditedAppliedFileIsRefused) {
  testing::PgDatabase db(/*migrate=*/false);
  TempMigrations tmp;
  store::ApplyMigrations(db.owner_url(), tmp.dir());
  const std::string first = MigrationFiles(tmp.dir()).front();
  std::ofstream(fs::path(tmp.dir()) / first, std::ios::app) << "\n-- edited\n";
  try {
    store::ApplyMigrations(db.owner_url(), tmp.dir());
    FAIL() << "an edited, already applied migration was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr(first));
    EXPECT_THAT(e.what(), HasSubstr("changed after it was applied"));
  }
}

TEST(Migrate, CommandLineAppliesTheSourceTreeMigrations) {
  testing::PgDatabase db(/*migrate=*/false);
  Child c = RunMigrate({"migrate"}, {{"HUB_DATABASE_URL", db.owner_url()}});
  ASSERT_TRUE(c.exit_code.has_value());
  EXPECT_EQ(*c.exit_code, 0) << c.output;
  EXPECT_EQ(Count(db.owner_url(), "SELECT count(*) FROM schema_migrations"),
            static_cast<long>(MigrationFiles(store::DefaultMigrationsDir()).size()));
  EXPECT_THAT(c.output, ::testing::Not(HasSubstr(":hub_test_owner@"))) << "password logged";
}

TEST(Migrate, MissingDatabaseUrlIsAConfigurationErrorNamingTheSetting) {
  Child c = RunMigrate({"migrate"}, {{"HUB_DATABASE_URL", std::nullopt}});
  ASSERT_TRUE(c.exit_code.has_value());
  EXPECT_NE(*c.exit_code, 0);
  EXPECT_THAT(c.output, HasSubstr("HUB_DATABASE_URL"));
}

TEST(Migrate, UnreachableDatabaseExitsWithOne) {
  // Port 1 on localhost: nothing listens there.
  Child c = RunMigrate({"migrate"}, {{"HUB_DATABASE_URL", std::string("postgresql://u:secret@127.0.0.1:1/db")}});
  ASSERT_TRUE(c.exit_code.has_value());
  EXPECT_EQ(*c.exit_code, 1) << c.output;
  EXPECT_THAT(c.output, ::testing::Not(HasSubstr("secret")));
}

// ---------------------------------------------------------------------------
// What the migrations produce.

TEST(Schema, EnumsHaveExactlyTheSeedsValues) {
  testing::PgDatabase db;
  const std::map<std::string, std::string> expected = {
      {"agent_status", "IDLE,BUSY,OFFLINE,ERROR"},
      {"team_structure", "HIERARCHICAL,COLLABORATIVE,PIPELINE,DEMOCRATIC"},
      {"team_role", "LEADER,WORKER,COORDINATOR,SPECIALIST"},
      {"execution_status", "PENDING,RUNNING,COMPLETED,FAILED,CANCELLED"},
      {"integration_status", "CONNECTED,DISCONNECTED,ERROR,TESTING"},
      {"template_category", "SALES,SUPPORT,MARKETING,DATA_PROCESSING,AUTOMATION,ANALYTICS,CONTENT,COMMUNICATION"},
      {"difficulty_level", "BEGINNER,INTERMEDIATE,ADVANCED,EXPERT"},
      {"complexity_level", "SIMPLE,MODERATE,COMPLEX,ENTERPRISE"},
      {"order_status", "DRAFT,SUBMITTED,IN_REVIEW,APPROVED,IN_PROGRESS,TESTING,COMPLETED,DELIVERED,CANCELLED,REJECTED"},
      {"order_priority", "LOW,NORMAL,HIGH,URGENT"},
      {"agent_category", "SALES,SUPPORT,ANALYSIS,CONTENT,AUTOMATION,RESEARCH"},
      {"ai_tool_category", "AUTOMATION,ANALYTICS,INTEGRATION,UI,API,WORKFLOW"},
      {"log_level", "DEBUG,INFO,WARN,ERROR"},
      {"workflow_type", "AUTOMATION,TRANSACTION"},
  };
  pqxx::connection c(db.url());
  pqxx::nontransaction q(c);
  std::map<std::string, std::string> actual;
  for (const auto& r : q.exec("SELECT t.typname, string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) "
                              "FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid GROUP BY t.typname"))
    actual[r[0].as<std::string>()] = r[1].as<std::string>();
  EXPECT_EQ(actual, expected);
}

TEST(Schema, RunCountersLeaveTheWorkflowsUpdatedAtAlone) {
  // updated_at is the engine's cache key for a workflow definition.
  testing::PgDatabase db;
  pqxx::connection c(db.owner_url());
  pqxx::work t(c);
  t.exec("SELECT set_config('app.organization_id', 'org_a', true)");
  t.exec("INSERT INTO organizations (id, name, slug) VALUES ('org_a', 'A', 'a')");
  t.exec("INSERT INTO automation_workflows (id, organization_id, name, nodes, edges, updated_at) "
         "VALUES ('wf', 'org_a', 'Flow', '[]', '[]', '2000-01-01T00:00:00Z')");
  t.exec("UPDATE automation_workflows SET execution_count = execution_count + 1, last_executed = now()");
  EXPECT_EQ(t.exec1("SELECT updated_at = '2000-01-01T00:00:00Z' FROM automation_workflows")[0].as<bool>(), true);
  t.exec("UPDATE automation_workflows SET nodes = '[{\"id\":\"n\"}]'");
  EXPECT_EQ(t.exec1("SELECT updated_at > '2000-01-01T00:00:00Z' FROM automation_workflows")[0].as<bool>(), true);
}

TEST(Schema, ByteOrderIdsKeepTheirIndexesForThePlatformsLookups) {
  // 0013: the ids the hot path inserts compare byte-wise; lookups with
  // default-collation parameters and the joins from agent/team executions
  // (default-collation columns) must still use the indexes, and the foreign
  // keys that reference (id, organization_id) must still hold.
  testing::PgDatabase db;
  pqxx::connection c(db.admin_url());
  pqxx::work t(c);
  auto collation = [&](const std::string& table, const std::string& column) {
    return t.exec_params1("SELECT coalesce(collation_name, '') FROM information_schema.columns "
                          "WHERE table_name = $1 AND column_name = $2", table, column)[0].as<std::string>();
  };
  EXPECT_EQ(collation("workflow_executions", "id"), "C");
  EXPECT_EQ(collation("workflow_executions", "workflow_id"), "C");
  EXPECT_EQ(collation("notifications", "id"), "C");
  t.exec("SET LOCAL enable_seqscan = off");
  auto plan = [&](const std::string& sql) {
    std::string text;
    for (const auto& r : t.exec("EXPLAIN (COSTS OFF) " + sql)) text += r[0].as<std::string>() + "\n";
    return text;
  };
  EXPECT_THAT(plan("SELECT * FROM workflow_executions WHERE id = 'e1'::text"), HasSubstr("Index Scan"));
  EXPECT_THAT(plan("SELECT * FROM workflow_executions WHERE workflow_id = 'wf'::text"),
              HasSubstr("workflow_executions_workflow_id_idx"));
  EXPECT_THAT(plan("SELECT * FROM notifications WHERE id = 'n1'::text"), HasSubstr("notifications_pkey"));
  EXPECT_THAT(plan("SELECT * FROM agent_executions a JOIN workflow_executions w "
                   "ON w.id = a.workflow_execution_id AND w.organization_id = a.organization_id WHERE a.id = 'x'"),
              ::testing::AnyOf(HasSubstr("Index Scan using workflow_executions_id_organization_id_key"),
                               HasSubstr("Index Scan using workflow_executions_pkey")));
  // The composite foreign key from agent_executions still matches its parent
  // byte-wise, and still refuses a missing one.
  t.exec("INSERT INTO organizations (id, name, slug) VALUES ('org_a', 'A', 'a')");
  t.exec("INSERT INTO ai_agents (id, organization_id, name) VALUES ('agent', 'org_a', 'Agent')");
  t.exec("INSERT INTO workflow_executions (id, organization_id, workflow_id) VALUES ('e1', 'org_a', 'wf')");
  t.exec("INSERT INTO agent_executions (id, organization_id, agent_id, workflow_execution_id, task) "
         "VALUES ('ae1', 'org_a', 'agent', 'e1', 'task')");
  t.exec("SAVEPOINT missing");
  try {
    t.exec("INSERT INTO agent_executions (id, organization_id, agent_id, workflow_execution_id, task) "
           "VALUES ('ae2', 'org_a', 'agent', 'E1', 'task')");
    ADD_FAILURE() << "an execution id that differs only in case was accepted as the parent";
  } catch (const pqxx::foreign_key_violation& e) {
    EXPECT_THAT(e.what(), HasSubstr("workflow_execution_id"));
  }
}

}  // namespace
}  // namespace hub
