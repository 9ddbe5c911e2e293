#include "engine/agent_step.hpp"

#include <cmath>
#include <cstdio>
#include <stdexcept>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "common/json_text.hpp"

namespace hub::engine {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

std::string StringOf(const rapidjson::Value& v) { return {v.GetString(), v.GetStringLength()}; }

// The member `key` (or its snake_case `alt`), or null.
const rapidjson::Value* Member(const rapidjson::Value& obj, const char* key, const char* alt = nullptr) {
  if (!obj.IsObject()) return nullptr;
  auto m = obj.FindMember(key);
  if (m != obj.MemberEnd()) return &m->value;
  if (alt) {
    m = obj.FindMember(alt);
    if (m != obj.MemberEnd()) return &m->value;
  }
  return nullptr;
}

std::string_view StringAt(const rapidjson::Value& obj, const char* key) {
  const rapidjson::Value* v = Member(obj, key);
  return v && v->IsString() ? std::string_view(v->GetString(), v->GetStringLength()) : std::string_view();
}

int64_t IntAt(const rapidjson::Value& obj, const char* key) {
  const rapidjson::Value* v = Member(obj, key);
  return v && v->IsInt64() && v->GetInt64() >= 0 ? v->GetInt64() : 0;
}

double Number(const rapidjson::Value& v, double lo, double hi, const std::string& what) {
  if (!v.IsNumber() || !std::isfinite(v.GetDouble()) || v.GetDouble() < lo || v.GetDouble() > hi) {
    char range[64];
    std::snprintf(range, sizeof range, " must be a number from %g to %g", lo, hi);
    throw std::invalid_argument(what + range);
  }
  return v.GetDouble();
}

int MaxTokens(const rapidjson::Value& v, const std::string& what) {
  if (!v.IsInt() || v.GetInt() < 1 || v.GetInt() > kMaxAgentTokens)
    throw std::invalid_argument(what + " must be an integer from 1 to " + std::to_string(kMaxAgentTokens));
  return v.GetInt();
}

void WriteSettings(Writer& w, const ModelSettings& s) {
  w.StartObject();
  w.Key("provider");
  w.String(s.provider.c_str(), static_cast<rapidjson::SizeType>(s.provider.size()));
  w.Key("model");
  w.String(s.model.c_str(), static_cast<rapidjson::SizeType>(s.model.size()));
  w.Key("system");
  w.String(s.system.c_str(), static_cast<rapidjson::SizeType>(s.system.size()));
  w.Key("maxTokens");
  w.Int(s.max_tokens);
  w.Key("temperature");
  w.Double(s.temperature);
  w.Key("inputCentsPerMillion");
  w.Double(s.input_cents_per_million);
  w.Key("outputCentsPerMillion");
  w.Double(s.output_cents_per_million);
  w.EndObject();
}

bool ReadSettings(const rapidjson::Value& v, ModelSettings& s) {
  if (!v.IsObject()) return false;
  const rapidjson::Value *provider = Member(v, "provider"), *model = Member(v, "model"), *system = Member(v, "system"),
                         *tokens = Member(v, "maxTokens"), *temperature = Member(v, "temperature"),
                         *in = Member(v, "inputCentsPerMillion"), *out = Member(v, "outputCentsPerMillion");
  if (!provider || !provider->IsString() || !model || !model->IsString() || !system || !system->IsString() ||
      !tokens || !tokens->IsInt() || !temperature || !temperature->IsNumber() || !in || !in->IsNumber() || !out ||
      !out->IsNumber())
    return false;
  s.provider = StringOf(*provider);
  s.model = StringOf(*model);
  s.system = StringOf(*system);
  s.max_tokens = tokens->GetInt();
  s.temperature = temperature->GetDouble();
  s.input_cents_per_million = in->GetDouble();
  s.output_cents_per_million = out->GetDouble();
  return true;
}

void WriteString(Writer& w, std::string_view s) { w.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); }

// `s` with NUL bytes and bytes that are not UTF-8 replaced by '?': what a
// provider sends ends up in jsonb and text columns, which refuse both.
std::string Clean(std::string s) {
  for (size_t from = 0; from < s.size();) {
    const size_t bad = common::InvalidUtf8At(std::string_view(s).substr(from));
    if (bad == std::string_view::npos) break;
    s[from + bad] = '?';
    from += bad + 1;
  }
  for (auto& c : s)
    if (c == '\0') c = '?';
  return s;
}

bool Text(std::string_view s) {
  return s.find('\0') == std::string_view::npos && common::InvalidUtf8At(s) == std::string_view::npos;
}

// Tokens of a text for the local provider: about four bytes each.
int64_t LocalTokens(size_t bytes) { return static_cast<int64_t>((bytes + 3) / 4); }

// The provider's reason from an error body, or an excerpt of the body.
std::string ErrorReason(const rapidjson::Document& doc, std::string_view body) {
  if (!doc.HasParseError() && doc.IsObject()) {
    const rapidjson::Value* error = Member(doc, "error");
    if (error && error->IsObject()) {
      std::string type(StringAt(*error, "type"));
      const rapidjson::Value* code = Member(*error, "code");
      if (type.empty() && code && code->IsString()) type = StringOf(*code);
      const std::string message(StringAt(*error, "message"));
      if (!message.empty()) return (type.empty() ? "" : "(" + type + ") ") + Excerpt(message, 400);
      if (!type.empty()) return "(" + type + ")";
    }
    if (error && error->IsString()) return Excerpt(StringOf(*error), 400);
  }
  return body.empty() ? "no body" : Excerpt(body, 200);
}

// A 4xx/5xx answer of either provider.
ModelAnswer ErrorAnswer(int status, std::string_view body) {
  ModelAnswer a;
  rapidjson::Document doc;
  if (!common::JsonNestsDeeperThan(body, 64)) doc.Parse(body.data(), body.size());
  a.error = Clean("the model answered HTTP " + std::to_string(status) + ": " + ErrorReason(doc, body));
  a.kind = RetryableStatus(status) ? ModelAnswer::Kind::kRetryable : ModelAnswer::Kind::kError;
  return a;
}

ModelAnswer Malformed(std::string_view what, std::string_view why) {
  ModelAnswer a;
  a.kind = ModelAnswer::Kind::kError;
  a.error = Clean("the model's answer is not " + std::string(what) + ": " + std::string(why));
  return a;
}

// Parses a 2xx body; false (and the answer set to the failure) when it is not JSON.
bool ParseBody(std::string_view body, rapidjson::Document& doc, std::string_view what, ModelAnswer& failure) {
  if (common::JsonNestsDeeperThan(body, 64)) {
    failure = Malformed(what, "nested too deeply");
    return false;
  }
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    failure = Malformed(what, "not a JSON object (" + Excerpt(body, 120) + ")");
    return false;
  }
  return true;
}

}  // namespace

ModelSettings Merge(const ModelSettings& base, const ModelSettings& over) {
  ModelSettings m = base;
  if (!over.provider.empty()) m.provider = over.provider;
  if (!over.model.empty()) m.model = over.model;
  if (!over.system.empty()) m.system = over.system;
  if (over.max_tokens > 0) m.max_tokens = over.max_tokens;
  if (over.temperature >= 0) m.temperature = over.temperature;
  if (over.input_cents_per_million >= 0) m.input_cents_per_million = over.input_cents_per_million;
  if (over.output_cents_per_million >= 0) m.output_cents_per_million = over.output_cents_per_million;
  return m;
}

ModelSettings ParseModelConfig(const rapidjson::Value& config, const std::string& where) {
  if (!config.IsObject()) throw std::invalid_argument(where + " must be an object");
  ModelSettings s;
  auto text = [&](const char* key, const char* alt, std::string& dst) {
    const rapidjson::Value* v = Member(config, key, alt);
    if (!v) return;
    if (!v->IsString()) throw std::invalid_argument(where + "." + key + " must be a string");
    dst = StringOf(*v);
  };
  text("provider", nullptr, s.provider);
  for (auto& c : s.provider) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string why;
  if (!s.provider.empty() && !KnownProvider(s.provider, why)) throw std::invalid_argument(where + ".provider: " + why);
  text("model", nullptr, s.model);
  text("systemPrompt", "system_prompt", s.system);
  if (const auto* v = Member(config, "maxTokens", "max_tokens")) s.max_tokens = MaxTokens(*v, where + ".maxTokens");
  if (const auto* v = Member(config, "temperature")) s.temperature = Number(*v, 0, 2, where + ".temperature");
  if (const auto* pricing = Member(config, "pricing")) {
    if (!pricing->IsObject()) throw std::invalid_argument(where + ".pricing must be an object");
    if (const auto* v = Member(*pricing, "inputCentsPerMillion"))
      s.input_cents_per_million = Number(*v, 0, 1e9, where + ".pricing.inputCentsPerMillion");
    if (const auto* v = Member(*pricing, "outputCentsPerMillion"))
      s.output_cents_per_million = Number(*v, 0, 1e9, where + ".pricing.outputCentsPerMillion");
  }
  return s;
}

bool AgentSettings(std::string_view model_config_json, std::string_view personality_json, ModelSettings& out,
                   std::string& why) {
  rapidjson::Document config;
  if (common::JsonNestsDeeperThan(model_config_json, 64)) {
    why = "its model_config is nested too deeply";
    return false;
  }
  config.Parse(model_config_json.data(), model_config_json.size());
  try {
    out = ParseModelConfig(config, "model_config");
  } catch (const std::invalid_argument& e) {
    why = e.what();
    return false;
  }
  rapidjson::Document personality;
  if (!personality_json.empty() && !common::JsonNestsDeeperThan(personality_json, 64))
    personality.Parse(personality_json.data(), personality_json.size());
  if (!personality.HasParseError() && personality.IsObject() && personality.MemberCount() > 0) {
    rapidjson::StringBuffer buf;
    Writer w(buf);
    personality.Accept(w);
    if (!out.system.empty()) out.system += "\n\n";
    out.system += "Personality: ";
    out.system.append(buf.GetString(), buf.GetSize());
  }
  return true;
}

std::shared_ptr<const AgentNodeConfig> CompileAgentNode(const std::string& node_id, const rapidjson::Value& data) {
  auto cfg = std::make_shared<AgentNodeConfig>();
  const std::string where = "ai_agent node '" + node_id + "': data.";
  if (const auto* v = Member(data, "agentId")) {
    if (!v->IsString() || v->GetStringLength() == 0 || v->GetStringLength() > 256)
      throw std::invalid_argument(where + "agentId must be an agent id (a string of 1 to 256 characters)");
    cfg->agent_id = StringOf(*v);
  }
  if (const auto* v = Member(data, "modelConfig")) cfg->settings = ParseModelConfig(*v, where + "modelConfig");
  const rapidjson::Value* prompt = Member(data, "prompt");
  if (!prompt || !prompt->IsString() || prompt->GetStringLength() == 0)
    throw std::invalid_argument(where + "prompt is required (a template string)");
  cfg->prompt = Template::Compile(StringOf(*prompt));
  if (const auto* v = Member(data, "systemPrompt")) {
    if (!v->IsString()) throw std::invalid_argument(where + "systemPrompt must be a template string");
    cfg->system = Template::Compile(StringOf(*v));
    cfg->has_system = true;
  }
  if (const auto* v = Member(data, "maxTokens")) cfg->settings.max_tokens = MaxTokens(*v, where + "maxTokens");
  if (const auto* retry = Member(data, "retry")) {
    if (!retry->IsObject()) throw std::invalid_argument(where + "retry must be an object");
    if (const auto* v = Member(*retry, "maxAttempts")) {
      if (!v->IsInt() || v->GetInt() < 1 || v->GetInt() > 20)
        throw std::invalid_argument(where + "retry.maxAttempts must be an integer from 1 to 20");
      cfg->retry.max_attempts = v->GetInt();
    }
    if (const auto* v = Member(*retry, "backoffMs")) {
      if (!v->IsInt64() || v->GetInt64() < 0 || v->GetInt64() > 3600000)
        throw std::invalid_argument(where + "retry.backoffMs must be an integer from 0 to 3600000");
      cfg->retry.backoff_ms = v->GetInt64();
    }
  }
  if (const auto* v = Member(data, "timeoutMs")) {
    if (!v->IsInt64() || v->GetInt64() < 1 || v->GetInt64() > kMaxAgentTimeoutMs)
      throw std::invalid_argument(where + "timeoutMs must be an integer from 1 to " +
                                  std::to_string(kMaxAgentTimeoutMs));
    cfg->timeout_ms = v->GetInt64();
  }
  return cfg;
}

AgentRequestSpec RenderAgentRequest(const AgentNodeConfig& node, const TemplateContext& ctx) {
  AgentRequestSpec r;
  r.agent_id = node.agent_id;
  r.settings = node.settings;
  node.prompt.RenderText(ctx, r.prompt);
  if (r.prompt.empty()) throw ExecutionError("prompt rendered empty");
  if (node.has_system) {
    r.settings.system.clear();
    node.system.RenderText(ctx, r.settings.system);
  }
  r.timeout_ms = node.timeout_ms;
  r.retry = node.retry;
  return r;
}

std::string ToJson(const AgentRequestSpec& r) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  w.Key("agentId");
  WriteString(w, r.agent_id);
  w.Key("settings");
  WriteSettings(w, r.settings);
  w.Key("prompt");
  WriteString(w, r.prompt);
  w.Key("timeoutMs");
  w.Int64(r.timeout_ms);
  w.Key("maxAttempts");
  w.Int(r.retry.max_attempts);
  w.Key("backoffMs");
  w.Int64(r.retry.backoff_ms);
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

bool FromJson(std::string_view json, AgentRequestSpec& r, std::string& why) {
  rapidjson::Document d;
  d.Parse(json.data(), json.size());
  const rapidjson::Value *agent = nullptr, *settings = nullptr, *prompt = nullptr, *timeout = nullptr,
                         *attempts = nullptr, *backoff = nullptr;
  if (!d.HasParseError() && d.IsObject()) {
    agent = Member(d, "agentId");
    settings = Member(d, "settings");
    prompt = Member(d, "prompt");
    timeout = Member(d, "timeoutMs");
    attempts = Member(d, "maxAttempts");
    backoff = Member(d, "backoffMs");
  }
  if (!agent || !agent->IsString() || !settings || !ReadSettings(*settings, r.settings) || !prompt ||
      !prompt->IsString() || !timeout || !timeout->IsInt64() || !attempts || !attempts->IsInt() || !backoff ||
      !backoff->IsInt64()) {
    why = "the stored agent request is not one this worker wrote";
    return false;
  }
  r.agent_id = StringOf(*agent);
  r.prompt = StringOf(*prompt);
  r.timeout_ms = timeout->GetInt64();
  r.retry.max_attempts = attempts->GetInt();
  r.retry.backoff_ms = backoff->GetInt64();
  return true;
}

ModelCall ResolveModelCall(const ModelSettings& agent, const AgentRequestSpec& request) {
  const ModelSettings s = Merge(agent, request.settings);
  ModelCall c;
  c.provider = s.provider.empty() ? "openai" : s.provider;
  c.model = s.model;
  c.system = s.system;
  c.prompt = request.prompt;
  c.max_tokens = s.max_tokens > 0 ? std::min(s.max_tokens, kMaxAgentTokens) : kDefaultAgentTokens;
  c.temperature = s.temperature;
  c.input_cents_per_million = std::max(0.0, s.input_cents_per_million);
  c.output_cents_per_million = std::max(0.0, s.output_cents_per_million);
  return c;
}

bool KnownProvider(const std::string& provider, std::string& why) {
  if (provider == "openai" || provider == "anthropic" || provider == "local") return true;
  why = "provider '" + Excerpt(provider) + "' is not one this worker speaks (openai, anthropic, local)";
  return false;
}

std::string OpenAiRequestBody(const ModelCall& call) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  w.Key("model");
  WriteString(w, call.model);
  w.Key("messages");
  w.StartArray();
  if (!call.system.empty()) {
    w.StartObject();
    w.Key("role");
    w.String("system");
    w.Key("content");
    WriteString(w, call.system);
    w.EndObject();
  }
  w.StartObject();
  w.Key("role");
  w.String("user");
  w.Key("content");
  WriteString(w, call.prompt);
  w.EndObject();
  w.EndArray();
  w.Key("max_tokens");
  w.Int(call.max_tokens);
  if (call.temperature >= 0) {
    w.Key("temperature");
    w.Double(call.temperature);
  }
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

std::string AnthropicRequestBody(const ModelCall& call) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  w.Key("model");
  WriteString(w, call.model);
  w.Key("max_tokens");
  w.Int(call.max_tokens);
  if (!call.system.empty()) {
    w.Key("system");
    WriteString(w, call.system);
  }
  w.Key("messages");
  w.StartArray();
  w.StartObject();
  w.Key("role");
  w.String("user");
  w.Key("content");
  WriteString(w, call.prompt);
  w.EndObject();
  w.EndArray();
  if (call.temperature >= 0) {
    w.Key("temperature");
    w.Double(call.temperature);
  }
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

ModelAnswer ParseOpenAiResponse(int status, std::string_view body) {
  if (status < 200 || status >= 300) return ErrorAnswer(status, body);
  constexpr std::string_view kWhat = "a chat completion";
  ModelAnswer a;
  rapidjson::Document doc;
  if (!ParseBody(body, doc, kWhat, a)) return a;
  // Some compatible servers answer 200 with an error object.
  if (const auto* error = Member(doc, "error"); error && !error->IsNull()) return ErrorAnswer(status, body);
  const rapidjson::Value* choices = Member(doc, "choices");
  if (!choices || !choices->IsArray() || choices->Empty() || !(*choices)[0].IsObject())
    return Malformed(kWhat, "it has no choices");
  const rapidjson::Value& choice = (*choices)[0];
  const rapidjson::Value* message = Member(choice, "message");
  if (!message || !message->IsObject()) return Malformed(kWhat, "choices[0] has no message");
  const rapidjson::Value* content = Member(*message, "content");
  if (!content || !content->IsString()) {
    if (const auto* refusal = Member(*message, "refusal"); refusal && refusal->IsString())
      return Malformed(kWhat, "the model refused: " + Excerpt(StringOf(*refusal), 400));
    if (Member(*message, "tool_calls"))
      return Malformed(kWhat, "the model asked for tool calls, which this node does not offer");
    return Malformed(kWhat, "choices[0].message.content is not text");
  }
  a.kind = ModelAnswer::Kind::kAnswer;
  a.text = StringOf(*content);
  if (!Text(a.text)) return Malformed(kWhat, "its text holds a NUL or bytes that are not UTF-8");
  a.stop_reason = Clean(std::string(StringAt(choice, "finish_reason")));
  a.model = Clean(std::string(StringAt(doc, "model")));
  if (const auto* usage = Member(doc, "usage"); usage && usage->IsObject()) {
    a.input_tokens = IntAt(*usage, "prompt_tokens");
    a.output_tokens = IntAt(*usage, "completion_tokens");
  }
  return a;
}

ModelAnswer ParseAnthropicResponse(int status, std::string_view body) {
  if (status < 200 || status >= 300) return ErrorAnswer(status, body);
  constexpr std::string_view kWhat = "a message";
  ModelAnswer a;
  rapidjson::Document doc;
  if (!ParseBody(body, doc, kWhat, a)) return a;
  if (StringAt(doc, "type") == "error") return ErrorAnswer(status, body);
  const rapidjson::Value* content = Member(doc, "content");
  if (!content || !content->IsArray()) return Malformed(kWhat, "it has no content array");
  bool any_text = false;
  for (const auto& block : content->GetArray()) {
    if (StringAt(block, "type") != "text") continue;  // tool_use, thinking: not offered, not text
    const rapidjson::Value* text = Member(block, "text");
    if (!text || !text->IsString()) return Malformed(kWhat, "a text block has no text");
    a.text.append(text->GetString(), text->GetStringLength());
    any_text = true;
  }
  a.stop_reason = std::string(StringAt(doc, "stop_reason"));
  if (!any_text) {
    if (a.stop_reason == "refusal") return Malformed(kWhat, "the model refused (stop_reason refusal)");
    if (a.stop_reason == "tool_use")
      return Malformed(kWhat, "the model asked for a tool (stop_reason tool_use), which this node does not offer");
    if (!content->Empty()) return Malformed(kWhat, "its content has no text block");
  }
  if (!Text(a.text)) return Malformed(kWhat, "its text holds a NUL or bytes that are not UTF-8");
  a.kind = ModelAnswer::Kind::kAnswer;
  a.stop_reason = Clean(std::move(a.stop_reason));
  a.model = Clean(std::string(StringAt(doc, "model")));
  if (const auto* usage = Member(doc, "usage"); usage && usage->IsObject()) {
    a.input_tokens = IntAt(*usage, "input_tokens");
    a.output_tokens = IntAt(*usage, "output_tokens");
  }
  return a;
}

ModelAnswer LocalModelAnswer(const ModelCall& call) {
  // FNV-1a over the system prompt and the prompt: the same call, the same text.
  uint64_t h = 1469598103934665603ULL;
  for (std::string_view part : {std::string_view(call.system), std::string_view("\x1f"), std::string_view(call.prompt)})
    for (unsigned char c : part) h = (h ^ c) * 1099511628211ULL;
  char digest[17];
  std::snprintf(digest, sizeof digest, "%016llx", static_cast<unsigned long long>(h));
  ModelAnswer a;
  a.kind = ModelAnswer::Kind::kAnswer;
  a.model = call.model.empty() ? "local" : call.model;
  a.text = "[local " + std::string(digest, 8) + "] " + call.prompt;
  a.stop_reason = "stop";
  // At most max_tokens (four bytes each), cut on a character boundary.
  const size_t max_bytes = static_cast<size_t>(call.max_tokens) * 4;
  if (a.text.size() > max_bytes) {
    size_t cut = max_bytes;
    while (cut > 0 && (static_cast<unsigned char>(a.text[cut]) & 0xC0) == 0x80) --cut;
    a.text.resize(cut);
    a.stop_reason = "length";
  }
  a.input_tokens = LocalTokens(call.system.size() + call.prompt.size());
  a.output_tokens = LocalTokens(a.text.size());
  return a;
}

double CostCents(const ModelCall& call, const ModelAnswer& answer) {
  return (static_cast<double>(answer.input_tokens) * call.input_cents_per_million +
          static_cast<double>(answer.output_tokens) * call.output_cents_per_million) /
         1e6;
}

std::string AgentNodeOutput(const ModelCall& call, const ModelAnswer& answer, std::string_view provider) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  w.Key("text");
  WriteString(w, answer.text);
  w.Key("provider");
  WriteString(w, provider);
  w.Key("model");
  WriteString(w, answer.model.empty() ? call.model : answer.model);
  w.Key("stopReason");
  WriteString(w, answer.stop_reason);
  w.Key("usage");
  w.StartObject();
  w.Key("inputTokens");
  w.Int64(answer.input_tokens);
  w.Key("outputTokens");
  w.Int64(answer.output_tokens);
  w.Key("totalTokens");
  w.Int64(answer.input_tokens + answer.output_tokens);
  w.EndObject();
  w.Key("cost");
  w.Double(CostCents(call, answer));
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

void AgentUsage(const rapidjson::Value& output, int64_t& tokens, double& cost_cents) {
  tokens = 0;
  cost_cents = 0;
  if (const auto* usage = Member(output, "usage"); usage && usage->IsObject()) tokens = IntAt(*usage, "totalTokens");
  if (const auto* cost = Member(output, "cost"); cost && cost->IsNumber() && std::isfinite(cost->GetDouble()) &&
                                                 cost->GetDouble() >= 0)
    cost_cents = cost->GetDouble();
}

}  // namespace hub::engine
