#pragma once
// `{{path}}` templates such as "hello {{input.name}}", compiled once per
// workflow definition and rendered per event without re-parsing.
//
// Paths are dotted: the first segment names a root of the context (`input`,
// `output`, `variables`, `trigger`, `workflow`), the rest walk JSON objects
// (numeric segments index arrays).  A missing value renders as "" inside a
// larger string; a template that is exactly one placeholder keeps the JSON type
// of the value (number, object, ...) and a missing value is `null`.
//
// Paths under `nodes` ({{nodes.<id>.output.<path>}}) must exist: a missing
// one fails the execution naming it (a node's output is not optional).
//
// Rendering is charged to the context's RenderBudget (when it has one) before
// memory is taken, so a value over its bound fails the execution instead of
// growing; an array index too large for any array fails it too
// (ExecutionError), rather than reading as "missing".
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>

#include "engine/limits.hpp"

namespace hub::engine {

// Values a template can refer to.  Non-owning; all pointers may be null.
struct TemplateContext {
  const rapidjson::Value* input = nullptr;      // the trigger's data.input
  const rapidjson::Value* output = nullptr;     // fields set so far by transforms
  const rapidjson::Value* variables = nullptr;  // the workflow's variables
  const rapidjson::Value* trigger = nullptr;    // the whole trigger event
  const rapidjson::Value* workflow = nullptr;   // {"id","name"}
  const rapidjson::Value* nodes = nullptr;      // {"<node id>": {"output": ...}} of finished nodes
  RenderBudget* budget = nullptr;               // null: unbounded
};

class Template {
 public:
  Template() = default;
  // Throws std::invalid_argument for an unterminated "{{" or an empty path.
  static Template Compile(std::string_view text);

  // Appends the rendered text (string values unquoted, others as JSON text).
  // Throws ExecutionError (see above).
  void RenderText(const TemplateContext& ctx, std::string& out) const;
  // Renders to a JSON value: a lone placeholder keeps its type (copied into
  // `alloc`); anything else becomes a string.  Throws ExecutionError.
  void RenderValue(const TemplateContext& ctx, rapidjson::Value& out,
                   rapidjson::Document::AllocatorType& alloc) const;
  // Whether a placeholder starts at `root` (e.g. "nodes").
  bool RefersTo(std::string_view root) const;

 private:
  struct Segment {
    std::string name;
    enum class Index : uint8_t { kNone, kValid, kTooLarge } index_kind = Index::kNone;
    uint32_t index = 0;  // when kValid
  };
  struct Part {
    bool is_path = false;
    std::string text;               // literal text, or the path as written
    std::vector<Segment> segments;  // path when is_path
  };
  static const rapidjson::Value* Resolve(const TemplateContext& ctx, const Part& path);
  std::vector<Part> parts_;
};

// Shortens `text` to at most `max` bytes (whole UTF-8 characters) for error
// messages, marking the cut.
std::string Excerpt(std::string_view text, size_t max = 80);

}  // namespace hub::engine
