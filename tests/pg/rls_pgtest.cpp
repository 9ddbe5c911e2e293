// Tenant isolation: with app.organization_id set to organisation A, the
// schema's owner role -- bound by the policies only because every tenant table
// FORCEs row-level security -- can neither read, change nor create
// organisation B's rows in any tenant table.  The worker's own role owns
// nothing, so the policies bind it anyway (worker_role_pgtest.cpp checks what
// else it may do).  The tables are discovered from the catalogue, so a tenant
// table added later without row-level security (or without a fixture row
// here) fails these tests.
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "store/connection.hpp"
#include "tests/support/pg_fixture.hpp"

namespace hub {
namespace {

using ::testing::HasSubstr;

constexpr const char* kOrgA = "org_a";
constexpr const char* kOrgB = "org_b";

// Starts a transaction of the worker's role with app.organization_id = `org`
// for that transaction only.
void SetTenant(pqxx::transaction_base& txn, const std::string& org) {
  txn.exec_params("SELECT set_config('app.organization_id', $1, true)", org);
}

// One row in every tenant table for organisation `org` (ids end in `org`),
// written by the worker's role under its own tenant -- so this also checks
// that the policies let an organisation write its own rows.
void InsertTenantRows(pqxx::transaction_base& t, const std::string& org) {
  SetTenant(t, org);
  const std::string o = t.quote(org);
  auto id = [&](const std::string& prefix) { return t.quote(prefix + "_" + org); };
  t.exec("INSERT INTO organizations (id, name, slug) VALUES (" + o + ", 'Org " + org + "', " + id("slug") + ")");
  t.exec("INSERT INTO users (id, organization_id, email, name) VALUES (" + id("user") + ", " + o + ", " +
         t.quote("user@" + org + ".example") + ", 'User')");
  t.exec("INSERT INTO organization_members (id, organization_id, user_id, role) VALUES (" + id("member") + ", " +
         o + ", " + id("user") + ", 'OWNER')");
  t.exec("INSERT INTO notifications (id, organization_id, user_id, title, message) VALUES (" + id("notif") + ", " +
         o + ", " + id("user") + ", 'Hello', 'World')");
  t.exec("INSERT INTO audit_logs (id, organization_id, user_id, action) VALUES (" + id("audit") + ", " + o + ", " +
         id("user") + ", 'login')");
  t.exec("INSERT INTO api_usage (id, organization_id, user_id, endpoint, method) VALUES (" + id("usage") + ", " +
         o + ", " + id("user") + ", '/v1/things', 'GET')");
  t.exec("INSERT INTO workflow_templates (id, organization_id, name, description, category, nodes, edges) "
         "VALUES (" + id("wft") + ", " + o + ", 'Private template', 'd', 'SALES', '[]', '[]')");
  t.exec("INSERT INTO agent_templates (id, organization_id, name, category) VALUES (" + id("agt") + ", " + o +
         ", 'Private agent template', 'SUPPORT')");
  t.exec("INSERT INTO automation_workflows (id, organization_id, name, nodes, edges, template_id, created_by) "
         "VALUES (" + id("wf") + ", " + o + ", 'Flow', '[]', '[]', " + id("wft") + ", " + id("user") + ")");
  t.exec("INSERT INTO workflow_executions (id, organization_id, workflow_id, status) VALUES (" + id("exec") + ", " +
         o + ", " + id("wf") + ", 'COMPLETED')");
  t.exec("INSERT INTO execution_call_results (organization_id, execution_id, node_id, kind, output, attempts, "
         "recorded_at) VALUES (" + o + ", " + id("exec") + ", 'call', 'http_request', '{\"status\":200}', 1, now())");
  t.exec("INSERT INTO ai_agents (id, organization_id, name, created_by) VALUES (" + id("agent") + ", " + o +
         ", 'Agent', " + id("user") + ")");
  t.exec("INSERT INTO agent_teams (id, organization_id, name, structure) VALUES (" + id("team") + ", " + o +
         ", 'Team', 'PIPELINE')");
  t.exec("INSERT INTO team_members (id, organization_id, team_id, agent_id, role) VALUES (" + id("tm") + ", " + o +
         ", " + id("team") + ", " + id("agent") + ", 'LEADER')");
  t.exec("INSERT INTO agent_executions (id, organization_id, agent_id, workflow_execution_id, task) VALUES (" +
         id("aexec") + ", " + o + ", " + id("agent") + ", " + id("exec") + ", 'answer')");
  t.exec("INSERT INTO team_executions (id, organization_id, team_id, task, pattern) VALUES (" + id("texec") + ", " +
         o + ", " + id("team") + ", 'research', 'PIPELINE')");
  t.exec("INSERT INTO integrations (id, organization_id, name, provider) VALUES (" + id("int") + ", " + o +
         ", 'Hook', 'webhook')");
  t.exec("INSERT INTO integration_operations (id, organization_id, integration_id, operation_type) VALUES (" +
         id("op") + ", " + o + ", " + id("int") + ", 'webhook')");
  t.exec("INSERT INTO webhook_signatures (organization_id, integration_id, replay_key, event_source, event_id, "
         "expires_at) VALUES (" + o + ", " + id("int") + ", " + id("key") + ", 'urn:test', " + id("ev") +
         ", now() + interval '1 hour')");
  t.exec("INSERT INTO custom_agent_orders (id, organization_id, title, created_by, agent_id) VALUES (" +
         id("order") + ", " + o + ", 'Order', " + id("user") + ", " + id("agent") + ")");
  t.exec("INSERT INTO order_milestones (id, organization_id, order_id, name, stage) VALUES (" + id("ms") + ", " +
         o + ", " + id("order") + ", 'Design', 'design')");
  t.exec("INSERT INTO build_logs (id, organization_id, order_id, stage, message) VALUES (" + id("log") + ", " + o +
         ", " + id("order") + ", 'design', 'started')");
}

class TenantIsolation : public ::testing::Test {
 protected:
  void SetUp() override {
    // The owner may write every tenant table; what the policies let it see
    // and change is what they let any role see and change.
    worker_ = std::make_unique<pqxx::connection>(db_.owner_url());
    admin_ = std::make_unique<pqxx::connection>(db_.admin_url());
    for (const char* org : {kOrgA, kOrgB}) {
      pqxx::work t(*worker_);
      InsertTenantRows(t, org);
      t.commit();
    }
  }

  // Base tables of the public schema that have an organization_id column.
  std::vector<std::string> TenantTables() {
    pqxx::nontransaction q(*admin_);
    std::vector<std::string> out;
    for (const auto& r : q.exec(
             "SELECT c.table_name FROM information_schema.columns c "
             "JOIN information_schema.tables t USING (table_schema, table_name) "
             "WHERE c.table_schema = 'public' AND c.column_name = 'organization_id' "
             "AND t.table_type = 'BASE TABLE' "
             // The worker's own tables, like outbox: organization_id is part
             // of an event's identity in processed_events (0015), and
             // execution_steps is claimed across organisations before the
             // resume sets the tenant (0016).
             "AND c.table_name NOT IN ('processed_events', 'execution_steps') ORDER BY 1"))
      out.push_back(r[0].as<std::string>());
    return out;
  }

  long AdminCount(const std::string& sql) {
    pqxx::nontransaction q(*admin_);
    return q.exec1(sql)[0].as<long>();
  }

  testing::PgDatabase db_;
  std::unique_ptr<pqxx::connection> worker_;
  std::unique_ptr<pqxx::connection> admin_;
};

TEST_F(TenantIsolation, OwnerRoleIsNeitherSuperuserNorBypassRlsAndOwnsTheTables) {
  pqxx::nontransaction q(*worker_);
  auto r = q.exec1("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user");
  EXPECT_FALSE(r[0].as<bool>());
  EXPECT_FALSE(r[1].as<bool>());
  // Owner: only FORCE ROW LEVEL SECURITY subjects it to the policies.
  EXPECT_EQ(q.exec1("SELECT count(*) FROM pg_class WHERE relname = 'automation_workflows' "
                    "AND relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)")[0]
                .as<long>(),
            1);
  q.commit();
  EXPECT_NO_THROW(store::RequireRowSecurity(*worker_));
  EXPECT_THROW(store::RequireRowSecurity(*admin_), std::runtime_error);
}

TEST_F(TenantIsolation, NoTenantTableShowsChangesOrAcceptsAnotherOrganisationsRows) {
  const auto tables = TenantTables();
  // The list is the catalogue's; make sure it is not trivially short.
  ASSERT_GE(tables.size(), 19u);

  for (const auto& table : tables) {
    SCOPED_TRACE("table " + table);
    const std::string qt = admin_->quote_name(table);

    {
      pqxx::nontransaction q(*admin_);
      auto r = q.exec_params1("SELECT relrowsecurity, relforcerowsecurity FROM pg_class "
                              "WHERE oid = ('public.' || quote_ident($1))::regclass",
                              table);
      EXPECT_TRUE(r[0].as<bool>()) << "row-level security is not enabled";
      EXPECT_TRUE(r[1].as<bool>()) << "row-level security is not forced (the owner would bypass it)";
    }
    // The fixture must cover the table for both organisations.
    const long rows_a = AdminCount("SELECT count(*) FROM " + qt + " WHERE organization_id = 'org_a'");
    const long rows_b = AdminCount("SELECT count(*) FROM " + qt + " WHERE organization_id = 'org_b'");
    if (rows_a == 0 || rows_b == 0) {
      ADD_FAILURE() << "no fixture row for both organisations: add one to InsertTenantRows";
      continue;
    }

    pqxx::work t(*worker_);
    SetTenant(t, kOrgA);
    EXPECT_EQ(t.exec1("SELECT count(*) FROM " + qt + " WHERE organization_id = 'org_b'")[0].as<long>(), 0)
        << "B's rows are visible to A";
    EXPECT_EQ(t.exec1("SELECT count(*) FROM " + qt + " WHERE organization_id = 'org_a'")[0].as<long>(), rows_a)
        << "A does not see all of its own rows";
    EXPECT_EQ(t.exec0("UPDATE " + qt + " SET organization_id = organization_id WHERE organization_id = 'org_b'")
                  .affected_rows(),
              0u)
        << "A updated B's rows";
    EXPECT_EQ(t.exec0("DELETE FROM " + qt + " WHERE organization_id = 'org_b'").affected_rows(), 0u)
        << "A deleted B's rows";
    // Moving an own row to B is refused too.
    if (table != "build_logs") {
      try {
        pqxx::subtransaction s(t, "move");
        s.exec("UPDATE " + qt + " SET organization_id = 'org_b' WHERE organization_id = 'org_a'");
        ADD_FAILURE() << "A moved its row to B";
      } catch (const pqxx::sql_error& e) {
        EXPECT_THAT(e.what(), HasSubstr("row-level security")) << e.what();
      }
    }
    // A copy of an A row re-labelled as B is rejected by the policy itself.
    try {
      pqxx::subtransaction s(t, "insert");
      auto r = s.exec0("INSERT INTO " + qt + " SELECT (jsonb_populate_record(NULL::" + qt +
                       ", to_jsonb(r) || jsonb_build_object('id', 'rls_probe', 'organization_id', 'org_b'))).* "
                       "FROM " + qt + " r WHERE r.organization_id = 'org_a' LIMIT 1");
      ADD_FAILURE() << "inserting a row for B as A succeeded (" << r.affected_rows() << " rows)";
    } catch (const pqxx::insufficient_privilege& e) {  // SQLSTATE 42501
      EXPECT_THAT(e.what(), HasSubstr("new row violates row-level security policy")) << e.what();
    }
    t.commit();
    EXPECT_EQ(AdminCount("SELECT count(*) FROM " + qt + " WHERE organization_id = 'org_b'"), rows_b)
        << "B's rows changed";
  }
}

TEST_F(TenantIsolation, OrganisationRowIsVisibleOnlyToItself) {
  pqxx::nontransaction flags(*admin_);
  auto r = flags.exec1("SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = 'organizations'::regclass");
  EXPECT_TRUE(r[0].as<bool>());
  EXPECT_TRUE(r[1].as<bool>());
  flags.commit();

  pqxx::work t(*worker_);
  SetTenant(t, kOrgA);
  EXPECT_EQ(t.exec1("SELECT count(*) FROM organizations")[0].as<long>(), 1);
  EXPECT_EQ(t.exec1("SELECT count(*) FROM organizations WHERE id = 'org_b'")[0].as<long>(), 0);
  EXPECT_EQ(t.exec0("UPDATE organizations SET name = 'taken' WHERE id = 'org_b'").affected_rows(), 0u);
  EXPECT_EQ(t.exec0("DELETE FROM organizations WHERE id = 'org_b'").affected_rows(), 0u);
  try {
    pqxx::subtransaction s(t, "insert");
    s.exec0("INSERT INTO organizations (id, name, slug) VALUES ('org_c', 'C', 'slug_c')");
    ADD_FAILURE() << "A created another organisation";
  } catch (const pqxx::insufficient_privilege& e) {  // SQLSTATE 42501
    EXPECT_THAT(e.what(), HasSubstr("row-level security")) << e.what();
  }
  t.commit();
  EXPECT_EQ(AdminCount("SELECT count(*) FROM organizations WHERE id = 'org_b' AND name = 'Org org_b'"), 1);
}

TEST_F(TenantIsolation, WithoutATenantNothingIsVisible) {
  pqxx::work t(*worker_);
  for (const auto& table : TenantTables())
    EXPECT_EQ(t.exec1("SELECT count(*) FROM " + t.quote_name(table))[0].as<long>(), 0) << table;
  EXPECT_EQ(t.exec1("SELECT count(*) FROM organizations")[0].as<long>(), 0);
  // The tenant of one transaction does not leak into the next.
  SetTenant(t, kOrgA);
  t.commit();
  pqxx::work next(*worker_);
  EXPECT_EQ(next.exec1("SELECT count(*) FROM automation_workflows")[0].as<long>(), 0);
}

TEST_F(TenantIsolation, BuildLogsAreAppendOnly) {
  {
    // The worker's role: no UPDATE or DELETE policy, so nothing matches.
    pqxx::work t(*worker_);
    SetTenant(t, kOrgA);
    EXPECT_EQ(t.exec0("UPDATE build_logs SET message = 'rewritten'").affected_rows(), 0u);
    EXPECT_EQ(t.exec0("DELETE FROM build_logs").affected_rows(), 0u);
    t.exec0("INSERT INTO build_logs (organization_id, order_id, stage, message) "
            "VALUES ('org_a', 'order_org_a', 'build', 'second line')");
    t.commit();
  }
  EXPECT_EQ(AdminCount("SELECT count(*) FROM build_logs WHERE organization_id = 'org_a'"), 2);
  EXPECT_EQ(AdminCount("SELECT count(*) FROM build_logs WHERE message = 'rewritten'"), 0);

  // Even a role that bypasses row-level security gets a clear error.
  for (const char* sql : {"UPDATE build_logs SET message = 'rewritten'", "DELETE FROM build_logs",
                          "TRUNCATE build_logs"}) {
    SCOPED_TRACE(sql);
    pqxx::work t(*admin_);
    try {
      t.exec0(sql);
      ADD_FAILURE() << "build_logs accepted: " << sql;
    } catch (const pqxx::sql_error& e) {
      EXPECT_THAT(e.what(), HasSubstr("build_logs is append-only"));
    }
  }
  EXPECT_EQ(AdminCount("SELECT count(*) FROM build_logs"), 3);

  // Deleting the order removes its logs (the cascade is allowed).
  {
    pqxx::work t(*worker_);
    SetTenant(t, kOrgA);
    EXPECT_EQ(t.exec0("DELETE FROM custom_agent_orders WHERE id = 'order_org_a'").affected_rows(), 1u);
    t.commit();
  }
  EXPECT_EQ(AdminCount("SELECT count(*) FROM build_logs WHERE organization_id = 'org_a'"), 0);
  EXPECT_EQ(AdminCount("SELECT count(*) FROM order_milestones WHERE organization_id = 'org_a'"), 0);
  EXPECT_EQ(AdminCount("SELECT count(*) FROM build_logs WHERE organization_id = 'org_b'"), 1);

  // So does deleting the organisation, as a superuser would.
  {
    pqxx::work t(*admin_);
    t.exec0("DELETE FROM organizations WHERE id = 'org_b'");
    t.commit();
  }
  EXPECT_EQ(AdminCount("SELECT count(*) FROM build_logs"), 0);
}

TEST_F(TenantIsolation, PublicAndSystemTemplatesAreReadableByEveryTenantButWritableByNone) {
  {
    pqxx::work t(*admin_);
    t.exec0("INSERT INTO workflow_templates (id, organization_id, name, description, category, nodes, edges) "
            "VALUES ('wft_system', NULL, 'System', 'd', 'AUTOMATION', '[]', '[]')");
    t.exec0("INSERT INTO workflow_templates (id, organization_id, name, description, category, nodes, edges, "
            "is_public) VALUES ('wft_b_public', 'org_b', 'Shared by B', 'd', 'SALES', '[]', '[]', true)");
    t.exec0("INSERT INTO agent_templates (id, organization_id, name, category, is_system) "
            "VALUES ('agt_system', NULL, 'System agent', 'RESEARCH', true)");
    t.exec0("INSERT INTO agent_templates (id, organization_id, name, category, is_public) "
            "VALUES ('agt_b_public', 'org_b', 'Shared agent by B', 'SALES', true)");
    t.commit();
  }
  for (const char* org : {kOrgA, kOrgB}) {
    SCOPED_TRACE(org);
    pqxx::work t(*worker_);
    SetTenant(t, org);
    for (const std::string table : {"workflow_templates", "agent_templates"}) {
      const std::string prefix = table == "workflow_templates" ? "wft" : "agt";
      std::set<std::string> seen;
      for (const auto& r : t.exec("SELECT id FROM " + table)) seen.insert(r[0].as<std::string>());
      const std::string own = prefix + "_" + org;
      const std::string other_private = prefix + "_" + (std::string(org) == kOrgA ? kOrgB : kOrgA);
      EXPECT_EQ(seen, (std::set<std::string>{prefix + "_system", prefix + "_b_public", own})) << table;
      EXPECT_EQ(seen.count(other_private), 0u);
    }
    t.commit();
  }

  // A may read, but neither change B's public template nor the system ones,
  // nor add a system template.
  pqxx::work t(*worker_);
  SetTenant(t, kOrgA);
  EXPECT_EQ(t.exec0("UPDATE workflow_templates SET name = 'x' WHERE id IN ('wft_system', 'wft_b_public')")
                .affected_rows(),
            0u);
  EXPECT_EQ(t.exec0("DELETE FROM agent_templates WHERE id IN ('agt_system', 'agt_b_public')").affected_rows(), 0u);
  try {
    pqxx::subtransaction s(t, "system");
    s.exec0("INSERT INTO workflow_templates (organization_id, name, description, category, nodes, edges) "
            "VALUES (NULL, 'Fake system', 'd', 'SALES', '[]', '[]')");
    ADD_FAILURE() << "a tenant created a system template";
  } catch (const pqxx::insufficient_privilege& e) {  // SQLSTATE 42501
    EXPECT_THAT(e.what(), HasSubstr("row-level security")) << e.what();
  }
  t.exec0("INSERT INTO agent_templates (organization_id, name, category, is_public) "
          "VALUES ('org_a', 'Shared agent by A', 'CONTENT', true)");
  t.commit();
  EXPECT_EQ(AdminCount("SELECT count(*) FROM workflow_templates WHERE name = 'x'"), 0);
  EXPECT_EQ(AdminCount("SELECT count(*) FROM agent_templates"), 5);
}

TEST_F(TenantIsolation, ChildRowsCannotPointAtAnotherOrganisationsParent) {
  // The denormalised organization_id must match the parent's, whatever the tenant.
  pqxx::work t(*worker_);
  SetTenant(t, kOrgA);
  try {
    t.exec0("INSERT INTO order_milestones (organization_id, order_id, name, stage) "
            "VALUES ('org_a', 'order_org_b', 'Sneaky', 'design')");
    FAIL() << "a milestone of A was attached to B's order";
  } catch (const pqxx::foreign_key_violation&) {
  }
}

}  // namespace
}  // namespace hub
