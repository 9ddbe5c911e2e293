#pragma once
// `condition` nodes: comparisons over template values, joined by `and` (all)
// or `or` (any).  The node's outgoing edges are chosen by their
// `sourceHandle`: "true" or "false"; the branch not taken is skipped.
//
// data: {"conditions": [{"left": "{{input.amount}}", "op": ">", "right": 100},
//                       {"left": "{{input.tags}}", "op": "contains", "right": "vip"}],
//        "combine": "and"}
// Operators: == != < <= > >= contains exists.  `left` and `right` are
// templates (a lone placeholder keeps its JSON type) or JSON literals.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>

#include "engine/template.hpp"

namespace hub::engine {

struct Comparison {
  Template left, right;
  rapidjson::Document left_literal, right_literal;  // used when the side is not a string
  bool left_is_literal = false, right_is_literal = false;
  std::string op;
};

struct ConditionConfig {
  std::vector<std::unique_ptr<Comparison>> terms;
  bool any = false;  // "or"
  // Whether a side's template starts at `root` (e.g. "nodes").
  bool RefersTo(std::string_view root) const {
    for (const auto& t : terms)
      if ((!t->left_is_literal && t->left.RefersTo(root)) || (!t->right_is_literal && t->right.RefersTo(root)))
        return true;
    return false;
  }
};

// Throws std::invalid_argument naming the node and the field.
std::shared_ptr<const ConditionConfig> CompileCondition(const std::string& node_id, const rapidjson::Value& data);
// Throws ExecutionError for values that cannot be compared (a string with a number, ...).
bool EvaluateCondition(const ConditionConfig& c, const TemplateContext& ctx);

}  // namespace hub::engine
