#include "consumers/schema_registry.hpp"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include <rapidjson/error/en.h>
#include <rapidjson/internal/regex.h>
#include <rapidjson/pointer.h>

#include "common/error.hpp"

namespace hub::consumers {
namespace {

namespace fs = std::filesystem;
using common::ConfigError;
using rapidjson::Value;

// The source tree: HUB_SOURCE_DIR when the build passes it to this library,
// else derived from this file's own path (CMake compiles with absolute paths).
std::string SourceDir() {
#ifdef HUB_SOURCE_DIR
  return HUB_SOURCE_DIR;
#else
  fs::path p(__FILE__);
  return p.parent_path().parent_path().string();
#endif
}

// Checks that a schema only uses what RapidJSON 1.1.0 enforces: everything it
// does not understand it ignores without a word, which would let bad events in.
class SchemaLint {
 public:
  SchemaLint(const std::string& file, const Value& root) : file_(file), root_(root) {}

  void Run() {
    if (!root_.IsObject()) Fail("", "the schema is not a JSON object");
    auto it = root_.FindMember("$schema");
    if (it != root_.MemberEnd()) {
      if (!it->value.IsString() || !std::strstr(it->value.GetString(), "draft-04"))
        Fail("/$schema", "only draft-04 is validated by RapidJSON 1.1.0; later drafts' keywords would be ignored");
    }
    Schema(root_, "");
  }

 private:
  [[noreturn]] void Fail(const std::string& where, const std::string& what) const {
    throw ConfigError("event schema " + file_ + (where.empty() ? "" : " at " + where) + ": " + what);
  }

  void Schema(const Value& s, const std::string& at) {
    if (!s.IsObject()) Fail(at, "expected a schema object (boolean schemas are draft-06 and ignored by RapidJSON)");
    for (auto m = s.MemberBegin(); m != s.MemberEnd(); ++m) {
      std::string key(m->name.GetString(), m->name.GetStringLength());
      std::string here = at + "/" + key;
      const Value& v = m->value;
      static const char* const kLater[] = {"const", "contains", "propertyNames", "if", "then", "else",
                                           "dependentRequired", "dependentSchemas", "unevaluatedProperties",
                                           "unevaluatedItems", "prefixItems", "$defs", "minContains", "maxContains"};
      for (const char* k : kLater)
        if (key == k) Fail(here, "`" + key + "` is not draft-04; RapidJSON 1.1.0 would silently ignore it");
      if (key == "format")
        Fail(here, "`format` is not enforced by RapidJSON 1.1.0; use a `pattern`");
      if ((key == "exclusiveMinimum" || key == "exclusiveMaximum") && !v.IsBool())
        Fail(here, "draft-04 `" + key + "` is a boolean next to minimum/maximum");
      if (key == "properties" || key == "definitions") {
        if (!v.IsObject()) Fail(here, "expected an object of schemas");
        for (auto p = v.MemberBegin(); p != v.MemberEnd(); ++p)
          Schema(p->value, here + "/" + EscapeToken(p->name.GetString()));
      } else if (key == "patternProperties") {
        if (!v.IsObject()) Fail(here, "expected an object of schemas");
        for (auto p = v.MemberBegin(); p != v.MemberEnd(); ++p) {
          Pattern(p->name, here);
          Schema(p->value, here + "/" + EscapeToken(p->name.GetString()));
        }
      } else if (key == "additionalProperties" || key == "additionalItems") {
        if (!v.IsBool()) Schema(v, here);
      } else if (key == "items") {
        if (v.IsArray()) {
          for (rapidjson::SizeType i = 0; i < v.Size(); ++i) Schema(v[i], here + "/" + std::to_string(i));
        } else {
          Schema(v, here);
        }
      } else if (key == "allOf" || key == "anyOf" || key == "oneOf") {
        if (!v.IsArray() || v.Empty()) Fail(here, "expected a non-empty array of schemas");
        for (rapidjson::SizeType i = 0; i < v.Size(); ++i) Schema(v[i], here + "/" + std::to_string(i));
      } else if (key == "not") {
        Schema(v, here);
      } else if (key == "dependencies") {
        if (!v.IsObject()) Fail(here, "expected an object");
        for (auto p = v.MemberBegin(); p != v.MemberEnd(); ++p)
          if (!p->value.IsArray()) Schema(p->value, here + "/" + EscapeToken(p->name.GetString()));
      } else if (key == "pattern") {
        Pattern(v, here);
      } else if (key == "$ref") {
        Ref(v, here);
      }
    }
  }

  // A pattern must compile with both engines RapidJSON 1.1.0 may use, because
  // one that does not compile is dropped without a word.  Which engine a build
  // gets is easy to get wrong: schema.h turns ANY definition of
  // RAPIDJSON_SCHEMA_USE_INTERNALREGEX, even =1, into std::regex.
  void Pattern(const Value& v, const std::string& at) const {
    if (!v.IsString()) Fail(at, "a pattern must be a string");
    rapidjson::internal::GenericRegex<rapidjson::UTF8<>> re(v.GetString());
    if (!re.IsValid())
      Fail(at, std::string("pattern `") + v.GetString() +
                   "` does not compile with RapidJSON's internal regex (it has no \\d, \\w, \\s, lookarounds or "
                   "backreferences; write [0-9] etc.) and would be ignored by builds that use it");
    try {
      std::regex std_re(v.GetString(), v.GetStringLength(), std::regex_constants::ECMAScript);
    } catch (const std::regex_error& e) {
      Fail(at, std::string("pattern `") + v.GetString() + "` is not an ECMAScript regex: " + e.what());
    }
  }

  void Ref(const Value& v, const std::string& at) const {
    if (!v.IsString()) Fail(at, "$ref must be a string");
    const char* ref = v.GetString();
    if (ref[0] != '#')
      Fail(at, std::string("$ref `") + ref + "` points to another document; keep each event schema self-contained");
    rapidjson::Pointer ptr(ref, v.GetStringLength());  // "#/..." is parsed as a URI fragment
    if (!ptr.IsValid() || !ptr.Get(root_))
      Fail(at, std::string("$ref `") + ref + "` does not resolve; RapidJSON would accept anything there");
  }

  static std::string EscapeToken(const char* s) {
    std::string out;
    for (; *s; ++s) {
      if (*s == '~') out += "~0";
      else if (*s == '/') out += "~1";
      else out += *s;
    }
    return out;
  }

  const std::string& file_;
  const Value& root_;
};

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError("event schema " + path.string() + ": cannot be read");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw ConfigError("event schema " + path.string() + ": read error");
  return ss.str();
}

}  // namespace

SchemaRegistry::SchemaRegistry(const std::string& dir) : dir_(dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw ConfigError("event schema directory " + dir + " does not exist or is not a directory");
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().extension() == ".json" && e.is_regular_file()) files.push_back(e.path());
  }
  if (ec) throw ConfigError("event schema directory " + dir + ": " + ec.message());
  std::sort(files.begin(), files.end());
  if (files.empty()) throw ConfigError("event schema directory " + dir + " holds no *.json schema");

  for (const auto& path : files) {
    const std::string file = path.string();
    const std::string type = path.stem().string();
    const std::string text = ReadFile(path);
    auto entry = std::make_unique<Entry>();
    entry->source.Parse(text.data(), text.size());
    if (entry->source.HasParseError()) {
      throw ConfigError("event schema " + file + ": invalid JSON at byte " +
                        std::to_string(entry->source.GetErrorOffset()) + ": " +
                        rapidjson::GetParseError_En(entry->source.GetParseError()));
    }
    SchemaLint(file, entry->source).Run();

    // The `type` attribute must name this file's type, or every event of the
    // type would be rejected (or another type's accepted).
    const Value* type_enum = rapidjson::Pointer("/properties/type/enum").Get(entry->source);
    if (type_enum) {
      if (!type_enum->IsArray() || type_enum->Size() != 1 || !(*type_enum)[0].IsString() ||
          type != (*type_enum)[0].GetString())
        throw ConfigError("event schema " + file + ": /properties/type/enum must be [\"" + type + "\"]");
    }
    entry->schema = std::make_unique<rapidjson::SchemaDocument>(entry->source);
    entries_.emplace(type, std::move(entry));
  }
}

SchemaRegistry::~SchemaRegistry() = default;

std::string SchemaRegistry::DefaultDir() {
  std::error_code ec;
  std::string in_tree = SourceDir() + "/schemas/events";
  if (fs::is_directory(in_tree, ec)) return in_tree;
  return "/usr/share/hubworker/schemas/events";
}

const rapidjson::SchemaDocument* SchemaRegistry::Find(std::string_view type) const {
  auto it = entries_.find(type);
  return it == entries_.end() ? nullptr : it->second->schema.get();
}

const rapidjson::Document* SchemaRegistry::Source(std::string_view type) const {
  auto it = entries_.find(type);
  return it == entries_.end() ? nullptr : &it->second->source;
}

std::vector<std::string> SchemaRegistry::Types() const {
  std::vector<std::string> out;
  out.reserve(entries_.size());
  for (const auto& [type, entry] : entries_) out.push_back(type);
  return out;
}

}  // namespace hub::consumers
