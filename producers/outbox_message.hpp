#pragma once
// One outbox row -> one Kafka message, the same way for the relay (rows read
// back from the table) and the publisher (rows kept in memory after COMMIT):
// structured CloudEvents content type, plus the row's own headers (a JSON
// object of name -> value; a row's own content-type wins).
#include <deque>
#include <string>
#include <string_view>

#include "producers/kafka_producer.hpp"

namespace hub::producers {

// Deletes published outbox rows: $1 shards and $2 ids, pairwise.  (shard, id)
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
inline constexpr const char* kDeleteOutboxRowsSql =
    "DELETE FROM outbox WHERE ctid = ANY (ARRAY("
    "SELECT o.ctid FROM unnest($1::smallint[], $2::bigint[]) AS d(shard, id)"
    " CROSS JOIN LATERAL (SELECT ctid FROM outbox WHERE outbox.shard = d.shard AND outbox.id = d.id LIMIT 1) AS o))";

// `out` views the arguments and strings appended to `storage` (a deque: its
// elements never move), so all of them must outlive the produce call.
void BuildOutboxMessage(std::string_view topic, std::string_view key, std::string_view payload,
                        std::string_view headers_json, std::deque<std::string>& storage, ProducerMessage& out);

}  // namespace hub::producers
