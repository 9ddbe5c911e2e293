// The cheaper keys of migration 0010 keep the guarantees of the ones they
// replaced: processed_events dedupes exactly on (organization, source,
// event_id) (migration 0015 added the organisation), and
// notifications.user_id still behaves like the seed's foreign key to users
// (checked per statement instead of per row).
#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include "store/connection.hpp"
#include "tests/support/pg_fixture.hpp"
#include "worker/seed.hpp"

namespace hub {
namespace {

int64_t Scalar(const std::string& url, const std::string& sql) {
  pqxx::connection c(url);
  pqxx::nontransaction q(c);
  return q.exec1(sql)[0].as<int64_t>();
}

int InsertProcessed(pqxx::connection& c, const std::string& source, const std::string& id,
                    const std::string& org = "org_a") {
  pqxx::work t(c);
  auto r = t.exec_params(
      "INSERT INTO processed_events (organization_id, source, event_id, topic, kafka_partition, kafka_offset) "
      "VALUES ($1, $2, $3, 't', 0, 0) ON CONFLICT DO NOTHING RETURNING source, event_id",
      org, source, id);
  t.commit();
  return static_cast<int>(r.size());
}

TEST(ProcessedEventsKey, DedupesExactlyOnSourceAndId) {
  testing::PgDatabase db;
  pqxx::connection c(db.url());
  EXPECT_EQ(InsertProcessed(c, "urn:a", "1"), 1);
  EXPECT_EQ(InsertProcessed(c, "urn:a", "1"), 0);  // the same identity: once
  EXPECT_EQ(InsertProcessed(c, "urn:b", "1"), 1);  // same id, other source
  EXPECT_EQ(InsertProcessed(c, "urn:a", "2"), 1);
  // Concatenations that agree are still different identities.
  EXPECT_EQ(InsertProcessed(c, "ab", "c"), 1);
  EXPECT_EQ(InsertProcessed(c, "a", "bc"), 1);
  EXPECT_EQ(InsertProcessed(c, "a1:", "x"), 1);
  EXPECT_EQ(InsertProcessed(c, "a", "1:x"), 1);
  EXPECT_EQ(Scalar(db.url(), "SELECT count(*) FROM processed_events"), 7);
}

// One tenant's event cannot shadow another tenant's event of the same
// identity (source, id).
TEST(ProcessedEventsKey, IdentityIsScopedByOrganization) {
  testing::PgDatabase db;
  pqxx::connection c(db.url());
  EXPECT_EQ(InsertProcessed(c, "urn:a", "1", "org_a"), 1);
  EXPECT_EQ(InsertProcessed(c, "urn:a", "1", "org_b"), 1);
  EXPECT_EQ(InsertProcessed(c, "urn:a", "1", "org_a"), 0);
  EXPECT_EQ(InsertProcessed(c, "a", "1", "org_"), 1);
  EXPECT_EQ(InsertProcessed(c, "1:a", "1", "org"), 1);  // concatenations that agree stay apart
}

class NotificationUser : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* org : {"org_a", "org_b"}) {
      worker::SeedOptions o;
      o.organization_id = org;
      o.user_id = std::string("user_") + org;
      o.workflows = 0;
      worker::SeedOrganization(db_.owner_url(), o);
    }
  }

  // Inserts notifications for `users` in one statement as tenant `org`; returns
  // the error text, empty on success.
  std::string Insert(const std::string& org, const std::vector<std::string>& users) {
    pqxx::connection c(db_.url());
    try {
      pqxx::work t(c);
      store::SetTenant(t, org);
      std::string ids = "{", who = "{";
      for (size_t i = 0; i < users.size(); ++i) {
        ids += (i ? "," : "") + std::string("n_") + std::to_string(next_++);
        who += (i ? "," : "") + users[i];
      }
      t.exec_params(
          "INSERT INTO notifications (id, organization_id, user_id, title, message) "
          "SELECT i, $3, u, 't', 'm' FROM unnest($1::text[], $2::text[]) AS x(i, u)",
          ids + "}", who + "}", org);
      t.commit();
      return "";
    } catch (const pqxx::foreign_key_violation& e) {
      return e.what();
    }
  }

  int64_t Notifications(const std::string& user) {
    return Scalar(db_.admin_url(), "SELECT count(*) FROM notifications WHERE user_id = '" + user + "'");
  }

  testing::PgDatabase db_;
  int next_ = 0;
};

TEST_F(NotificationUser, AcceptsExistingUsersOfTheOrganisation) {
  EXPECT_EQ(Insert("org_a", {"user_org_a", "user_org_a", "user_org_a"}), "");
  EXPECT_EQ(Notifications("user_org_a"), 3);
}

TEST_F(NotificationUser, RefusesTheWholeStatementWhenOneUserDoesNotExist) {
  const std::string error = Insert("org_a", {"user_org_a", "user_nobody", "user_org_a"});
  EXPECT_NE(error.find("notifications_user_id_fkey"), std::string::npos) << error;
  EXPECT_NE(error.find("user_nobody"), std::string::npos) << error;
  EXPECT_EQ(Notifications("user_org_a"), 0);
}

TEST_F(NotificationUser, RefusesAUserOfAnotherOrganisation) {
  const std::string error = Insert("org_a", {"user_org_b"});
  EXPECT_NE(error.find("user_org_b"), std::string::npos) << error;
  EXPECT_EQ(Notifications("user_org_b"), 0);
}

TEST_F(NotificationUser, RefusesAnUpdateToAMissingUser) {
  ASSERT_EQ(Insert("org_a", {"user_org_a"}), "");
  pqxx::connection c(db_.owner_url());  // the platform changes users, not the worker
  pqxx::work t(c);
  store::SetTenant(t, "org_a");
  EXPECT_THROW(t.exec("UPDATE notifications SET user_id = 'user_nobody'"), pqxx::foreign_key_violation);
}

TEST_F(NotificationUser, DeletingAUserDeletesItsNotificationsOnly) {
  ASSERT_EQ(Insert("org_a", {"user_org_a", "user_org_a"}), "");
  ASSERT_EQ(Insert("org_b", {"user_org_b"}), "");
  {
    pqxx::connection c(db_.owner_url());  // the platform changes users, not the worker
    pqxx::work t(c);
    store::SetTenant(t, "org_a");
    t.exec("DELETE FROM users WHERE id = 'user_org_a'");
    t.commit();
  }
  EXPECT_EQ(Notifications("user_org_a"), 0);
  EXPECT_EQ(Notifications("user_org_b"), 1);
}

TEST_F(NotificationUser, AReferencedUserIdCannotChange) {
  ASSERT_EQ(Insert("org_a", {"user_org_a"}), "");
  pqxx::connection c(db_.owner_url());  // the platform changes users, not the worker
  pqxx::work t(c);
  store::SetTenant(t, "org_a");
  EXPECT_THROW(t.exec("UPDATE users SET id = 'user_renamed' WHERE id = 'user_org_a'"), pqxx::foreign_key_violation);
}

TEST_F(NotificationUser, AnInsertWaitsForAConcurrentDeleteOfItsUserAndThenFails) {
  // The lock the foreign key took (KEY SHARE of the user row) is still taken:
  // with the user deleted but not yet committed, the insert blocks; once the
  // delete commits, the insert fails instead of leaving an orphan.
  pqxx::connection deleter(db_.owner_url());  // the platform
  pqxx::work del(deleter);
  store::SetTenant(del, "org_a");
  del.exec("DELETE FROM users WHERE id = 'user_org_a'");
  pqxx::connection inserter(db_.url());
  pqxx::work ins(inserter);
  store::SetTenant(ins, "org_a");
  ins.exec("SET LOCAL lock_timeout = '200ms'");
  EXPECT_THROW(ins.exec("INSERT INTO notifications (id, organization_id, user_id, title, message) "
                        "VALUES ('n_race', 'org_a', 'user_org_a', 't', 'm')"),
               pqxx::sql_error);  // lock_timeout: it waited for the delete
  ins.abort();
  del.commit();
  EXPECT_NE(Insert("org_a", {"user_org_a"}), "");
}

}  // namespace
}  // namespace hub
