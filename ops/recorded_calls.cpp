#include "ops/recorded_calls.hpp"

namespace hub::ops {

RecordedCalls LoadRecordedCalls(pqxx::transaction_base& txn, const std::string& execution_id) {
  RecordedCalls out;
  const pqxx::result rows = txn.exec_params(
      "SELECT node_id, call_index, kind, coalesce(output::text, ''), coalesce(error, ''), attempts"
      " FROM execution_call_results WHERE execution_id = $1",
      execution_id);
  for (const auto& r : rows) {
    RecordedCall c;
    c.kind = r[2].as<std::string>();
    c.output_json = r[3].as<std::string>();
    c.error = r[4].as<std::string>();
    c.attempts = r[5].as<int>();
    out.Add(r[0].as<std::string>(), r[1].as<int>(), std::move(c));
  }
  return out;
}

}  // namespace hub::ops
