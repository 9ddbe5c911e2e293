#include "outbox/delivered_rows.hpp"

#include <algorithm>

#include "store/pg_array.hpp"

namespace hub::outbox {
namespace {

constexpr const char* kDeleteDelivered = "hub_outbox_delete_delivered";

}  // namespace

void PrepareDeleteDelivered(pqxx::connection& conn) { conn.prepare(kDeleteDelivered, kDeleteDeliveredSql); }

void DeliveredRows::DeleteFrom(pqxx::connection& conn) {
  if (rows_.empty()) return;
  // In key order: the probes walk the key's index in order.  (The lock order
  // of overlapping deletes is the ctid order: kDeleteDeliveredSql.)
  std::sort(rows_.begin(), rows_.end());
  store::PgArray shards(store::PgElement::kInt2), ids(store::PgElement::kInt8);
  for (const auto& [shard, id] : rows_) {
    shards.AddInt(shard);
    ids.AddInt(id);
  }
  pqxx::nontransaction tx(conn);
  tx.exec_prepared(kDeleteDelivered, shards.param(), ids.param());
  rows_.clear();
}

}  // namespace hub::outbox
