// Deleting an organisation deletes its rows everywhere, including the two
// high-volume tables whose per-row foreign keys were replaced by a
// statement-level trigger (schemas/sql/0009).
#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include "store/connection.hpp"
#include "tests/support/pg_fixture.hpp"
#include "worker/seed.hpp"

namespace hub {
namespace {

int64_t CountAll(const std::string& admin_url, const std::string& table, const std::string& org) {
  pqxx::connection c(admin_url);
  pqxx::nontransaction q(c);
  return q.exec_params("SELECT count(*) FROM " + c.quote_name(table) + " WHERE organization_id = $1", org)[0][0]
      .as<int64_t>();
}

TEST(OrganizationDelete, RemovesItsExecutionsAndNotificationsButNoOtherOrganisations) {
  testing::PgDatabase db;
  for (const char* org : {"org_gone", "org_kept"}) {
    worker::SeedOptions o;
    o.organization_id = org;
    o.user_id = std::string("user_") + org;
    o.workflows = 1;
    worker::SeedOrganization(db.owner_url(), o);
    pqxx::connection c(db.url());
    pqxx::work t(c);
    store::SetTenant(t, org);
    t.exec_params("INSERT INTO workflow_executions (id, organization_id, workflow_id, status) "
                  "VALUES ($1, $2, $3, 'COMPLETED')",
                  std::string("exec_") + org, org, std::string("wf_") + org + "_0");
    t.exec_params("INSERT INTO notifications (id, organization_id, user_id, title, message) "
                  "VALUES ($1, $2, $3, 't', 'm')",
                  std::string("n_") + org, org, std::string("user_") + org);
    t.commit();
  }
  {
    pqxx::connection c(db.owner_url());  // the platform deletes organisations, not the worker
    pqxx::work t(c);
    store::SetTenant(t, "org_gone");
    EXPECT_EQ(t.exec("DELETE FROM organizations WHERE id = 'org_gone'").affected_rows(), 1u);
    t.commit();
  }
  for (const char* table : {"workflow_executions", "notifications", "automation_workflows", "users"}) {
    EXPECT_EQ(CountAll(db.admin_url(), table, "org_gone"), 0) << table;
    EXPECT_GT(CountAll(db.admin_url(), table, "org_kept"), 0) << table;
  }
}

}  // namespace
}  // namespace hub
