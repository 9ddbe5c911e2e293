#include "store/outbox_batch.hpp"

#include "common/outbox_shard.hpp"
#include "store/statements.hpp"

namespace hub::store {

void OutboxBatch::Add(std::string_view topic, std::string_view key, std::string_view payload,
                      std::string_view headers_json) {
  shard_.AddInt(common::OutboxShard(key));
  topic_.Add(topic);
  key_.Add(key);
  payload_.Add(payload);
  headers_.Add(headers_json);
  ++count_;
}

void OutboxBatch::Flush(pqxx::transaction_base& txn) {
  if (count_ == 0) return;
  txn.exec_prepared(sql::kInsertOutbox, shard_.str(), topic_.str(), key_.str(), payload_.str(), headers_.str());
  txn.exec_prepared(sql::kNotifyOutbox);
  Clear();
}

void OutboxBatch::Clear() {
  shard_.Clear();
  topic_.Clear();
  key_.Clear();
  payload_.Clear();
  headers_.Clear();
  count_ = 0;
}

}  // namespace hub::store
