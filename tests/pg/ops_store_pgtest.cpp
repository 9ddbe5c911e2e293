// The database side of `hubworker dlq`: quarantined outbox rows are listed
// and released back into the outbox, and redrive marks are claimed once.
#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include "ops/quarantine_store.hpp"
#include "ops/redrive_marks.hpp"
#include "tests/support/pg_fixture.hpp"

namespace hub::ops {
namespace {

void Quarantine(pqxx::connection& c, int shard, int64_t id, const std::string& topic, const std::string& key) {
  pqxx::work t(c);
  t.exec_params("INSERT INTO outbox_quarantine (id, shard, topic, kafka_key, payload, headers, created_at, error)"
                " VALUES ($1, $2, $3, $4, $5, '{\"traceparent\":\"00-x\"}', '2026-12-01T10:00:00Z', 'too large')",
                id, shard, topic, key, "{\"id\":\"" + key + "\"}");
  t.commit();
}

TEST(QuarantineStoreTest, ListsAndReleasesSelectedRowsBackIntoTheOutbox) {
  testing::PgDatabase db;
  pqxx::connection c(db.url());
  Quarantine(c, 3, 10, "hub.workflow.completed", "wf_1");
  Quarantine(c, 5, 11, "hub.workflow.completed", "wf_2");
  Quarantine(c, 7, 12, "hub.order.completed", "order_1");
  {
    pqxx::work t(c);
    EXPECT_EQ(ListQuarantine(t, {}, 100).size(), 3u);
    QuarantineFilter by_topic;
    by_topic.topic = "hub.order.completed";
    auto rows = ListQuarantine(t, by_topic, 100);
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].key, "order_1");
    EXPECT_EQ(rows[0].error, "too large");
    EXPECT_EQ(rows[0].payload_bytes, 16);  // {"id":"order_1"}
    EXPECT_EQ(ListQuarantine(t, {}, 2).size(), 2u);
  }
  {
    pqxx::work t(c);
    QuarantineFilter one;
    one.rows = {{5, 11}};
    auto released = ReleaseQuarantine(t, one);
    t.commit();
    ASSERT_EQ(released.size(), 1u);
    EXPECT_EQ(released[0].key, "wf_2");
  }
  pqxx::nontransaction q(c);
  auto back = q.exec("SELECT shard, topic, kafka_key, payload, headers->>'traceparent', created_at = "
                     "'2026-12-01T10:00:00Z' FROM outbox");
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0][0].as<int>(), 5);
  EXPECT_EQ(back[0][2].as<std::string>(), "wf_2");
  EXPECT_EQ(back[0][3].as<std::string>(), "{\"id\":\"wf_2\"}");
  EXPECT_EQ(back[0][4].as<std::string>(), "00-x");
  EXPECT_TRUE(back[0][5].as<bool>());  // the relays take it at once
  EXPECT_EQ(q.exec("SELECT count(*) FROM outbox_quarantine")[0][0].as<int>(), 2);
}

TEST(QuarantineStoreTest, ReleaseByTopicLeavesOtherTopicsQuarantined) {
  testing::PgDatabase db;
  pqxx::connection c(db.url());
  Quarantine(c, 3, 10, "hub.workflow.completed", "wf_1");
  Quarantine(c, 7, 12, "hub.order.completed", "order_1");
  pqxx::work t(c);
  QuarantineFilter f;
  f.topic = "hub.workflow.completed";
  EXPECT_EQ(ReleaseQuarantine(t, f).size(), 1u);
  EXPECT_EQ(t.exec("SELECT kafka_key FROM outbox_quarantine")[0][0].as<std::string>(), "order_1");
  EXPECT_EQ(t.exec("SELECT kafka_key FROM outbox")[0][0].as<std::string>(), "wf_1");
}

TEST(RedriveMarksTest, ALetterIsMarkedOnceAndMarksAreReadBack) {
  testing::PgDatabase db;
  pqxx::connection c(db.url());
  RedriveMark m;
  m.partition = 2;
  m.offset = 40;
  m.source_topic = "hub.workflow.triggered";
  m.error_class = "not_found";
  m.redriven_to = "7:100";
  m.redriven_at_us = 1'764'842'400'000'000;
  {
    pqxx::work t(c);
    auto first = InsertRedriveMarks(t, "hub.deadletter", {m});
    EXPECT_EQ(first.size(), 1u);
    t.commit();
  }
  pqxx::work t(c);
  RedriveMark other = m;
  other.offset = 41;
  auto second = InsertRedriveMarks(t, "hub.deadletter", {m, other});
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0], std::make_pair(int32_t{2}, int64_t{41}));
  auto marks = LoadRedriveMarks(t, "hub.deadletter");
  ASSERT_EQ(marks.size(), 2u);
  EXPECT_EQ(marks.at({2, 40}).redriven_to, "7:100");
  EXPECT_EQ(marks.at({2, 40}).redriven_at_us, 1'764'842'400'000'000);
  EXPECT_TRUE(LoadRedriveMarks(t, "other.deadletter").empty());
}

}  // namespace
}  // namespace hub::ops
