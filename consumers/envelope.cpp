#include "consumers/envelope.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include <rapidjson/error/en.h>
#include <rapidjson/pointer.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "common/error.hpp"
#include "common/json_text.hpp"

namespace hub::consumers {
namespace {

using common::ErrorClass;
using common::PermanentError;
using rapidjson::Document;
using rapidjson::SizeType;
using rapidjson::Value;

// UTF-8 is checked by InvalidUtf8At() on the raw value instead of with
// kParseValidateEncodingFlag: RapidJSON's per-character check was a third of the
// parse time.
constexpr unsigned kParseFlags = rapidjson::kParseDefaultFlags;
// Deeper nesting is refused while parsing (ParseTee): RapidJSON's parser and
// Accept() recurse, so "[[[[..." a megabyte deep would overflow the stack.
constexpr int kMaxDepth = 128;
// The document's memory pool is kept between events up to this size.

[[noreturn]] void Fail(std::string reason) { throw PermanentError(ErrorClass::kSchema, reason); }

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (Lower(a[i]) != Lower(b[i])) return false;
  return true;
}

bool IStartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && IEquals(s.substr(0, prefix.size()), prefix);
}

using common::InvalidUtf8At;
bool IsValidUtf8(std::string_view s) { return InvalidUtf8At(s) == std::string_view::npos; }

// memchr needs a buffer; an empty view (a header without a value) may have none.
bool HasNul(std::string_view s) { return !s.empty() && std::memchr(s.data(), '\0', s.size()) != nullptr; }

// True if the raw JSON text has a \u escape.  The raw text is checked to be
// valid UTF-8 without NUL, so only such an escape can make a decoded string
// differ from that (and a backslash appears nowhere else in valid JSON).
bool HasUnicodeEscape(std::string_view raw) {
  if (raw.empty()) return false;  // memchr needs a buffer, an empty view may have none
  const char* p = raw.data();
  const char* end = p + raw.size();
  while ((p = static_cast<const char*>(std::memchr(p, '\\', static_cast<size_t>(end - p))))) {
    if (end - p < 2) return false;
    if (p[1] == 'u') return true;
    p += 2;  // an escaped character, possibly a backslash
  }
  return false;
}

// Why a decoded string cannot be stored as text (PostgreSQL refuses NUL and
// invalid UTF-8, and libpq cuts a text parameter at a NUL), or "" if it can.
std::string TextProblem(std::string_view s) {
  if (std::memchr(s.data(), '\0', s.size())) return "contains a NUL character (\\u0000), which is not allowed in text";
  const size_t bad = InvalidUtf8At(s);
  if (bad == std::string_view::npos) return {};
  // From a valid raw text, RapidJSON only produces a lone low surrogate (a lone
  // high one is a parse error), encoded as ED B0..BF xx.
  const auto* b = reinterpret_cast<const unsigned char*>(s.data()) + bad;
  if (s.size() - bad >= 3 && b[0] == 0xED && (b[1] & 0xE0) == 0xA0) {
    const unsigned cp = 0xD000u | ((b[1] & 0x3Fu) << 6) | (b[2] & 0x3Fu);
    char hex[8];
    std::snprintf(hex, sizeof hex, "%04x", cp);
    return std::string("contains a lone surrogate escape (\\u") + hex + ") that is not valid text";
  }
  return "is not valid UTF-8 text";
}

// At most `max` bytes of `s`, cut at a character boundary, "..." if cut: for
// quoting keys and values of any size in a reason.
std::string Clip(std::string_view s, size_t max) {
  if (s.size() <= max) return std::string(s);
  size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return std::string(s.substr(0, cut)) + "...";
}

std::string_view View(const Value& v) { return {v.GetString(), v.GetStringLength()}; }

const Value* Member(const Value& obj, const char* name) {
  if (!obj.IsObject()) return nullptr;
  auto it = obj.FindMember(name);
  return it == obj.MemberEnd() ? nullptr : &it->value;
}

// ---- readable schema violations ---------------------------------------------

using PointerType = rapidjson::Pointer;

std::string Quote(std::string_view s) {
  std::string out = "\"";
  out.append(s);
  out += '"';
  return out;
}

// The value as compact JSON, cut at `max` bytes (webhook bodies can be large).
std::string Render(const Value& v, size_t max = 60) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  v.Accept(w);
  std::string s(sb.GetString(), sb.GetSize());
  if (s.size() > max) {
    size_t cut = max;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // whole UTF-8 characters
    s.resize(cut);
    s += "...";
  }
  return s;
}

const char* TypeName(const Value& v) {
  switch (v.GetType()) {
    case rapidjson::kNullType: return "null";
    case rapidjson::kFalseType:
    case rapidjson::kTrueType: return "boolean";
    case rapidjson::kObjectType: return "object";
    case rapidjson::kArrayType: return "array";
    case rapidjson::kStringType: return "string";
    case rapidjson::kNumberType: return (v.IsInt64() || v.IsUint64()) ? "integer" : "number";
  }
  return "value";
}

std::string PointerString(const PointerType& p) {
  rapidjson::StringBuffer sb;
  p.Stringify(sb);
  return sb.GetSize() ? std::string(sb.GetString(), sb.GetSize()) : std::string("/");
}

// "/data/headers/x" -> "data.headers.x", array elements as "[3]"; the root is "event".
std::string DottedPath(const PointerType& p, const Value& doc) {
  std::string out;
  const Value* cur = &doc;
  for (size_t i = 0; i < p.GetTokenCount(); ++i) {
    const auto& t = p.GetTokens()[i];
    if (cur && cur->IsArray() && t.index != rapidjson::kPointerInvalidIndex) {
      out += "[" + std::to_string(t.index) + "]";
      cur = t.index < cur->Size() ? &(*cur)[t.index] : nullptr;
    } else {
      if (!out.empty()) out += '.';
      out.append(t.name, t.length);
      const Value* next = nullptr;
      if (cur && cur->IsObject()) {
        auto it = cur->FindMember(Value(rapidjson::StringRef(t.name, t.length)));
        if (it != cur->MemberEnd()) next = &it->value;
      }
      cur = next;
    }
  }
  return out.empty() ? "event" : out;
}

std::string JoinValues(const Value& arr) {
  std::string out;
  for (SizeType i = 0; arr.IsArray() && i < arr.Size(); ++i) {
    if (i) out += ", ";
    out += Render(arr[i]);
  }
  return out;
}

std::string NumberText(const Value* v) { return v ? Render(*v) : std::string("?"); }

std::string DescribeViolation(const rapidjson::SchemaValidator& validator, const Document& schema_source,
                              const Document& doc) {
  const std::string keyword = validator.GetInvalidSchemaKeyword();
  const PointerType doc_ptr = validator.GetInvalidDocumentPointer();
  const PointerType schema_ptr = validator.GetInvalidSchemaPointer();
  const Value* schema = schema_ptr.Get(schema_source);
  const Value* value = doc_ptr.Get(doc);
  const std::string path = DottedPath(doc_ptr, doc);
  const std::string at = PointerString(doc_ptr);
  auto where = [&](const std::string& ptr) { return " (schema keyword \"" + keyword + "\" at " + ptr + ")"; };
  const Value* kw = schema ? Member(*schema, keyword.c_str()) : nullptr;

  if (keyword == "required" && kw && kw->IsArray() && value && value->IsObject()) {
    std::vector<std::string> missing;
    for (SizeType i = 0; i < kw->Size(); ++i)
      if ((*kw)[i].IsString() && !value->HasMember((*kw)[i])) missing.emplace_back(View((*kw)[i]));
    if (!missing.empty()) {
      std::string prefix = path == "event" ? "" : path + ".";
      std::string reason = prefix + missing[0] + ": required property missing" +
                           where((at == "/" ? std::string() : at) + "/" + missing[0]);
      for (size_t i = 1; i < missing.size(); ++i) reason += (i == 1 ? "; also missing: " : ", ") + prefix + missing[i];
      return reason;
    }
  }
  std::string what;
  if (keyword == "type" && value && kw) {
    std::string expected = kw->IsArray() ? JoinValues(*kw) : Render(*kw);
    what = std::string("expected ") + expected + ", got " + TypeName(*value);
  } else if (keyword == "enum" && value && kw) {
    what = Render(*value) + " is not one of " + JoinValues(*kw);
  } else if (keyword == "pattern" && value && kw) {
    const Value* desc = Member(*schema, "description");
    what = Render(*value) + " does not have the required form: " +
           (desc && desc->IsString() ? std::string(View(*desc)) : "pattern " + Render(*kw));
  } else if (keyword == "minLength" && value && kw) {
    what = (kw->IsUint() && kw->GetUint() == 1) ? std::string("must not be empty")
                                                 : Render(*value) + " is shorter than " + Render(*kw) + " characters";
  } else if (keyword == "maxLength" && value && kw) {
    what = "is longer than " + Render(*kw) + " characters";
  } else if (keyword == "minimum" && value) {
    what = Render(*value) + " is less than the minimum " + NumberText(kw);
  } else if (keyword == "maximum" && value) {
    what = Render(*value) + " is greater than the maximum " + NumberText(kw);
  } else if (keyword == "anyOf" && kw && kw->IsArray()) {
    // The common idiom {"anyOf": [{"required": ["a"]}, {"required": ["b"]}]}.
    std::string names;
    bool all_required = true;
    for (SizeType i = 0; i < kw->Size() && all_required; ++i) {
      const Value* req = Member((*kw)[i], "required");
      all_required = req && req->IsArray() && (*kw)[i].MemberCount() == 1;
      if (all_required) names += (i ? " or " : "") + JoinValues(*req);
    }
    what = all_required ? "needs " + names : std::string("matches none of the allowed alternatives");
  } else if (keyword == "oneOf") {
    what = "must match exactly one of the allowed alternatives";
  } else if (keyword == "not") {
    what = "matches a form that is not allowed";
  } else if (keyword == "additionalProperties") {
    what = "has a property that is not allowed";
  } else {
    what = "violates " + keyword + (kw ? " " + Render(*kw) : std::string());
  }
  return path + ": " + what + where(at);
}

}  // namespace


const Value& Envelope::data() const {
  static const Value kNull;  // immutable
  return data_ ? *data_ : kNull;
}

struct EnvelopeParser::TypeSchema {
  TypeSchema(std::string t, const Document& src) : type(std::move(t)), source(&src), schema(src), validator(schema) {}
  std::string type;
  const Document* source;
  rapidjson::SchemaDocument schema;     // this parser's own copy: see SchemaRegistry's note on threads
  rapidjson::SchemaValidator validator;  // Reset() before each use
};

EnvelopeParser::EnvelopeParser(const SchemaRegistry& schemas) : registry_(schemas) {
  for (const std::string& type : schemas.Types())
    types_.emplace(type, std::make_unique<TypeSchema>(type, *schemas.Source(type)));
}

EnvelopeParser::~EnvelopeParser() = default;

EnvelopeParser::TypeSchema* EnvelopeParser::Schema(std::string_view type) {
  if (last_ && last_->type == type) return last_;
  auto it = types_.find(type);
  if (it == types_.end()) return nullptr;
  return last_ = it->second.get();
}

namespace {

// The length of the integer literal (optional '-', digits, no fraction or
// exponent) that starts at `p`, or 0 if there is none.
size_t IntegerLiteralLength(const char* p) {
  const char* q = p + (*p == '-');
  const char* digits = q;
  while (*q >= '0' && *q <= '9') ++q;
  if (q == digits || *q == '.' || *q == 'e' || *q == 'E') return 0;
  return static_cast<size_t>(q - p);
}

// One of 64 bits for an object key, from its length and first, middle and last
// bytes: the CloudEvents attributes and the properties of every event schema
// get different bits, so a typical event's keys share none.
unsigned KeyBit(const char* key, SizeType n) {
  if (n == 0) return 0;
  const auto* s = reinterpret_cast<const unsigned char*>(key);
  const uint32_t h = n + s[0] + 13u * s[n - 1] + 11u * s[n >> 1];
  return (h ^ (h >> 3)) & 63;
}

// Parse and validate in one pass: the reader's SAX events build the document and
// feed the schema validator at the same time.  The document is always built in
// full (a rejected event still gets a reason that can quote it); the validator
// stops listening at its first failure.  Also refuses nesting deeper than
// kMaxDepth, which keeps RapidJSON's recursive parser, and anything later that
// walks the document, far from the end of the stack.  Notes the first integer
// literal beyond the 64-bit range, and whether two keys of one object share a
// KeyBit: only then can an object have a duplicate key, which ContentCheck
// looks for in the finished document.
class ParseTee {
 public:
  ParseTee(Document& doc, rapidjson::SchemaValidator& validator, const rapidjson::StringStream& in)
      : doc_(doc), v_(validator), in_(in) {}
  bool too_deep() const { return too_deep_; }
  // Byte offset of the first integer literal that fits neither int64 nor
  // uint64, or npos.
  size_t big_integer_at() const { return big_integer_at_; }
  bool keys_may_repeat() const { return keys_may_repeat_; }

  bool Null() { valid_ = valid_ && v_.Null(); return doc_.Null(); }
  bool Bool(bool b) { valid_ = valid_ && v_.Bool(b); return doc_.Bool(b); }
  bool Int(int i) { valid_ = valid_ && v_.Int(i); return doc_.Int(i); }
  bool Uint(unsigned u) { valid_ = valid_ && v_.Uint(u); return doc_.Uint(u); }
  bool Int64(int64_t i) { valid_ = valid_ && v_.Int64(i); return doc_.Int64(i); }
  bool Uint64(uint64_t u) { valid_ = valid_ && v_.Uint64(u); return doc_.Uint64(u); }
  // RapidJSON turns an integer literal beyond the 64-bit range into a double,
  // which would silently change the number; it is noted here and refused.
  // Numbers written with a fraction or an exponent are doubles by intent and
  // stay so.  The reader parses a number on a copy of the stream, so `in_`
  // still points at the number's first character here.
  bool Double(double d) {
    if (big_integer_at_ == std::string_view::npos && IntegerLiteralLength(in_.src_) > 0)
      big_integer_at_ = in_.Tell();
    valid_ = valid_ && v_.Double(d);
    return doc_.Double(d);
  }
  bool RawNumber(const char* s, SizeType n, bool copy) {
    valid_ = valid_ && v_.RawNumber(s, n, copy);
    return doc_.RawNumber(s, n, copy);
  }
  bool String(const char* s, SizeType n, bool copy) {
    valid_ = valid_ && v_.String(s, n, copy);
    return doc_.String(s, n, copy);
  }
  bool Key(const char* s, SizeType n, bool copy) {
    const uint64_t bit = uint64_t{1} << KeyBit(s, n);
    keys_may_repeat_ |= (key_bits_[depth_] & bit) != 0;
    key_bits_[depth_] |= bit;
    valid_ = valid_ && v_.Key(s, n, copy);
    return doc_.Key(s, n, copy);
  }
  bool StartObject() {
    if (++depth_ > kMaxDepth) return !(too_deep_ = true);
    key_bits_[depth_] = 0;
    valid_ = valid_ && v_.StartObject();
    return doc_.StartObject();
  }
  bool EndObject(SizeType n) {
    --depth_;
    valid_ = valid_ && v_.EndObject(n);
    return doc_.EndObject(n);
  }
  bool StartArray() {
    if (++depth_ > kMaxDepth) return !(too_deep_ = true);
    valid_ = valid_ && v_.StartArray();
    return doc_.StartArray();
  }
  bool EndArray(SizeType n) {
    --depth_;
    valid_ = valid_ && v_.EndArray(n);
    return doc_.EndArray(n);
  }

 private:
  Document& doc_;
  rapidjson::SchemaValidator& v_;
  const rapidjson::StringStream& in_;
  bool valid_ = true;
  int depth_ = 0;
  bool too_deep_ = false;
  size_t big_integer_at_ = std::string_view::npos;
  bool keys_may_repeat_ = false;
  uint64_t key_bits_[kMaxDepth + 1];  // of the open object at each depth; set by StartObject
};

// A step of a JSON path: an object member's name or an array index.
struct PathStep {
  std::string_view key;
  size_t index = 0;
  bool is_index = false;
};

// `root` ("" for the event itself, "data" for binary-mode data) and the steps
// as "data.input.x" or "data.list[2]"; "event" if that is empty.  Long names
// are cut: a reason must stay readable whatever the event holds.
std::string RenderPath(std::string_view root, const std::vector<PathStep>& steps) {
  std::string out(root);
  for (const PathStep& s : steps) {
    if (s.is_index) {
      out += "[" + std::to_string(s.index) + "]";
    } else {
      if (!out.empty()) out += '.';
      out += Clip(s.key, 64);
    }
  }
  return out.empty() ? "event" : out;
}

// What parsing alone lets through, found in one walk of the parsed event:
// duplicate object keys (parsers disagree on which one counts: RapidJSON's
// FindMember takes the first, most others the last), and, if `check_text`,
// keys and strings that are not valid text.  Recursion is bounded by kMaxDepth
// (ParseTee).  Run only when ParseTee saw keys that may repeat or the raw text
// has a \u escape (HasUnicodeEscape): typical events need neither.
class ContentCheck {
 public:
  ContentCheck(bool check_text, std::vector<std::string_view>& scratch) : check_text_(check_text), names_(scratch) {}

  // "" if the event is fine, else the reason, naming the JSON path.
  std::string Run(const Value& root) {
    if (!NeedsVisit(root) || Visit(root)) return {};
    std::reverse(path_.begin(), path_.end());
    return RenderPath("", path_) + ": " + what_;
  }

 private:
  // Objects up to this many members are checked without allocating; larger
  // ones by sorting their names.
  static constexpr SizeType kPairwiseMax = 16;

  // Containers always need a look; strings only when their text is checked.
  bool NeedsVisit(const Value& v) const { return v.IsObject() || v.IsArray() || (check_text_ && v.IsString()); }

  // `v` is one that NeedsVisit.  On failure sets what_; each enclosing level
  // then adds its step to path_.
  bool Visit(const Value& v) {
    if (v.IsString()) return TextOk(View(v), "");
    if (v.IsArray()) {
      for (SizeType i = 0; i < v.Size(); ++i) {
        if (NeedsVisit(v[i]) && !Visit(v[i])) return Failed(PathStep{{}, i, true});
      }
      return true;
    }
    if (!KeysOk(v)) return false;  // an object
    for (const auto& m : v.GetObject()) {
      if (NeedsVisit(m.value) && !Visit(m.value)) return Failed(PathStep{View(m.name)});
    }
    return true;
  }

  bool Failed(PathStep step) {
    path_.push_back(step);
    return false;
  }

  bool TextOk(std::string_view s, const char* subject) {
    std::string problem = TextProblem(s);
    if (problem.empty()) return true;
    what_ = subject + problem;
    return false;
  }

  bool KeysOk(const Value& obj) {
    const SizeType n = obj.MemberCount();
    const auto members = obj.MemberBegin();
    if (check_text_) {
      for (SizeType i = 0; i < n; ++i)
        if (!TextOk(View(members[i].name), "a key ")) return false;
    }
    return n <= kPairwiseMax ? NoDuplicatesSmall(members, n) : NoDuplicatesSorted(members, n);
  }

  bool NoDuplicatesSmall(Value::ConstMemberIterator members, SizeType n) {
    for (SizeType i = 1; i < n; ++i) {
      for (SizeType j = 0; j < i; ++j)
        if (View(members[j].name) == View(members[i].name)) return Duplicate(View(members[i].name));
    }
    return true;
  }

  bool NoDuplicatesSorted(Value::ConstMemberIterator members, SizeType n) {
    names_.clear();
    for (SizeType i = 0; i < n; ++i) names_.push_back(View(members[i].name));
    std::sort(names_.begin(), names_.end());
    auto dup = std::adjacent_find(names_.begin(), names_.end());
    return dup == names_.end() || Duplicate(*dup);
  }

  bool Duplicate(std::string_view key) {
    what_ = "duplicate key " + Quote(Clip(key, 64));
    return false;
  }

  const bool check_text_;
  std::vector<std::string_view>& names_;  // the caller's, reused between events
  std::vector<PathStep> path_;            // innermost first until Run() reverses it
  std::string what_;
};

// Re-parses a rejected event's text to find the JSON path of the number that
// starts at byte `offset` (ParseTee::big_integer_at).  Only on the error path:
// the parse that builds the document does not track paths.
class NumberLocator : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, NumberLocator> {
 public:
  NumberLocator(rapidjson::InsituStringStream& in, size_t offset) : in_(in), offset_(offset) {}

  std::vector<PathStep> path() const {
    std::vector<PathStep> out;
    for (const Frame& f : frames_) out.push_back(f.array ? PathStep{{}, f.count - 1, true} : PathStep{f.key});
    return out;
  }

  bool Default() { return Step(); }
  bool Double(double) { return Step() && in_.Tell() != offset_; }  // false stops the reader: found
  bool Key(const char* s, SizeType n, bool) {
    frames_.back().key.assign(s, n);
    return true;
  }
  bool StartObject() { return Step() && Push(false); }
  bool StartArray() { return Step() && Push(true); }
  bool EndObject(SizeType) { return Pop(); }
  bool EndArray(SizeType) { return Pop(); }

 private:
  struct Frame {
    bool array = false;
    size_t count = 0;  // values seen in an array
    std::string key;   // the current member's name in an object
  };
  bool Step() {
    if (!frames_.empty()) ++frames_.back().count;
    return true;
  }
  bool Push(bool array) {
    frames_.push_back(Frame{array, 0, {}});
    return true;
  }
  bool Pop() {
    frames_.pop_back();
    return true;
  }

  rapidjson::InsituStringStream& in_;  // Tell() is not const
  const size_t offset_;
  std::vector<Frame> frames_;
};

}  // namespace

void EnvelopeParser::ParseJson(std::string_view text, Document& doc, rapidjson::SchemaValidator& validator,
                               const char* what, std::string_view root) {
  // RapidJSON parses a NUL-terminated string (GenericStringStream) much faster
  // than a (pointer, length) MemoryStream; copying ~1 KB is cheap next to that.
  text_.assign(text.data(), text.size());
  rapidjson::StringStream in(text_.c_str());
  ParseTee tee(doc, validator, in);
  bool parsed = false;
  auto generate = [&](Document&) {
    parsed = !reader_.Parse<kParseFlags>(in, tee).IsError();
    return parsed;
  };
  doc.Populate(generate);
  if (tee.too_deep())
    Fail(std::string(what) + ": JSON nested deeper than " + std::to_string(kMaxDepth) + " levels is refused");
  if (!parsed) {
    Fail("malformed JSON" + (root.empty() ? std::string() : std::string(" in ") + what) + " at byte " +
         std::to_string(reader_.GetErrorOffset()) + ": " + rapidjson::GetParseError_En(reader_.GetParseErrorCode()));
  }
  if (tee.big_integer_at() != std::string_view::npos) FailBigInteger(tee.big_integer_at(), root);
  keys_may_repeat_ = tee.keys_may_repeat();
}

void EnvelopeParser::FailBigInteger(size_t offset, std::string_view root) {
  // Read (not written: no kParseInsituFlag) through another stream type than
  // ParseJson's, so that no template of the hot parse is shared with this one,
  // which made GCC inline less of the hot parse.
  rapidjson::InsituStringStream in(text_.data());
  NumberLocator locator(in, offset);
  reader_.Parse<kParseFlags>(in, locator);
  const std::string_view literal(text_.c_str() + offset, IntegerLiteralLength(text_.c_str() + offset));
  std::string digits = literal.size() > 40 ? std::string(literal.substr(0, 40)) + "... (" +
                                                 std::to_string(literal.size()) + " characters)"
                                           : std::string(literal);
  Fail(RenderPath(root, locator.path()) + ": the integer " + digits +
       " is beyond the 64-bit range this worker keeps exactly; send it as a string");
}

void EnvelopeParser::ParseStructured(const InboundMessage& msg, bool declared, rapidjson::SchemaValidator& validator,
                                     Envelope& out) {
  Document& doc = out.doc;
  try {
    ParseJson(msg.value, doc, validator, "event", "");
  } catch (const PermanentError& e) {
    if (declared) throw;
    Fail(std::string(e.what()) + " (structured mode assumed: no ce_specversion header)");
  }
  if (!declared && !(doc.IsObject() && doc.HasMember("specversion"))) {
    Fail("not a CloudEvent: no ce_specversion header (binary mode), no content-type application/cloudevents+json, "
         "and the value is not a JSON object with \"specversion\" (structured mode)");
  }
  if (!doc.IsObject()) Fail(std::string("event: expected a JSON object, got ") + TypeName(doc));
}

namespace {

// A header that becomes a text attribute: like the JSON, valid UTF-8 without NUL.
void CheckHeaderText(std::string_view header, std::string_view value) {
  if (HasNul(value))
    Fail("header " + std::string(header) + ": value contains a NUL byte, which is not allowed in text");
  if (!IsValidUtf8(value)) Fail("header " + std::string(header) + ": value is not valid UTF-8");
}

}  // namespace

void EnvelopeParser::ParseBinary(const InboundMessage& msg, rapidjson::SchemaValidator& validator, Envelope& out) {
  // The attributes.  A header repeated with the same value counts once; with
  // another value the event is ambiguous (consumers disagree on which one
  // counts, as with duplicate JSON keys) and refused.
  attrs_.clear();
  auto set = [&](std::string_view name, std::string_view value) {
    for (auto& a : attrs_) {
      if (a.first == name) {
        if (a.second != value)
          Fail("the attribute " + std::string(name) + " is given twice with different values (" +
               Quote(Clip(a.second, 64)) + " and " + Quote(Clip(value, 64)) + ")");
        return;
      }
    }
    attrs_.emplace_back(name, value);
  };
  std::string_view traceparent_header;
  bool has_ce_traceparent = false;
  for (const auto& [name, value] : msg.headers) {
    if (name.size() > 3 && name.substr(0, 3) == "ce_") {
      std::string_view attr = name.substr(3);
      if (attr == "data" || attr == "data_base64") continue;  // never attributes
      if (!IsValidUtf8(attr)) Fail("header name is not valid UTF-8");
      if (HasNul(attr)) Fail("header name contains a NUL byte");
      CheckHeaderText(name, value);
      has_ce_traceparent |= attr == "traceparent";
      set(attr, value);
    } else if (IEquals(name, "content-type")) {
      CheckHeaderText(name, value);
      std::string_view base = value.substr(0, value.find(';'));
      while (!base.empty() && base.back() == ' ') base.remove_suffix(1);
      if (!(IEquals(base, "application/json") || IEquals(base, "text/json") ||
            (base.size() > 5 && IEquals(base.substr(base.size() - 5), "+json"))))
        Fail("content-type " + Quote(value) + ": binary-mode data must be JSON (application/json)");
      set("datacontenttype", value);
    } else if (IEquals(name, "traceparent")) {
      CheckHeaderText(name, value);
      traceparent_header = value;
    }
  }
  if (!has_ce_traceparent && !traceparent_header.empty()) set("traceparent", traceparent_header);
  if (msg.value.empty()) Fail("data: the value is empty; in binary mode it must be the event's data (a JSON object)");

  // The validator sees the event in structured form: the attributes, then data
  // as the reader parses it.
  bool valid = validator.StartObject();
  for (const auto& [name, value] : attrs_) {
    valid = valid && validator.Key(name.data(), static_cast<SizeType>(name.size()), true) &&
            validator.String(value.data(), static_cast<SizeType>(value.size()), true);
  }
  valid = valid && validator.Key("data", 4, false);
  Document& doc = out.doc;
  ParseJson(msg.value, doc, validator, "data (binary mode)", "data");
  if (valid && validator.IsValid()) validator.EndObject(static_cast<SizeType>(attrs_.size() + 1));

  auto& alloc = doc.GetAllocator();
  Value data;
  data.Swap(doc);  // the parsed value becomes `data`; the document becomes the event
  doc.SetObject();
  for (const auto& [name, value] : attrs_) {
    doc.AddMember(Value(name.data(), static_cast<SizeType>(name.size()), alloc),
                  Value(value.data(), static_cast<SizeType>(value.size()), alloc), alloc);
  }
  doc.AddMember("data", data, alloc);
}

void EnvelopeParser::Parse(const InboundMessage& msg, std::string_view expected_type, Envelope& out) {
  std::string_view content_type;
  bool has_ce_specversion = false;
  for (const auto& [name, value] : msg.headers) {
    if (name == "ce_specversion") has_ce_specversion = true;
    else if (IEquals(name, "content-type")) content_type = value;
  }
  bool structured_declared = IStartsWith(content_type, "application/cloudevents");
  if (structured_declared) {
    std::string_view rest = content_type.substr(std::strlen("application/cloudevents"));
    if (IStartsWith(rest, "-batch"))
      Fail("content-type " + Quote(content_type) + ": batched CloudEvents are not supported; send one event per record");
    if (!rest.empty() && rest[0] == '+' && !IStartsWith(rest, "+json"))
      Fail("content-type " + Quote(content_type) + ": only the JSON event format (application/cloudevents+json) is supported");
  }
  TypeSchema* ts = Schema(expected_type);
  if (!ts) {
    std::string known;
    for (const auto& [name, t] : types_) known += (known.empty() ? "" : ", ") + name;
    Fail("type: no schema for event type " + Quote(expected_type) + " (known: " + known + ")");
  }

  // An empty value may have no buffer at all (a tombstone): memchr needs one.
  if (const void* nul = msg.value.empty() ? nullptr : std::memchr(msg.value.data(), '\0', msg.value.size()))
    Fail("malformed JSON at byte " + std::to_string(static_cast<const char*>(nul) - msg.value.data()) + ": a NUL byte");
  if (size_t bad = InvalidUtf8At(msg.value); bad != std::string_view::npos)
    Fail("malformed JSON at byte " + std::to_string(bad) + ": not valid UTF-8");
  const bool has_unicode_escape = HasUnicodeEscape(msg.value);

  out.data_ = nullptr;
  out.doc.SetNull();  // nothing may point into the pool when it is cleared, or when parsing fails
  out.pool.Clear();  // back to the inline buffer; frees chunks a large event needed

  rapidjson::SchemaValidator& validator = ts->validator;
  validator.Reset();
  if (structured_declared || !has_ce_specversion) {
    ParseStructured(msg, structured_declared, validator, out);
  } else {
    ParseBinary(msg, validator, out);
  }
  const Document& doc = out.doc;
  if (keys_may_repeat_ || has_unicode_escape) {
    ContentCheck content(has_unicode_escape, names_);
    if (std::string why = content.Run(doc); !why.empty()) Fail(why);
  }

  // The type first: a record on the wrong topic says so rather than failing the
  // other type's schema.
  const Value* type = Member(doc, "type");
  if (type && type->IsString() && View(*type) != expected_type) {
    Fail("type: " + Quote(View(*type)) + " does not match the topic's event type " + Quote(expected_type));
  }
  if (!validator.IsValid()) Fail(DescribeViolation(validator, *ts->source, doc));

  // The schema guarantees these are strings; check anyway so that a lax schema
  // file cannot make us read a missing member.
  // One walk over the attributes instead of a member search for each (names
  // are unique: ContentCheck refused duplicates).
  const Value *id = nullptr, *source = nullptr, *type_attr = nullptr, *time = nullptr, *tp = nullptr,
              *data = nullptr;
  if (doc.IsObject()) {
    for (const auto& m : doc.GetObject()) {
      const std::string_view name = View(m.name);
      const Value** slot = name == "id"            ? &id
                           : name == "source"      ? &source
                           : name == "type"        ? &type_attr
                           : name == "time"        ? &time
                           : name == "traceparent" ? &tp
                           : name == "data"        ? &data
                                                   : nullptr;
      if (slot && !*slot) *slot = &m.value;
    }
  }
  auto attr = [&](const char* name, const Value* v, std::string& dst) {
    if (!v || !v->IsString()) Fail(std::string(name) + ": required attribute missing or not a string");
    dst.assign(v->GetString(), v->GetStringLength());
  };
  attr("id", id, out.id);
  attr("source", source, out.source);
  attr("type", type_attr, out.type);
  attr("time", time, out.time);
  if (tp && tp->IsString()) out.traceparent.assign(tp->GetString(), tp->GetStringLength());
  else out.traceparent.clear();

  out.data_ = data;
  const Value* org = Member(out.data(), "organizationId");
  if (!org) Fail("data.organizationId: required property missing");
  if (!org->IsString() || org->GetStringLength() == 0) Fail("data.organizationId: must be a non-empty string");
  out.organization_id.assign(org->GetString(), org->GetStringLength());

  std::string why;
  if (!ParseRfc3339(out.time, out.time_unix_us, &why))
    Fail("time: " + Quote(out.time) + " is not an RFC 3339 date-time: " + why);
}

}  // namespace hub::consumers
