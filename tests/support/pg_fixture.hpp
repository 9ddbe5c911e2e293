#pragma once
// PostgreSQL for tests: every test gets a database of its own on the
// throwaway cluster named by HUB_TEST_DATABASE_URL (scripts/test.sh starts
// one), with the roles of a production set-up: the schema belongs to an owner
// role that migrates (neither superuser nor BYPASSRLS), and the worker runs as
// hub_worker, which owns nothing and has only the row access migration 0026
// grants it -- so row-level security and the grants apply to the code under
// test exactly as they do to the real worker.
//
//   hub::testing::PgDatabase db;                 // fresh database, migrated
//   pqxx::connection conn(db.url());             // as hub_worker (what `run` uses)
//   pqxx::connection owner(db.owner_url());      // as the owner: seeding, `migrate`, admin tools
//   pqxx::connection admin(db.admin_url());      // superuser, same database
//
// Threading: a PgDatabase is used from one thread at a time; its URLs may be
// used from any thread or process.
#include <string>
#include <utility>

namespace hub::testing {

// Admin URL of the throwaway cluster from HUB_TEST_DATABASE_URL (a superuser
// URL).  When it is unset the calling test FAILS (it does not skip) with a
// message saying how to get one; the call then throws to end the test.
std::string AdminUrl();

// The role that owns every test database and runs its migrations: LOGIN,
// password = its name, NOSUPERUSER, NOBYPASSRLS.
inline constexpr const char* kTestOwnerRole = "hub_test_owner";
// The worker's role (migration 0026 grants it row access): LOGIN, password =
// its name, NOSUPERUSER, NOBYPASSRLS.
inline constexpr const char* kWorkerRole = "hub_worker";

// A fresh database per test, owned by hub_test_owner (the roles are created if
// missing); migrated with schemas/sql unless `migrate` is false; dropped (even
// with open connections) in the destructor.
class PgDatabase {
 public:
  explicit PgDatabase(bool migrate = true);
  ~PgDatabase();
  PgDatabase(const PgDatabase&) = delete;
  PgDatabase& operator=(const PgDatabase&) = delete;

  const std::string& url() const { return url_; }              // connect as hub_worker
  const std::string& owner_url() const { return owner_url_; }  // connect as the schema owner
  const std::string& admin_url() const { return admin_url_; }  // superuser, same database
  const std::string& name() const { return name_; }

 private:
  std::string cluster_admin_url_;  // superuser, the maintenance database
  std::string name_;
  std::string url_;
  std::string owner_url_;
  std::string admin_url_;
};

// Makes every workflow_executions insert whose input.name is 'poison' fail
// with a serialization failure (SQLSTATE 40001), a transient error the worker
// retries: a trigger, installed through `admin_url`.
void InstallPoisonTrigger(const std::string& admin_url);

// Replaces the React-Flow definition (nodes, edges as JSON text) of a seeded
// workflow.
void SetWorkflowDefinition(const std::string& admin_url, const std::string& workflow_id, const std::string& nodes,
                           const std::string& edges);

// The hostile definition of the poison-input issue (nodes, edges): a trigger
// and `transforms` transforms n1..nk, each doubling the previous output
// (n1 renders {{input.x}} twice).  26 of them reach gigabytes without the
// execution limits.
std::pair<std::string, std::string> DoublingWorkflow(int transforms);

}  // namespace hub::testing
