#pragma once
// Outgoing events collected during one transaction and written to the outbox
// with a single multi-row INSERT just before COMMIT, followed by NOTIFY so the
// relays wake up.  Confined to the lane thread that owns the transaction.
#include <string>
#include <string_view>

#include <pqxx/pqxx>

#include "store/pg_array.hpp"

namespace hub::store {

class OutboxBatch {
 public:
  // `headers_json` is a JSON object of extra Kafka headers ({} for none).
  void Add(std::string_view topic, std::string_view key, std::string_view payload,
           std::string_view headers_json = "{}");
  size_t size() const { return count_; }
  // INSERT + pg_notify inside `txn`; clears the batch.  No-op when empty.
  void Flush(pqxx::transaction_base& txn);
  void Clear();

 private:
  PgArray shard_, topic_, key_, payload_, headers_;
  size_t count_ = 0;
};

}  // namespace hub::store
