// The DELETE of published outbox rows (kDeleteDeliveredSql) must probe the
// outbox's key once per row whatever the statistics say.  The statistics that
// broke the earlier statement: a VACUUM that saw the outbox momentarily empty
// (reltuples 0 over many pages) while rows keep arriving.  Real PostgreSQL,
// the cached generic plan the worker's prepared statement runs with.
#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <utility>
#include <vector>

#include <pqxx/pqxx>

#include "outbox/delivered_rows.hpp"
#include "store/pg_array.hpp"
#include "tests/support/pg_fixture.hpp"

namespace hub::outbox {
namespace {

// The statement before: the planner may put the outbox on the outer side.
constexpr const char* kJoinDeleteSql =
    "DELETE FROM outbox o USING unnest($1::smallint[], $2::bigint[]) AS d(shard, id)"
    " WHERE o.shard = d.shard AND o.id = d.id";

constexpr int kRows = 4000;

// The (shard, id) pairs as the two array parameters the delete takes.
std::pair<pqxx::binarystring, pqxx::binarystring> KeyParams(const std::vector<std::pair<int, int64_t>>& keys) {
  store::PgArray shards(store::PgElement::kInt2), ids(store::PgElement::kInt8);
  for (const auto& [shard, id] : keys) {
    shards.AddInt(shard);
    ids.AddInt(id);
  }
  return {shards.param(), ids.param()};
}

class OutboxDeletePlanTest : public ::testing::Test {
 protected:
  void InsertRows(pqxx::connection& c) {
    pqxx::nontransaction q(c);
    q.exec_params("INSERT INTO outbox (shard, topic, kafka_key, payload)"
                  " SELECT (i % 64)::smallint, 'hub.test', 'k' || i, repeat('x', 300) FROM generate_series(1, $1) AS i",
                  kRows);
  }

  // The keys of the outbox in key order.
  std::vector<std::pair<int, int64_t>> Keys(pqxx::connection& c) {
    pqxx::nontransaction q(c);
    std::vector<std::pair<int, int64_t>> keys;
    for (const auto& r : q.exec("SELECT shard, id FROM outbox ORDER BY shard, id"))
      keys.emplace_back(r[0].as<int>(), r[1].as<int64_t>());
    return keys;
  }

  // EXPLAIN ANALYZE of prepared statement `name` deleting `keys`, with the
  // generic plan.  (EXPLAIN EXECUTE takes no bind parameters: the arrays go as
  // quoted literals of the integers.)
  std::string ExplainDelete(pqxx::connection& c, const std::string& name,
                            const std::vector<std::pair<int, int64_t>>& keys) {
    std::string shards = "{", ids = "{";
    for (const auto& [shard, id] : keys) {
      if (shards.size() > 1) {
        shards += ',';
        ids += ',';
      }
      shards += std::to_string(shard);
      ids += std::to_string(id);
    }
    shards += '}';
    ids += '}';
    pqxx::nontransaction q(c);
    std::string plan;
    for (const auto& r : q.exec("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) EXECUTE " + q.quote_name(name) + " (" +
                                q.quote(shards) + "::smallint[], " + q.quote(ids) + "::bigint[])"))
      plan += r[0].as<std::string>() + "\n";
    return plan;
  }

  testing::PgDatabase db_;
};

TEST_F(OutboxDeletePlanTest, ProbesTheKeyOncePerRowAfterAVacuumSawTheOutboxEmpty) {
  pqxx::connection c(db_.url());  // the worker's role
  InsertRows(c);
  {
    pqxx::nontransaction q(c);
    q.exec("DELETE FROM outbox");
    {
      pqxx::connection owner(db_.owner_url());  // only the owner may vacuum (autovacuum does, as a superuser)
      pqxx::nontransaction(owner).exec("VACUUM (TRUNCATE false) outbox");
    }
    pqxx::row stats = q.exec1("SELECT relpages, reltuples FROM pg_class WHERE relname = 'outbox'");
    ASSERT_GT(stats[0].as<int64_t>(), 0) << "premise: the outbox keeps its pages";
    ASSERT_EQ(stats[1].as<double>(), 0.0) << "premise: the statistics say it holds no row";
  }
  InsertRows(c);  // into the vacuumed pages: the statistics still say 0 rows

  {
    // As the worker's prepared statements, planned once for any arguments.
    pqxx::nontransaction q(c);
    q.exec("SET plan_cache_mode = force_generic_plan");
    q.exec(std::string("PREPARE delete_published (smallint[], bigint[]) AS ") + kDeleteDeliveredSql);
    q.exec(std::string("PREPARE join_delete (smallint[], bigint[]) AS ") + kJoinDeleteSql);
  }

  // Every other key to the new statement, the rest of the first half to the old.
  const std::vector<std::pair<int, int64_t>> keys = Keys(c);
  ASSERT_EQ(keys.size(), static_cast<size_t>(kRows));
  std::vector<std::pair<int, int64_t>> mine, old;
  for (size_t i = 0; i < keys.size(); ++i) (i % 2 ? old : mine).push_back(keys[i]);
  old.resize(500);

  const std::string plan = ExplainDelete(c, "delete_published", mine);
  EXPECT_NE(plan.find("Index Scan using outbox_pkey"), std::string::npos) << plan;
  // One probe per pair, the pairs on the outer side.
  EXPECT_TRUE(std::regex_search(plan, std::regex("Index Scan using outbox_pkey[^\n]*loops=" +
                                                 std::to_string(mine.size()) + "\\)")))
      << plan;
  EXPECT_EQ(plan.find("Join Filter"), std::string::npos) << plan;
  EXPECT_EQ(plan.find("Seq Scan"), std::string::npos) << plan;

  // What the statement replaced: with the same statistics it scans the whole
  // outbox and tests every pair against every row.
  const std::string join_plan = ExplainDelete(c, "join_delete", old);
  EXPECT_NE(join_plan.find("Rows Removed by Join Filter"), std::string::npos)
      << "premise: the plain join delete picks the quadratic plan here\n"
      << join_plan;

  // Exactly the given rows are gone.
  pqxx::nontransaction q(c);
  EXPECT_EQ(q.exec1("SELECT count(*) FROM outbox")[0].as<int64_t>(),
            static_cast<int64_t>(keys.size() - mine.size() - old.size()));
  const auto [shards, ids] = KeyParams(mine);
  EXPECT_EQ(q.exec_params1("SELECT count(*) FROM outbox o JOIN unnest($1::smallint[], $2::bigint[]) AS d(shard, id)"
                           " ON o.shard = d.shard AND o.id = d.id",
                           shards, ids)[0]
                .as<int64_t>(),
            0);
}

TEST_F(OutboxDeletePlanTest, DeletesNothingElseAndToleratesKeysThatAreGone) {
  pqxx::connection c(db_.url());
  InsertRows(c);
  c.prepare("delete_published", kDeleteDeliveredSql);
  const std::vector<std::pair<int, int64_t>> keys = Keys(c);
  std::vector<std::pair<int, int64_t>> some(keys.begin(), keys.begin() + 10);
  some.emplace_back(some.front().first, some.front().second + 1000000);  // no such row
  const auto [shards, ids] = KeyParams(some);
  pqxx::nontransaction q(c);
  EXPECT_EQ(q.exec_prepared("delete_published", shards, ids).affected_rows(), 10u);
  EXPECT_EQ(q.exec_prepared("delete_published", shards, ids).affected_rows(), 0u);
  EXPECT_EQ(q.exec1("SELECT count(*) FROM outbox")[0].as<int64_t>(), kRows - 10);
}

}  // namespace
}  // namespace hub::outbox
