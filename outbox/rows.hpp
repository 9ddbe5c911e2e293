#pragma once
// Outgoing events collected during one transaction and written to the outbox
// with a single multi-row INSERT just before COMMIT.  The batch also keeps the
// events' bytes and, after the INSERT, their outbox keys (shard, id), so that
// once the transaction has committed they can be published straight from
// memory (outbox::OutboxPublisher) instead of being read back by the relay.
// Confined to the lane thread that owns the transaction.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <pqxx/pqxx>

#include "store/pg_array.hpp"

namespace hub::outbox {

// One outbox row as committed: its key and views into CommittedOutbox::bytes.
struct OutboxRow {
  int shard = 0;
  int64_t id = 0;
  uint32_t topic_at = 0, topic_len = 0;
  uint32_t key_at = 0, key_len = 0;
  uint32_t payload_at = 0, payload_len = 0;
  uint32_t headers_at = 0, headers_len = 0;
};

// The rows of one committed transaction, in insertion order.
struct CommittedOutbox {
  std::string bytes;
  std::vector<OutboxRow> rows;
  // Log records of what the transaction finished (e.g. one line per
  // execution), formatted by the handlers and written once it committed.
  std::string log_lines;

  std::string_view topic(const OutboxRow& r) const { return {bytes.data() + r.topic_at, r.topic_len}; }
  std::string_view key(const OutboxRow& r) const { return {bytes.data() + r.key_at, r.key_len}; }
  std::string_view payload(const OutboxRow& r) const { return {bytes.data() + r.payload_at, r.payload_len}; }
  std::string_view headers(const OutboxRow& r) const { return {bytes.data() + r.headers_at, r.headers_len}; }
};

// Prepares the statements Flush() uses on a worker connection.
void PrepareStatements(pqxx::connection& conn);

class OutboxBatch {
 public:
  // `headers_json` is a JSON object of extra Kafka headers ({} for none).
  void Add(std::string_view topic, std::string_view key, std::string_view payload,
           std::string_view headers_json = "{}");
  size_t size() const { return pending_.rows.size(); }
  // Where handlers append the log records to write after the commit.
  std::string& log_lines() { return pending_.log_lines; }
  // INSERT inside `txn`, recording each row's (shard, id); with `notify`, also
  // pg_notify so that the relays wake up (when nobody publishes from memory).
  // No-op when empty.
  void Flush(pqxx::transaction_base& txn, bool notify);
  // After COMMIT: the flushed rows, leaving the batch empty.
  CommittedOutbox TakeCommitted();
  void Clear();

 private:
  uint32_t Append(std::string_view s);

  store::PgArray shard_{store::PgElement::kInt2}, topic_{store::PgElement::kText}, key_{store::PgElement::kText},
      payload_{store::PgElement::kText}, headers_{store::PgElement::kJsonb};
  CommittedOutbox pending_;
};

}  // namespace hub::outbox
