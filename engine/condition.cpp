#include "engine/condition.hpp"

#include <stdexcept>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace hub::engine {
namespace {

const char* kOps[] = {"==", "!=", "<", "<=", ">", ">=", "contains", "exists"};

void CompileSide(const rapidjson::Value& v, Template& tmpl, rapidjson::Document& literal, bool& is_literal) {
  if (v.IsString()) {
    tmpl = Template::Compile({v.GetString(), v.GetStringLength()});
    is_literal = false;
  } else {
    literal.CopyFrom(v, literal.GetAllocator());
    is_literal = true;
  }
}

const char* Kind(const rapidjson::Value& v) {
  if (v.IsNull()) return "null";
  if (v.IsBool()) return "boolean";
  if (v.IsNumber()) return "number";
  if (v.IsString()) return "string";
  if (v.IsArray()) return "array";
  return "object";
}

std::string Short(const rapidjson::Value& v) {
  rapidjson::StringBuffer b;
  rapidjson::Writer<rapidjson::StringBuffer> w(b);
  v.Accept(w);
  return Excerpt({b.GetString(), b.GetSize()}, 40);
}

bool Compare(const rapidjson::Value& l, const std::string& op, const rapidjson::Value& r) {
  if (op == "exists") return !l.IsNull();
  if (op == "==") return l == r;
  if (op == "!=") return !(l == r);
  if (op == "contains") {
    if (l.IsString() && r.IsString())
      return std::string_view(l.GetString(), l.GetStringLength()).find(std::string_view(r.GetString(), r.GetStringLength())) !=
             std::string_view::npos;
    if (l.IsArray()) {
      for (const auto& e : l.GetArray())
        if (e == r) return true;
      return false;
    }
    throw ExecutionError("cannot look for " + Short(r) + " in a " + Kind(l) + " (contains needs a string or an array)");
  }
  int cmp = 0;
  if (l.IsNumber() && r.IsNumber()) {
    const double a = l.GetDouble(), b = r.GetDouble();
    cmp = a < b ? -1 : (a > b ? 1 : 0);
  } else if (l.IsString() && r.IsString()) {
    cmp = std::string_view(l.GetString(), l.GetStringLength()).compare(std::string_view(r.GetString(), r.GetStringLength()));
  } else {
    throw ExecutionError(std::string("cannot order a ") + Kind(l) + " (" + Short(l) + ") against a " + Kind(r) + " (" +
                         Short(r) + ")");
  }
  if (op == "<") return cmp < 0;
  if (op == "<=") return cmp <= 0;
  if (op == ">") return cmp > 0;
  return cmp >= 0;
}

}  // namespace

std::shared_ptr<const ConditionConfig> CompileCondition(const std::string& node_id, const rapidjson::Value& data) {
  auto cfg = std::make_shared<ConditionConfig>();
  const std::string where = "condition node '" + node_id + "': ";
  auto terms = data.FindMember("conditions");
  if (terms == data.MemberEnd() || !terms->value.IsArray() || terms->value.Empty())
    throw std::invalid_argument(where + "data.conditions must be a non-empty array");
  for (const auto& t : terms->value.GetArray()) {
    if (!t.IsObject()) throw std::invalid_argument(where + "each condition must be an object");
    auto c = std::make_unique<Comparison>();
    auto op = t.FindMember("op");
    if (op == t.MemberEnd() || !op->value.IsString()) throw std::invalid_argument(where + "a condition has no op");
    c->op = std::string(op->value.GetString(), op->value.GetStringLength());
    bool known = false;
    for (const char* k : kOps) known = known || c->op == k;
    if (!known)
      throw std::invalid_argument(where + "op '" + c->op + "' is not one of == != < <= > >= contains exists");
    auto left = t.FindMember("left");
    if (left == t.MemberEnd()) throw std::invalid_argument(where + "a condition has no left side");
    CompileSide(left->value, c->left, c->left_literal, c->left_is_literal);
    auto right = t.FindMember("right");
    if (right != t.MemberEnd()) CompileSide(right->value, c->right, c->right_literal, c->right_is_literal);
    else if (c->op != "exists") throw std::invalid_argument(where + "op '" + c->op + "' needs a right side");
    else c->right_is_literal = true;  // null
    cfg->terms.push_back(std::move(c));
  }
  auto combine = data.FindMember("combine");
  if (combine != data.MemberEnd()) {
    const std::string v = combine->value.IsString() ? combine->value.GetString() : "";
    if (v != "and" && v != "or") throw std::invalid_argument(where + "data.combine must be \"and\" or \"or\"");
    cfg->any = v == "or";
  }
  return cfg;
}

bool EvaluateCondition(const ConditionConfig& c, const TemplateContext& ctx) {
  rapidjson::Document scratch;
  auto& alloc = scratch.GetAllocator();
  for (const auto& t : c.terms) {
    rapidjson::Value l, r;
    if (t->left_is_literal) l.CopyFrom(t->left_literal, alloc);
    else t->left.RenderValue(ctx, l, alloc);
    if (t->right_is_literal) r.CopyFrom(t->right_literal, alloc);
    else t->right.RenderValue(ctx, r, alloc);
    const bool holds = Compare(l, t->op, r);
    if (c.any && holds) return true;
    if (!c.any && !holds) return false;
  }
  return !c.any;
}

}  // namespace hub::engine
