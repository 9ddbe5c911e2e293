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
// is the outbox's key (migration 0010), so one index probe per row.  Callers
// pass the pairs sorted, so that two deletes of overlapping rows (publisher
// and relay) lock them in the same order and wait instead of deadlocking.
inline constexpr const char* kDeleteOutboxRowsSql =
    "DELETE FROM outbox o USING unnest($1::smallint[], $2::bigint[]) AS d(shard, id)"
    " WHERE o.shard = d.shard AND o.id = d.id";

// `out` views the arguments and strings appended to `storage` (a deque: its
// elements never move), so all of them must outlive the produce call.
void BuildOutboxMessage(std::string_view topic, std::string_view key, std::string_view payload,
                        std::string_view headers_json, std::deque<std::string>& storage, ProducerMessage& out);

}  // namespace hub::producers
