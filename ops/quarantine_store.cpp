#include "ops/quarantine_store.hpp"

#include "store/pg_array.hpp"

namespace hub::ops {
namespace {

// $1 topic ('' all), $2 shards, $3 ids (empty arrays: all).
constexpr const char* kSelected =
    "($1 = '' OR q.topic = $1) AND (cardinality($3::bigint[]) = 0 OR (q.shard, q.id) IN"
    " (SELECT * FROM unnest($2::smallint[], $3::bigint[])))";

constexpr const char* kColumns =
    "q.shard, q.id, q.topic, q.kafka_key, octet_length(q.payload),"
    " (extract(epoch FROM q.created_at) * 1000000)::bigint,"
    " (extract(epoch FROM q.quarantined_at) * 1000000)::bigint, q.error";

std::vector<QuarantinedRow> Rows(const pqxx::result& rows) {
  std::vector<QuarantinedRow> out;
  for (const auto& r : rows) {
    QuarantinedRow q;
    q.shard = r[0].as<int16_t>();
    q.id = r[1].as<int64_t>();
    q.topic = r[2].as<std::string>();
    q.key = r[3].as<std::string>();
    q.payload_bytes = r[4].as<int64_t>();
    q.created_at_us = r[5].as<int64_t>();
    q.quarantined_at_us = r[6].as<int64_t>();
    q.error = r[7].as<std::string>();
    out.push_back(std::move(q));
  }
  return out;
}

}  // namespace

std::vector<QuarantinedRow> ListQuarantine(pqxx::transaction_base& txn, const QuarantineFilter& f, int limit) {
  store::PgArray shards(store::PgElement::kInt2), ids(store::PgElement::kInt8);
  for (const auto& [s, i] : f.rows) {
    shards.AddInt(s);
    ids.AddInt(i);
  }
  return Rows(txn.exec_params(std::string("SELECT ") + kColumns + " FROM outbox_quarantine q WHERE " + kSelected +
                                  " ORDER BY q.quarantined_at, q.shard, q.id LIMIT $4",
                              f.topic, shards.param(), ids.param(), limit));
}

std::vector<QuarantinedRow> ReleaseQuarantine(pqxx::transaction_base& txn, const QuarantineFilter& f) {
  store::PgArray shards(store::PgElement::kInt2), ids(store::PgElement::kInt8);
  for (const auto& [s, i] : f.rows) {
    shards.AddInt(s);
    ids.AddInt(i);
  }
  const pqxx::result rows = txn.exec_params(
      std::string("WITH released AS (DELETE FROM outbox_quarantine q WHERE ") + kSelected +
          " RETURNING q.*),"
          " back AS (INSERT INTO outbox (shard, topic, kafka_key, payload, headers, created_at)"
          "   SELECT shard, topic, kafka_key, payload, headers, created_at FROM released)"
          " SELECT " + kColumns + " FROM released q ORDER BY q.shard, q.id",
      f.topic, shards.param(), ids.param());
  // The relays wait for rows on this channel (outbox/rows).
  txn.exec("NOTIFY hub_outbox");
  return Rows(rows);
}

}  // namespace hub::ops
