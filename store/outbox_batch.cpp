#include "store/outbox_batch.hpp"

#include <stdexcept>

#include "common/outbox_shard.hpp"
#include "store/statements.hpp"

namespace hub::store {

uint32_t OutboxBatch::Append(std::string_view s) {
  const auto at = static_cast<uint32_t>(pending_.bytes.size());
  pending_.bytes.append(s);
  return at;
}

void OutboxBatch::Add(std::string_view topic, std::string_view key, std::string_view payload,
                      std::string_view headers_json) {
  OutboxRow r;
  r.shard = common::OutboxShard(key);
  r.topic_at = Append(topic);
  r.topic_len = static_cast<uint32_t>(topic.size());
  r.key_at = Append(key);
  r.key_len = static_cast<uint32_t>(key.size());
  r.payload_at = Append(payload);
  r.payload_len = static_cast<uint32_t>(payload.size());
  r.headers_at = Append(headers_json);
  r.headers_len = static_cast<uint32_t>(headers_json.size());
  pending_.rows.push_back(r);
  shard_.AddInt(r.shard);
  topic_.Add(topic);
  key_.Add(key);
  payload_.Add(payload);
  headers_.Add(headers_json);
}

void OutboxBatch::Flush(pqxx::transaction_base& txn, bool notify) {
  if (pending_.rows.empty()) return;
  // RETURNING yields the rows in the order INSERT ... SELECT FROM unnest()
  // inserted them, which is the arrays' order.
  pqxx::result ids =
      txn.exec_prepared(sql::kInsertOutbox, shard_.param(), topic_.param(), key_.param(), payload_.param(), headers_.param());
  if (ids.size() != pending_.rows.size())
    throw std::logic_error("outbox INSERT returned " + std::to_string(ids.size()) + " keys for " +
                           std::to_string(pending_.rows.size()) + " rows");
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i][0].as<int>() != pending_.rows[i].shard)
      throw std::logic_error("outbox INSERT returned its keys out of order");
    pending_.rows[i].id = ids[i][1].as<int64_t>();
  }
  if (notify) txn.exec_prepared(sql::kNotifyOutbox);
  shard_.Clear();
  topic_.Clear();
  key_.Clear();
  payload_.Clear();
  headers_.Clear();
}

CommittedOutbox OutboxBatch::TakeCommitted() {
  CommittedOutbox out = std::move(pending_);
  pending_ = CommittedOutbox{};
  return out;
}

void OutboxBatch::Clear() {
  shard_.Clear();
  topic_.Clear();
  key_.Clear();
  payload_.Clear();
  headers_.Clear();
  pending_.bytes.clear();
  pending_.rows.clear();
}

}  // namespace hub::store
