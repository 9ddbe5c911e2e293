#pragma once
// PostgreSQL for tests: every test gets a database of its own on the
// throwaway cluster named by HUB_TEST_DATABASE_URL (scripts/test.sh starts
// one), owned by the role the worker runs as in production terms: not a
// superuser, not BYPASSRLS, owner of its tables -- so FORCEd row-level
// security applies to it exactly as it does to the real worker.
//
//   hub::testing::PgDatabase db;                 // fresh database, migrated
//   pqxx::connection conn(db.url());             // as hub_test_worker
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

// The role that owns every test database: LOGIN, password 'hub_test_worker',
// NOSUPERUSER, NOBYPASSRLS.
inline constexpr const char* kTestWorkerRole = "hub_test_worker";

// A fresh database per test, owned by hub_test_worker (created if missing);
// migrated with schemas/sql unless `migrate` is false; dropped (even with open
// connections) in the destructor.
class PgDatabase {
 public:
  explicit PgDatabase(bool migrate = true);
  ~PgDatabase();
  PgDatabase(const PgDatabase&) = delete;
  PgDatabase& operator=(const PgDatabase&) = delete;

  const std::string& url() const { return url_; }              // connect as hub_test_worker
  const std::string& admin_url() const { return admin_url_; }  // superuser, same database
  const std::string& name() const { return name_; }

 private:
  std::string cluster_admin_url_;  // superuser, the maintenance database
  std::string name_;
  std::string url_;
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
