#include "engine/template.hpp"

#include <limits>
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

// Serialized size of `v` as compact JSON, counted until it passes `stop` (the
// walk ends there: the caller only needs to know it is too large).  Strings
// are counted unescaped, which is what they occupy in memory.
size_t JsonSizeUpTo(const rapidjson::Value& v, size_t stop) {
  switch (v.GetType()) {
    case rapidjson::kNullType: return 4;
    case rapidjson::kFalseType: return 5;
    case rapidjson::kTrueType: return 4;
    case rapidjson::kNumberType: return 24;
    case rapidjson::kStringType: return v.GetStringLength() + 2;
    case rapidjson::kArrayType: {
      size_t n = 2;
      for (const auto& e : v.GetArray()) {
        n += JsonSizeUpTo(e, stop) + 1;
        if (n > stop) return n;
      }
      return n;
    }
    case rapidjson::kObjectType: {
      size_t n = 2;
      for (const auto& m : v.GetObject()) {
        n += m.name.GetStringLength() + 4 + JsonSizeUpTo(m.value, stop);
        if (n > stop) return n;
      }
      return n;
    }
  }
  return 0;
}

// Segments of up to 9 digits always fit; longer ones are checked.
void ParseIndex(std::string_view seg, uint32_t& index, bool& too_large) {
  uint64_t n = 0;
  too_large = false;
  for (char c : seg) {
    n = n * 10 + static_cast<uint64_t>(c - '0');
    if (n >= std::numeric_limits<rapidjson::SizeType>::max()) {
      too_large = true;
      return;
    }
  }
  index = static_cast<uint32_t>(n);
}

}  // namespace

std::string Excerpt(std::string_view text, size_t max) {
  if (text.size() <= max) return std::string(text);
  size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return std::string(text.substr(0, cut)) + "...(" + std::to_string(text.size()) + " bytes)";
}

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
      throw std::invalid_argument("unterminated '{{' in template \"" + Excerpt(text) + "\"");
    std::string_view path = Trim(text.substr(open + 2, close - open - 2));
    if (path.empty()) throw std::invalid_argument("empty '{{}}' in template \"" + Excerpt(text) + "\"");
    Part p;
    p.is_path = true;
    p.text = std::string(path);
    size_t s = 0;
    while (s <= path.size()) {
      size_t dot = path.find('.', s);
      if (dot == std::string_view::npos) dot = path.size();
      if (dot == s) throw std::invalid_argument("bad path '" + Excerpt(path) + "' in template");
      Segment seg;
      seg.name = std::string(path.substr(s, dot - s));
      if (seg.name.find_first_not_of("0123456789") == std::string::npos) {
        bool too_large = false;
        ParseIndex(seg.name, seg.index, too_large);
        seg.index_kind = too_large ? Segment::Index::kTooLarge : Segment::Index::kValid;
      }
      p.segments.push_back(std::move(seg));
      s = dot + 1;
    }
    t.parts_.push_back(std::move(p));
    pos = close + 2;
  }
  return t;
}

const rapidjson::Value* Template::Resolve(const TemplateContext& ctx, const Part& path) {
  const auto& segs = path.segments;
  const rapidjson::Value* v = nullptr;
  const std::string& root = segs[0].name;
  if (root == "input") v = ctx.input;
  else if (root == "output") v = ctx.output;
  else if (root == "variables" || root == "vars") v = ctx.variables;
  else if (root == "trigger") v = ctx.trigger;
  else if (root == "workflow") v = ctx.workflow;
  else if (root == "nodes") v = ctx.nodes;
  for (size_t i = 1; v && i < segs.size(); ++i) {
    const Segment& seg = segs[i];
    if (v->IsObject()) {
      auto it = v->FindMember(rapidjson::StringRef(seg.name.data(), seg.name.size()));
      v = it == v->MemberEnd() ? nullptr : &it->value;
    } else if (v->IsArray() && seg.index_kind == Segment::Index::kValid) {
      v = seg.index < v->Size() ? &(*v)[seg.index] : nullptr;
    } else if (v->IsArray() && seg.index_kind == Segment::Index::kTooLarge) {
      throw ExecutionError("template path '" + Excerpt(path.text) + "': array index " + Excerpt(seg.name, 40) +
                           " is out of range (the array has " + std::to_string(v->Size()) + " elements)");
    } else {
      v = nullptr;
    }
  }
  if (!v && root == "nodes")
    throw ExecutionError("template path '" + Excerpt(path.text) + "' does not exist (no such node output)");
  return v;
}

bool Template::RefersTo(std::string_view root) const {
  for (const auto& p : parts_)
    if (p.is_path && p.segments[0].name == root) return true;
  return false;
}

void Template::RenderText(const TemplateContext& ctx, std::string& out) const {
  const size_t start = out.size();
  rapidjson::StringBuffer buf;
  for (const auto& p : parts_) {
    std::string_view piece;
    if (!p.is_path) {
      piece = p.text;
    } else {
      const rapidjson::Value* v = Resolve(ctx, p);
      if (!v || v->IsNull()) continue;
      if (v->IsString()) {
        piece = {v->GetString(), v->GetStringLength()};
      } else {
        // Measured before it is serialized: an over-large object fails
        // without first being written out.
        if (ctx.budget) ctx.budget->Charge(out.size() - start + JsonSizeUpTo(*v, ctx.budget->value_limit()), 0);
        buf.Clear();
        rapidjson::Writer<rapidjson::StringBuffer> w(buf);
        v->Accept(w);
        piece = {buf.GetString(), buf.GetSize()};
      }
    }
    if (ctx.budget) ctx.budget->Charge(out.size() - start + piece.size(), piece.size());
    out.append(piece);
  }
}

void Template::RenderValue(const TemplateContext& ctx, rapidjson::Value& out,
                           rapidjson::Document::AllocatorType& alloc) const {
  if (parts_.size() == 1 && parts_[0].is_path) {
    const rapidjson::Value* v = Resolve(ctx, parts_[0]);
    if (!v) {
      out.SetNull();
      return;
    }
    if (ctx.budget) {
      const size_t size = JsonSizeUpTo(*v, ctx.budget->value_limit());
      ctx.budget->Charge(size, size);
    }
    out.CopyFrom(*v, alloc);
    return;
  }
  std::string text;
  RenderText(ctx, text);
  out.SetString(text.data(), static_cast<rapidjson::SizeType>(text.size()), alloc);
}

}  // namespace hub::engine
