#pragma once
// The JSON Schemas of the event types (schemas/events/<type>.json, draft-04),
// loaded once at start-up.
//
// Thread-safety: immutable after construction, so Source() and Types() may be
// called from any thread.  Validate with the SchemaDocument that Find() returns
// from one thread at a time only: when RapidJSON 1.1.0 uses its internal regex
// engine, a compiled `pattern` keeps its match scratch space inside itself
// (GenericRegex::Search writes state0_/state1_/stateSet_), so two validators
// sharing one document race.  (This build currently gets std::regex instead --
// schema.h maps any definition of RAPIDJSON_SCHEMA_USE_INTERNALREGEX, even =1, to
// std::regex -- which is re-entrant; don't rely on that.)  Code that validates
// on several threads compiles its own copy per thread from Source():
// EnvelopeParser does exactly that.
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>
#include <rapidjson/schema.h>

namespace hub::consumers {

class SchemaRegistry {
 public:
  // Loads every `*.json` in `dir`; the event type is the file name without
  // `.json`.  Throws common::ConfigError naming the file when a schema cannot be
  // read, is not valid JSON, or uses something RapidJSON 1.1.0 would silently
  // ignore (a draft-06+ `$schema` or keyword, a boolean schema, a `pattern` its
  // regex engine cannot compile such as `\d`, a `$ref` to another document), or
  // when its `type` enum names another type than the file.  Also throws when the
  // directory holds no schema at all.
  explicit SchemaRegistry(const std::string& dir);
  ~SchemaRegistry();
  SchemaRegistry(const SchemaRegistry&) = delete;
  SchemaRegistry& operator=(const SchemaRegistry&) = delete;

  // HUB_SOURCE_DIR "/schemas/events" if that directory exists (running from the
  // build tree), else /usr/share/hubworker/schemas/events.
  static std::string DefaultDir();

  // The compiled schema of `type` (e.g. "workflow.triggered"), or nullptr.  See
  // the thread-safety note above.
  const rapidjson::SchemaDocument* Find(std::string_view type) const;

  // The schema's JSON text as parsed, or nullptr; compile a per-thread
  // SchemaDocument from it.
  const rapidjson::Document* Source(std::string_view type) const;

  // The loaded event types, sorted.
  std::vector<std::string> Types() const;

  const std::string& dir() const { return dir_; }

 private:
  struct Entry {
    rapidjson::Document source;
    std::unique_ptr<rapidjson::SchemaDocument> schema;
  };
  std::string dir_;
  std::map<std::string, std::unique_ptr<Entry>, std::less<>> entries_;
};

}  // namespace hub::consumers
