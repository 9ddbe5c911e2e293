#include "consumers/workflows/cache.hpp"

#include "store/pg_array.hpp"
#include "consumers/workflows/statements.hpp"

namespace hub::workflows {
namespace {
constexpr size_t kMaxCachedWorkflows = 20000;
constexpr size_t kMaxCachedDefinitionBytes = 64 << 20;
}  // namespace

void WorkflowCache::Load(pqxx::transaction_base& txn, const std::string& org,
                         std::map<std::string_view, std::shared_ptr<const engine::CompiledWorkflow>>& wanted) {
  store::PgArray ids(store::PgElement::kText);
  for (const auto& [id, _] : wanted) ids.Add(id);
  auto rows = txn.exec_prepared(sql::kLoadWorkflows, ids.param());
  if (cache_.size() > kMaxCachedWorkflows || bytes_ > kMaxCachedDefinitionBytes) {
    cache_.clear();
    bytes_ = 0;
  }
  for (const auto& row : rows) {
    std::string id = row[0].as<std::string>();
    std::string name = row[1].as<std::string>();
    bool active = row[2].as<bool>();
    std::string updated = row[3].is_null() ? "" : row[3].as<std::string>();
    std::string_view nodes = row[4].c_str(), edges = row[5].c_str(), vars = row[6].c_str();
    size_t fp = std::hash<std::string_view>{}(nodes) ^ (std::hash<std::string_view>{}(edges) * 31) ^
                (std::hash<std::string_view>{}(vars) * 131) ^ (std::hash<std::string>{}(name) * 1031) ^
                (active ? 0x9e3779b97f4a7c15ULL : 0);
    Entry& entry = cache_[org + '\x1f' + id];
    if (!entry.compiled || entry.fingerprint != fp) {
      entry.fingerprint = fp;
      bytes_ += nodes.size() + edges.size() + vars.size() + name.size();
      entry.compiled = engine::CompileWorkflow(id, name, org, active, updated, nodes, edges, vars);
    }
    auto w = wanted.find(id);
    if (w != wanted.end()) w->second = entry.compiled;
  }
}

}  // namespace hub::workflows
