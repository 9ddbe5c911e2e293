#include "outbox/rows.hpp"

#include <stdexcept>

#include "outbox/shard.hpp"

namespace hub::outbox {
namespace {
constexpr const char* kInsertOutbox = "hub_insert_outbox";
constexpr const char* kNotifyOutbox = "hub_notify_outbox";
}  // namespace

void PrepareStatements(pqxx::connection& conn) {
  conn.prepare(kInsertOutbox,
               "INSERT INTO outbox (shard, topic, kafka_key, payload, headers) "
               "SELECT * FROM unnest($1::smallint[], $2::text[], $3::text[], $4::text[], $5::jsonb[]) "
               "RETURNING shard, id");
  conn.prepare(kNotifyOutbox, "SELECT pg_notify('hub_outbox', '')");
}

uint32_t OutboxBatch::Append(std::string_view s) {
  const auto at = static_cast<uint32_t>(pending_.bytes.size());
  pending_.bytes.append(s);
  return at;
}

void OutboxBatch::Add(std::string_view topic, std::string_view key, std::string_view payload,
                      std::string_view headers_json) {
  OutboxRow r;
  r.shard = outbox::OutboxShard(key);
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
      txn.exec_prepared(kInsertOutbox, shard_.param(), topic_.param(), key_.param(), payload_.param(), headers_.param());
  if (ids.size() != pending_.rows.size())
    throw std::logic_error("outbox INSERT returned " + std::to_string(ids.size()) + " keys for " +
                           std::to_string(pending_.rows.size()) + " rows");
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i][0].as<int>() != pending_.rows[i].shard)
      throw std::logic_error("outbox INSERT returned its keys out of order");
    pending_.rows[i].id = ids[i][1].as<int64_t>();
  }
  if (notify) txn.exec_prepared(kNotifyOutbox);
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
  pending_.log_lines.clear();
  pending_.rows.clear();
}

}  // namespace hub::outbox
