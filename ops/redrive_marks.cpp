#include "ops/redrive_marks.hpp"

#include "common/ids.hpp"
#include "store/pg_array.hpp"

namespace hub::ops {

std::map<std::pair<int32_t, int64_t>, RedriveMark> LoadRedriveMarks(pqxx::transaction_base& txn,
                                                                     const std::string& topic) {
  std::map<std::pair<int32_t, int64_t>, RedriveMark> out;
  const pqxx::result rows = txn.exec_params(
      "SELECT kafka_partition, kafka_offset, source_topic, error_class, redriven_to,"
      " (extract(epoch FROM redriven_at) * 1000000)::bigint FROM dead_letter_redrives WHERE topic = $1",
      topic);
  for (const auto& r : rows) {
    RedriveMark m;
    m.partition = r[0].as<int32_t>();
    m.offset = r[1].as<int64_t>();
    m.source_topic = r[2].as<std::string>();
    m.error_class = r[3].as<std::string>();
    m.redriven_to = r[4].as<std::string>();
    m.redriven_at_us = r[5].as<int64_t>();
    out[{m.partition, m.offset}] = m;
  }
  return out;
}

std::vector<std::pair<int32_t, int64_t>> InsertRedriveMarks(pqxx::transaction_base& txn, const std::string& topic,
                                                            const std::vector<RedriveMark>& marks) {
  std::vector<std::pair<int32_t, int64_t>> out;
  if (marks.empty()) return out;
  store::PgArray p(store::PgElement::kInt4), o(store::PgElement::kInt8), st(store::PgElement::kText),
      cls(store::PgElement::kText), to(store::PgElement::kText), at(store::PgElement::kTimestamptz);
  for (const auto& m : marks) {
    p.AddInt(m.partition);
    o.AddInt(m.offset);
    st.Add(m.source_topic);
    cls.Add(m.error_class);
    to.Add(m.redriven_to);
    at.AddTimestamp(m.redriven_at_us);
  }
  const pqxx::result rows = txn.exec_params(
      "INSERT INTO dead_letter_redrives (topic, kafka_partition, kafka_offset, source_topic, error_class,"
      " redriven_to, redriven_at)"
      " SELECT $1, * FROM unnest($2::int[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::timestamptz[])"
      " ON CONFLICT DO NOTHING RETURNING kafka_partition, kafka_offset",
      topic, p.param(), o.param(), st.param(), cls.param(), to.param(), at.param());
  for (const auto& r : rows) out.emplace_back(r[0].as<int32_t>(), r[1].as<int64_t>());
  return out;
}

}  // namespace hub::ops
