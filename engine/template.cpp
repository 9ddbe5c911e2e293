#include "engine/template.hpp"

#include <stdexcept>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>


namespace hub::engine {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

void AppendValueJson(const rapidjson::Value& v, std::string& out) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  v.Accept(w);
  out.append(buf.GetString(), buf.GetSize());
}

}  // namespace

Template Template::Compile(std::string_view text) {
  Template t;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t open = text.find("{{", pos);
    if (open == std::string_view::npos) {
      t.parts_.push_back(Part{false, std::string(text.substr(pos)), {}});
      break;
    }
    if (open > pos) t.parts_.push_back(Part{false, std::string(text.substr(pos, open - pos)), {}});
    size_t close = text.find("}}", open + 2);
    if (close == std::string_view::npos)
      throw std::invalid_argument("unterminated '{{' in template \"" + std::string(text) + "\"");
    std::string_view path = Trim(text.substr(open + 2, close - open - 2));
    if (path.empty()) throw std::invalid_argument("empty '{{}}' in template \"" + std::string(text) + "\"");
    Part p;
    p.is_path = true;
    size_t s = 0;
    while (s <= path.size()) {
      size_t dot = path.find('.', s);
      if (dot == std::string_view::npos) dot = path.size();
      if (dot == s) throw std::invalid_argument("bad path '" + std::string(path) + "' in template");
      p.segments.emplace_back(path.substr(s, dot - s));
      s = dot + 1;
    }
    t.parts_.push_back(std::move(p));
    pos = close + 2;
  }
  return t;
}

const rapidjson::Value* Template::Resolve(const TemplateContext& ctx, const std::vector<std::string>& segs) {
  const rapidjson::Value* v = nullptr;
  const std::string& root = segs[0];
  if (root == "input") v = ctx.input;
  else if (root == "output") v = ctx.output;
  else if (root == "variables" || root == "vars") v = ctx.variables;
  else if (root == "trigger") v = ctx.trigger;
  else if (root == "workflow") v = ctx.workflow;
  for (size_t i = 1; v && i < segs.size(); ++i) {
    const std::string& seg = segs[i];
    if (v->IsObject()) {
      auto it = v->FindMember(rapidjson::StringRef(seg.data(), seg.size()));
      v = it == v->MemberEnd() ? nullptr : &it->value;
    } else if (v->IsArray() && !seg.empty() && seg.find_first_not_of("0123456789") == std::string::npos) {
      size_t idx = std::stoul(seg);
      v = idx < v->Size() ? &(*v)[static_cast<rapidjson::SizeType>(idx)] : nullptr;
    } else {
      v = nullptr;
    }
  }
  return v;
}

void Template::RenderText(const TemplateContext& ctx, std::string& out) const {
  for (const auto& p : parts_) {
    if (!p.is_path) {
      out += p.text;
      continue;
    }
    const rapidjson::Value* v = Resolve(ctx, p.segments);
    if (!v || v->IsNull()) continue;
    if (v->IsString()) out.append(v->GetString(), v->GetStringLength());
    else AppendValueJson(*v, out);
  }
}

void Template::RenderValue(const TemplateContext& ctx, rapidjson::Value& out,
                           rapidjson::Document::AllocatorType& alloc) const {
  if (parts_.size() == 1 && parts_[0].is_path) {
    const rapidjson::Value* v = Resolve(ctx, parts_[0].segments);
    if (v) out.CopyFrom(*v, alloc);
    else out.SetNull();
    return;
  }
  std::string text;
  RenderText(ctx, text);
  out.SetString(text.data(), static_cast<rapidjson::SizeType>(text.size()), alloc);
}

}  // namespace hub::engine
