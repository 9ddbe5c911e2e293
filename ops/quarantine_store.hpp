#pragma once
// `hubworker dlq quarantine list|release`: outbox rows the producer refused
// for good (schemas/sql/0014).  Releasing moves a row back into the outbox in
// one statement (a new outbox id, its original created_at, so a relay takes
// it at once), after the operator fixed the cause (e.g. raised
// message.max.bytes).  Parameterised statements only.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <pqxx/pqxx>

namespace hub::ops {

struct QuarantinedRow {
  int16_t shard = 0;
  int64_t id = 0;
  std::string topic;
  std::string key;
  int64_t payload_bytes = 0;
  int64_t created_at_us = 0;
  int64_t quarantined_at_us = 0;
  std::string error;
};

struct QuarantineFilter {
  std::string topic;  // "" all
  std::vector<std::pair<int16_t, int64_t>> rows;  // (shard, id); empty all
};

std::vector<QuarantinedRow> ListQuarantine(pqxx::transaction_base& txn, const QuarantineFilter& f, int limit);

// Moves the selected rows back into the outbox; returns them (as they were).
std::vector<QuarantinedRow> ReleaseQuarantine(pqxx::transaction_base& txn, const QuarantineFilter& f);

}  // namespace hub::ops
