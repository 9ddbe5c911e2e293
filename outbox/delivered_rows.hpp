#pragma once
// Outbox rows the broker acknowledged, to delete: the one way both the
// publisher (rows published from memory) and the relay (rows read back)
// remove what they delivered.  A row that is not deleted is published again
// by the relay later: a duplicate, which consumers drop, never a loss.
#include <cstdint>
#include <utility>
#include <vector>

#include <pqxx/pqxx>

namespace hub::outbox {

// The delete: $1 shards and $2 ids, pairwise.  (shard, id)
// is the outbox's key (migration 0010), and the statement is written so that
// its plan is one key probe per pair whatever the table's statistics say:
//  * The pairs are the outer side of a LATERAL whose `LIMIT 1` keeps the
//    planner from flattening it into a join it may reorder.  The plain
//    `DELETE ... USING unnest(...)` joined the other way round after a VACUUM
//    had seen the outbox momentarily empty (reltuples 0): the whole outbox as
//    the outer side, every pair tested per row.  2,000 pairs against 18,000
//    rows took 6.2 s instead of 8 ms, the publisher fell behind its grace
//    period, and the relay published the rows a second time (the rare
//    ~1,900 events/s benchmark runs; PERFORMANCE.md).  With fresh statistics
//    it chose a hash join over a sequential scan of the whole outbox instead.
//  * The rows found are deleted by ctid, a TID scan that PostgreSQL sorts, so
//    two deletes of overlapping rows (publisher and relay) lock them in the
//    same order and wait instead of deadlocking.  A row deleted meanwhile by
//    the other is skipped; its ctid cannot be reused while this statement's
//    snapshot still sees it.
inline constexpr const char* kDeleteDeliveredSql =
    "DELETE FROM outbox WHERE ctid = ANY (ARRAY("
    "SELECT o.ctid FROM unnest($1::smallint[], $2::bigint[]) AS d(shard, id)"
    " CROSS JOIN LATERAL (SELECT ctid FROM outbox WHERE outbox.shard = d.shard AND outbox.id = d.id LIMIT 1) AS o))";



// Prepares the delete statement on `conn` (once per connection).
void PrepareDeleteDelivered(pqxx::connection& conn);

class DeliveredRows {
 public:
  void Add(int shard, int64_t id) { rows_.emplace_back(shard, id); }
  bool empty() const { return rows_.empty(); }
  size_t size() const { return rows_.size(); }
  void Clear() { rows_.clear(); }
  // Deletes every row in one statement outside any transaction, then
  // forgets them.  Throws (keeping them) when the statement fails.
  void DeleteFrom(pqxx::connection& conn);

 private:
  std::vector<std::pair<int, int64_t>> rows_;  // (shard, id)
};

}  // namespace hub::outbox
