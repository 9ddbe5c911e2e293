#include "tests/support/pg_fixture.hpp"

#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <stdexcept>

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <pqxx/pqxx>

#include "store/migrator.hpp"

namespace hub::testing {
namespace {

// Percent-encodes everything but RFC 3986 unreserved characters.
std::string UriEncode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// Parses a libpq URI or key=value string; returns keyword -> value for the
// options that are set.
std::map<std::string, std::string> ParseConninfo(const std::string& conninfo) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), &err);
  if (!opts) {
    std::string msg = err ? err : "out of memory";
    if (err) PQfreemem(err);
    throw std::runtime_error("HUB_TEST_DATABASE_URL is not a valid libpq connection string: " + msg);
  }
  std::map<std::string, std::string> out;
  for (PQconninfoOption* o = opts; o->keyword; ++o)
    if (o->val && *o->val) out[o->keyword] = o->val;
  PQconninfoFree(opts);
  return out;
}

// The cluster of `admin`, as `user` (with `password` if not empty), database `dbname`.
std::string MakeUrl(const std::string& admin, const std::string& user, const std::string& password,
                    const std::string& dbname) {
  auto o = ParseConninfo(admin);
  std::string url = "postgresql://" + UriEncode(user);
  if (!password.empty()) url += ":" + UriEncode(password);
  url += "@";
  if (o.count("host")) url += UriEncode(o["host"]);
  if (o.count("port")) url += ":" + o["port"];
  url += "/" + UriEncode(dbname);
  // Keep the other options (sslmode, hostaddr, ...) except those replaced here.
  std::string query;
  for (const auto& [k, v] : o) {
    if (k == "host" || k == "port" || k == "user" || k == "password" || k == "dbname") continue;
    query += (query.empty() ? "?" : "&") + k + "=" + UriEncode(v);
  }
  return url + query;
}

std::string NewDatabaseName() {
  static std::atomic<int> counter{0};
  std::random_device rd;
  const char* hex = "0123456789abcdef";
  std::string suffix;
  for (int i = 0; i < 6; ++i) suffix += hex[rd() % 16];
  return "hub_test_" + std::to_string(getpid()) + "_" + std::to_string(++counter) + "_" + suffix;
}

// A login role that is neither superuser nor BYPASSRLS (created, or repaired
// if an earlier run left it otherwise).  Concurrent test processes may race to
// create it: losing is fine.
void EnsureLoginRole(pqxx::connection& admin, const std::string& role) {
  pqxx::nontransaction q(admin);
  const std::string name = admin.quote_name(role), password = admin.quote(role);
  q.exec("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = " + admin.quote(role) +
         ") THEN CREATE ROLE " + name + " LOGIN PASSWORD " + password +
         " NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE; END IF; "
         "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$");
  auto r = q.exec_params1("SELECT rolsuper OR rolbypassrls OR NOT rolcanlogin FROM pg_roles WHERE rolname = $1", role);
  if (r[0].as<bool>()) q.exec("ALTER ROLE " + name + " LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD " + password);
}

// WITH (FORCE): connections a failed test left open do not keep it alive.
void DropDatabase(const std::string& cluster_admin_url, const std::string& name) noexcept {
  try {
    pqxx::connection admin(cluster_admin_url);
    pqxx::nontransaction q(admin);
    q.exec("DROP DATABASE IF EXISTS " + admin.quote_name(name) + " WITH (FORCE)");
  } catch (const std::exception& e) {
    std::cerr << "pg_fixture: could not drop test database " << name << ": " << e.what() << "\n";
  }
}

}  // namespace

std::string AdminUrl() {
  const char* v = std::getenv("HUB_TEST_DATABASE_URL");
  if (v && *v) return v;
  const std::string msg =
      "HUB_TEST_DATABASE_URL is not set: this test needs a throwaway PostgreSQL >= 15 cluster and a "
      "superuser URL for it. Run `bash scripts/test.sh`, or start one with "
      "`scripts/pg.sh start .local/pg --fast` and export HUB_TEST_DATABASE_URL=<the URL it prints>.";
  ADD_FAILURE() << msg;
  throw std::runtime_error(msg);
}

PgDatabase::PgDatabase(bool migrate) : cluster_admin_url_(AdminUrl()), name_(NewDatabaseName()) {
  {
    pqxx::connection admin(cluster_admin_url_);
    EnsureLoginRole(admin, kTestOwnerRole);
    EnsureLoginRole(admin, kWorkerRole);
    pqxx::nontransaction q(admin);
    q.exec("CREATE DATABASE " + admin.quote_name(name_) + " OWNER " + kTestOwnerRole + " TEMPLATE template0");
  }
  const std::string admin_user = [&] {
    auto o = ParseConninfo(cluster_admin_url_);
    return o.count("user") ? o["user"] : std::string("postgres");
  }();
  const std::string admin_password = [&] {
    auto o = ParseConninfo(cluster_admin_url_);
    return o.count("password") ? o["password"] : std::string();
  }();
  url_ = MakeUrl(cluster_admin_url_, kWorkerRole, kWorkerRole, name_);
  owner_url_ = MakeUrl(cluster_admin_url_, kTestOwnerRole, kTestOwnerRole, name_);
  admin_url_ = MakeUrl(cluster_admin_url_, admin_user, admin_password, name_);
  if (migrate) {
    try {
      store::ApplyMigrations(owner_url_, store::DefaultMigrationsDir());
    } catch (...) {
      DropDatabase(cluster_admin_url_, name_);  // no destructor runs for a throwing constructor
      throw;
    }
  }
}

PgDatabase::~PgDatabase() { DropDatabase(cluster_admin_url_, name_); }

void InstallPoisonTrigger(const std::string& admin_url) {
  pqxx::connection c(admin_url);
  pqxx::work t(c);
  t.exec(R"(CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF NEW.input->>'name' = 'poison' THEN
                RAISE EXCEPTION 'simulated serialization failure' USING ERRCODE = '40001';
              END IF;
              RETURN NEW;
            END $$)");
  t.exec("CREATE TRIGGER poison BEFORE INSERT ON workflow_executions FOR EACH ROW EXECUTE FUNCTION poison()");
  t.commit();
}

std::pair<std::string, std::string> DoublingWorkflow(int transforms) {
  std::string nodes = R"([{"id":"t","type":"trigger"},{"id":"n1","type":"transform","data":{"fields":{"a":"{{input.x}}{{input.x}}"}}})";
  std::string edges = R"([{"source":"t","target":"n1"})";
  for (int i = 2; i <= transforms; ++i) {
    const std::string id = "n" + std::to_string(i), prev = "n" + std::to_string(i - 1);
    nodes += R"(,{"id":")" + id + R"(","type":"transform","data":{"fields":{"a":"{{output.a}}{{output.a}}"}}})";
    edges += R"(,{"source":")" + prev + R"(","target":")" + id + R"("})";
  }
  return {nodes + "]", edges + "]"};
}

void SetWorkflowDefinition(const std::string& admin_url, const std::string& workflow_id, const std::string& nodes,
                           const std::string& edges) {
  pqxx::connection c(admin_url);
  pqxx::work t(c);
  t.exec_params("UPDATE automation_workflows SET nodes = $2::jsonb, edges = $3::jsonb WHERE id = $1", workflow_id, nodes,
                edges);
  t.commit();
}

}  // namespace hub::testing
