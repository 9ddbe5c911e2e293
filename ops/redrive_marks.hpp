#pragma once
// Which dead letters were redriven (schemas/sql/0019): a letter is marked in
// the same transaction that commits after its re-published event was
// acknowledged, so it is never redriven twice and a failed publish leaves no
// mark.  Parameterised statements only.
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <pqxx/pqxx>

namespace hub::ops {

struct RedriveMark {
  int32_t partition = 0;
  int64_t offset = 0;
  std::string source_topic;
  std::string error_class;
  std::string redriven_to;  // "<partition>:<offset>"
  int64_t redriven_at_us = 0;
};

// (partition, offset) -> when and where it was redriven, for `topic`.
std::map<std::pair<int32_t, int64_t>, RedriveMark> LoadRedriveMarks(pqxx::transaction_base& txn,
                                                                     const std::string& topic);

// Inserts the marks; a letter already marked (a concurrent redrive) is
// skipped.  Returns the (partition, offset) pairs this call marked.
std::vector<std::pair<int32_t, int64_t>> InsertRedriveMarks(pqxx::transaction_base& txn, const std::string& topic,
                                                            const std::vector<RedriveMark>& marks);

}  // namespace hub::ops
