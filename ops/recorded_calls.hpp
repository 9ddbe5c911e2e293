#pragma once
// The recorded answers of an execution's outside calls
// (execution_call_results, schemas/sql/0020): what replay uses instead of
// calling again.  Keyed by (node, call index): an http_request node makes one
// call (index 0); an agent node's model and tool calls are numbered in the
// order it made them, so they plug in under the same key.
#include <map>
#include <string>
#include <utility>

#include <pqxx/pqxx>

namespace hub::ops {

struct RecordedCall {
  std::string kind;         // "http_request" (later "model", "tool")
  std::string output_json;  // the node's output; "" when the call failed
  std::string error;        // why it failed for good; "" when it answered
  int attempts = 1;
};

class RecordedCalls {
 public:
  void Add(std::string node_id, int call_index, RecordedCall call) {
    calls_[{std::move(node_id), call_index}] = std::move(call);
  }
  // Null: not recorded (the execution never got that far, or ran before
  // results were recorded).
  const RecordedCall* Find(const std::string& node_id, int call_index = 0) const {
    auto it = calls_.find({node_id, call_index});
    return it == calls_.end() ? nullptr : &it->second;
  }
  size_t size() const { return calls_.size(); }

 private:
  std::map<std::pair<std::string, int>, RecordedCall> calls_;
};

// Under the tenant of the transaction: the recorded calls of `execution_id`.
RecordedCalls LoadRecordedCalls(pqxx::transaction_base& txn, const std::string& execution_id);

}  // namespace hub::ops
