// Least privilege: `hubworker run` connects as hub_worker, which the
// migrations grant row access to the tables the worker uses and nothing else.
// It owns nothing, cannot change the schema, and row-level security binds it
// whatever the tables' FORCE setting.
#include <set>
#include <string>
#include <utility>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "store/connection.hpp"
#include "tests/support/pg_fixture.hpp"

namespace hub {
namespace {

using ::testing::HasSubstr;

class WorkerRole : public ::testing::Test {
 protected:
  // Runs `sql` as the worker in a transaction of its own; returns the error
  // text ("" when it succeeded).
  std::string TryAsWorker(const std::string& sql, const std::string& tenant = "org_a") {
    pqxx::connection c(db_.url());
    try {
      pqxx::work t(c);
      t.exec_params("SELECT set_config('app.organization_id', $1, true)", tenant);
      t.exec(sql);
      t.commit();
      return "";
    } catch (const std::exception& e) {
      return e.what();
    }
  }

  testing::PgDatabase db_;
};

TEST_F(WorkerRole, IsNotSuperuserNorBypassRlsAndOwnsNothing) {
  pqxx::connection c(db_.url());
  EXPECT_NO_THROW(store::RequireRowSecurity(c));
  pqxx::nontransaction q(c);
  EXPECT_EQ(q.exec1("SELECT current_user")[0].as<std::string>(), "hub_worker");
  EXPECT_EQ(q.exec1("SELECT count(*) FROM pg_class WHERE relowner = (SELECT oid FROM pg_roles "
                    "WHERE rolname = current_user)")[0]
                .as<long>(),
            0);
  EXPECT_EQ(q.exec1("SELECT count(*) FROM pg_proc WHERE proowner = (SELECT oid FROM pg_roles "
                    "WHERE rolname = current_user)")[0]
                .as<long>(),
            0);
  EXPECT_FALSE(q.exec1("SELECT has_schema_privilege('public', 'CREATE')")[0].as<bool>());
  EXPECT_FALSE(q.exec1("SELECT pg_has_role(current_user, 'hub_test_owner', 'MEMBER')")[0].as<bool>());
}

TEST_F(WorkerRole, CannotChangeTheSchema) {
  for (const std::string sql : {"CREATE TABLE sneaky (id int)", "ALTER TABLE workflow_executions ADD COLUMN x int",
                                "ALTER TABLE workflow_executions DISABLE ROW LEVEL SECURITY",
                                "DROP POLICY tenant_isolation ON workflow_executions", "DROP TABLE outbox",
                                "TRUNCATE workflow_executions", "CREATE INDEX ON outbox (topic)",
                                "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'"}) {
    const std::string error = TryAsWorker(sql);
    EXPECT_THAT(error, ::testing::AnyOf(HasSubstr("permission denied"), HasSubstr("must be owner")))
        << sql << " was allowed";
  }
}

TEST_F(WorkerRole, WritesOnlyWhatTheWorkerWrites) {
  {
    pqxx::connection c(db_.owner_url());
    pqxx::work t(c);
    t.exec("SELECT set_config('app.organization_id', 'org_a', true)");
    t.exec("INSERT INTO organizations (id, name, slug) VALUES ('org_a', 'A', 'a')");
    t.exec("INSERT INTO automation_workflows (id, organization_id, name, nodes, edges) "
           "VALUES ('wf', 'org_a', 'Flow', '[]', '[]')");
    t.commit();
  }
  // What it writes: executions, and a workflow's run counters.
  EXPECT_EQ(TryAsWorker("INSERT INTO workflow_executions (id, organization_id, workflow_id) VALUES ('e1', 'org_a', "
                        "'wf')"),
            "");
  EXPECT_EQ(TryAsWorker("UPDATE automation_workflows SET execution_count = execution_count + 1, last_executed = now()"),
            "");
  // What it only reads, or does not touch at all.
  for (const std::string sql :
       {"UPDATE automation_workflows SET nodes = '[{\"id\":\"x\"}]'", "DELETE FROM automation_workflows",
        "INSERT INTO automation_workflows (id, organization_id, name, nodes, edges) VALUES ('w2', 'org_a', 'F', "
        "'[]', '[]')",
        "INSERT INTO organizations (id, name, slug) VALUES ('org_x', 'X', 'x')", "DELETE FROM organizations",
        "UPDATE users SET email = 'x@example.com'", "DELETE FROM processed_events", "UPDATE outbox SET topic = 'x'",
        "UPDATE integrations SET credentials = '{}'", "DELETE FROM integration_operations",
        "SELECT * FROM audit_logs", "INSERT INTO schema_migrations VALUES ('x', 'y')"}) {
    EXPECT_THAT(TryAsWorker(sql), HasSubstr("permission denied")) << sql << " was allowed";
  }
}

TEST_F(WorkerRole, SeesNoRowWithoutItsTenant) {
  {
    pqxx::connection c(db_.owner_url());
    pqxx::work t(c);
    t.exec("SELECT set_config('app.organization_id', 'org_b', true)");
    t.exec("INSERT INTO organizations (id, name, slug) VALUES ('org_b', 'B', 'b')");
    t.exec("INSERT INTO workflow_executions (id, organization_id, workflow_id) VALUES ('eb', 'org_b', 'wf')");
    t.commit();
  }
  pqxx::connection c(db_.url());
  pqxx::work t(c);
  EXPECT_EQ(t.exec1("SELECT count(*) FROM workflow_executions")[0].as<long>(), 0);
  t.exec("SELECT set_config('app.organization_id', 'org_a', true)");
  EXPECT_EQ(t.exec1("SELECT count(*) FROM workflow_executions")[0].as<long>(), 0);
  EXPECT_EQ(t.exec("UPDATE workflow_executions SET error = 'x'").affected_rows(), 0);
  t.exec("SELECT set_config('app.organization_id', 'org_b', true)");
  EXPECT_EQ(t.exec1("SELECT count(*) FROM workflow_executions")[0].as<long>(), 1);
}

// Every privilege hub_worker holds, table by table: a grant added or widened
// in a migration must be added here too, on purpose.
TEST_F(WorkerRole, HoldsExactlyTheGrantsOfTheMigrations) {
  pqxx::connection c(db_.admin_url());
  pqxx::nontransaction q(c);
  std::set<std::string> tables;
  for (const auto& r : q.exec("SELECT table_name || ':' || string_agg(privilege_type, ',' ORDER BY privilege_type) "
                              "FROM information_schema.role_table_grants WHERE grantee = 'hub_worker' "
                              "GROUP BY table_name"))
    tables.insert(r[0].as<std::string>());
  const std::set<std::string> expected_tables = {
      "ai_agents:INSERT,SELECT",  // order builds write agents (0027); ai_agent steps read them
      "automation_workflows:SELECT",
      "build_logs:INSERT,SELECT",
      "custom_agent_orders:SELECT",
      "dead_letter_redrives:DELETE,INSERT,SELECT,UPDATE",
      "execution_call_results:INSERT,SELECT",
      "execution_steps:DELETE,INSERT,SELECT,UPDATE",
      "integration_operations:INSERT,SELECT",
      "integrations:SELECT",
      "notifications:DELETE,INSERT,SELECT",
      "order_milestones:INSERT,SELECT",
      "organizations:SELECT",
      "outbox:DELETE,INSERT,SELECT",
      "outbox_quarantine:DELETE,INSERT,SELECT",
      "processed_events:INSERT,SELECT",
      "schema_migrations:SELECT",
      "users:SELECT",
      "webhook_signatures:DELETE,INSERT,SELECT,UPDATE",
      "workflow_executions:DELETE,INSERT,SELECT,UPDATE",
  };
  EXPECT_EQ(tables, expected_tables);

  std::set<std::string> columns;
  for (const auto& r : q.exec("SELECT table_name || '.' || column_name || ':' || privilege_type "
                              "FROM information_schema.column_privileges WHERE grantee = 'hub_worker' "
                              "AND privilege_type <> 'SELECT' AND (table_name, privilege_type) NOT IN "
                              "(SELECT table_name, privilege_type FROM information_schema.role_table_grants "
                              "WHERE grantee = 'hub_worker')"))
    columns.insert(r[0].as<std::string>());
  const std::set<std::string> expected_columns = {
      "ai_agents.capabilities:UPDATE",
      "ai_agents.description:UPDATE",
      "ai_agents.model_config:UPDATE",
      "ai_agents.name:UPDATE",
      "ai_agents.personality:UPDATE",
      "automation_workflows.execution_count:UPDATE",
      "automation_workflows.last_executed:UPDATE",
      "custom_agent_orders.agent_id:UPDATE",
      "custom_agent_orders.completed_at:UPDATE",
      "custom_agent_orders.error:UPDATE",
      "custom_agent_orders.progress:UPDATE",
      "custom_agent_orders.reviewed_at:UPDATE",
      "custom_agent_orders.started_at:UPDATE",
      "custom_agent_orders.status:UPDATE",
      "order_milestones.completed:UPDATE",
      "order_milestones.completed_at:UPDATE",
      "order_milestones.progress:UPDATE",
      "users.updated_at:UPDATE",
  };
  EXPECT_EQ(columns, expected_columns);
}

}  // namespace
}  // namespace hub
