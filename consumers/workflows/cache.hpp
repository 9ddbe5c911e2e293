#pragma once
// Compiled workflow definitions by (organisation, workflow id), loaded under
// the transaction's tenant and compiled again only when the row changed.
// Bounded by the definitions' size, so large definitions cannot make it hold
// gigabytes.  Confined to one thread (a lane's handler, a step runner).
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include <pqxx/pqxx>

#include "engine/workflow.hpp"

namespace hub::workflows {

class WorkflowCache {
 public:
  // Fills the value of each key of `wanted` that names a workflow visible in
  // `org` (row-level security: another tenant's workflow is not found).
  void Load(pqxx::transaction_base& txn, const std::string& org,
            std::map<std::string_view, std::shared_ptr<const engine::CompiledWorkflow>>& wanted);

 private:
  struct Entry {
    size_t fingerprint = 0;
    std::shared_ptr<const engine::CompiledWorkflow> compiled;
  };
  std::unordered_map<std::string, Entry> cache_;
  size_t bytes_ = 0;
};

}  // namespace hub::workflows
