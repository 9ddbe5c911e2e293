#pragma once
// `{{path}}` templates such as "hello {{input.name}}", compiled once per
// workflow definition and rendered per event without re-parsing.
//
// Paths are dotted: the first segment names a root of the context (`input`,
// `output`, `variables`, `trigger`, `workflow`), the rest walk JSON objects
// (numeric segments index arrays).  A missing value renders as "" inside a
// larger string; a template that is exactly one placeholder keeps the JSON type
// of the value (number, object, ...) and a missing value is `null`.
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>

namespace hub::engine {

// Values a template can refer to.  Non-owning; all pointers may be null.
struct TemplateContext {
  const rapidjson::Value* input = nullptr;      // the trigger's data.input
  const rapidjson::Value* output = nullptr;     // fields set so far by transforms
  const rapidjson::Value* variables = nullptr;  // the workflow's variables
  const rapidjson::Value* trigger = nullptr;    // the whole trigger event
  const rapidjson::Value* workflow = nullptr;   // {"id","name"}
};

class Template {
 public:
  Template() = default;
  // Throws std::invalid_argument for an unterminated "{{" or an empty path.
  static Template Compile(std::string_view text);

  // Appends the rendered text (string values unquoted, others as JSON text).
  void RenderText(const TemplateContext& ctx, std::string& out) const;
  // Renders to a JSON value: a lone placeholder keeps its type (copied into
  // `alloc`); anything else becomes a string.
  void RenderValue(const TemplateContext& ctx, rapidjson::Value& out,
                   rapidjson::Document::AllocatorType& alloc) const;

 private:
  struct Part {
    bool is_path = false;
    std::string text;                   // literal text when !is_path
    std::vector<std::string> segments;  // path when is_path
  };
  static const rapidjson::Value* Resolve(const TemplateContext& ctx, const std::vector<std::string>& segs);
  std::vector<Part> parts_;
};

}  // namespace hub::engine
