#pragma once
// `ai_agent` nodes, the pure part: the node's configuration, the request it
// renders when the execution parks (stored with the step, so every attempt
// asks the same), the model settings of an agent (ai_agents.model_config and
// personality), the request bodies of the two wire formats (OpenAI Chat
// Completions, Anthropic Messages), how their answers (and error bodies) are
// read, the built-in `local` provider, and the node's output.  The call
// itself is made by the step runner outside any transaction, through
// clients::ModelClient.
//
// data: {"agentId": "agent_1",                       an agent of the organisation, or
//        "modelConfig": {"provider": "anthropic",    an inline config (over the agent's)
//                        "model": "claude-sonnet-4", "temperature": 0.2,
//                        "maxTokens": 512, "systemPrompt": "You are ...",
//                        "pricing": {"inputCentsPerMillion": 300, "outputCentsPerMillion": 1500}},
//        "prompt": "Summarise {{input.text}}",       a template (required)
//        "systemPrompt": "...", "maxTokens": 256,    templates / overrides of the config
//        "retry": {"maxAttempts": 3, "backoffMs": 1000}, "timeoutMs": 20000}
//
// Node output: {"text": "...", "provider": "openai", "model": "...",
// "stopReason": "stop", "usage": {"inputTokens": 12, "outputTokens": 40,
// "totalTokens": 52}, "cost": 0.07} (cost in US cents).
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <rapidjson/document.h>

#include "engine/http_step.hpp"
#include "engine/template.hpp"

namespace hub::engine {

// The most output tokens a node may ask for, and what it asks without a
// setting: a tenant cannot make one call arbitrarily long or costly.
inline constexpr int kMaxAgentTokens = 32768;
inline constexpr int kDefaultAgentTokens = 1024;
inline constexpr int64_t kMaxAgentTimeoutMs = 25000;  // well within a step's lease, as http_request

// What decides a model call.  Unset fields are empty / negative, so that a
// node's settings can be laid over its agent's (Merge).
struct ModelSettings {
  std::string provider;  // "openai" (any OpenAI-compatible endpoint), "anthropic", "local"
  std::string model;
  std::string system;  // the system prompt
  int max_tokens = 0;  // 0: unset
  double temperature = -1;
  double input_cents_per_million = -1;
  double output_cents_per_million = -1;
};

// `over`'s set fields replace `base`'s.
ModelSettings Merge(const ModelSettings& base, const ModelSettings& over);

// A model_config object (camelCase keys; max_tokens and system_prompt are
// taken too).  Throws std::invalid_argument naming `where` and the field.
ModelSettings ParseModelConfig(const rapidjson::Value& config, const std::string& where);

// An agent row's settings: its model_config, with its personality (traits,
// communication style, behaviour) appended to the system prompt as JSON.
// False (and `why`) when model_config is not an object of valid settings.
bool AgentSettings(std::string_view model_config_json, std::string_view personality_json, ModelSettings& out,
                   std::string& why);

struct AgentNodeConfig {
  std::string agent_id;    // empty: the inline config only
  ModelSettings settings;  // the node's modelConfig and maxTokens
  Template prompt;
  Template system;
  bool has_system = false;
  NodeRetry retry;
  int64_t timeout_ms = 20000;
};

// Throws std::invalid_argument naming the node and the field.
std::shared_ptr<const AgentNodeConfig> CompileAgentNode(const std::string& node_id, const rapidjson::Value& data);

// What the step runner asks, rendered when the execution parked.
struct AgentRequestSpec {
  std::string agent_id;
  ModelSettings settings;  // the node's (its rendered systemPrompt included)
  std::string prompt;
  int64_t timeout_ms = 20000;
  NodeRetry retry;
};

// Throws ExecutionError (template errors, limits, an empty prompt).
AgentRequestSpec RenderAgentRequest(const AgentNodeConfig& node, const TemplateContext& ctx);
std::string ToJson(const AgentRequestSpec& r);
// False (and `why`) when `json` is not a request ToJson made.
bool FromJson(std::string_view json, AgentRequestSpec& r, std::string& why);

// One call as a provider gets it: the agent's settings under the node's,
// defaults applied (provider "openai", kDefaultAgentTokens, no temperature).
struct ModelCall {
  std::string provider;
  std::string model;
  std::string system;
  std::string prompt;
  int max_tokens = kDefaultAgentTokens;
  double temperature = -1;  // < 0: the provider's default
  double input_cents_per_million = 0;
  double output_cents_per_million = 0;
};
ModelCall ResolveModelCall(const ModelSettings& agent, const AgentRequestSpec& request);
// Whether `provider` is one this worker speaks; `why` names them when not.
bool KnownProvider(const std::string& provider, std::string& why);

// POST {base}/chat/completions: {"model", "messages": [system?, user],
// "max_tokens", "temperature"?}.
std::string OpenAiRequestBody(const ModelCall& call);
// POST {base}/v1/messages: {"model", "max_tokens", "system"?, "messages":
// [user], "temperature"?}.
std::string AnthropicRequestBody(const ModelCall& call);

struct ModelAnswer {
  enum class Kind {
    kAnswer,     // text and usage
    kError,      // a definite failure: a 4xx with the provider's reason, a malformed answer
    kRetryable,  // 408, 429, 5xx (Anthropic's 529 included), no answer at all
  };
  Kind kind = Kind::kError;
  std::string text;
  std::string model;        // as the provider reports it
  std::string stop_reason;  // finish_reason / stop_reason
  std::string error;
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
};

// A Chat Completions answer: choices[0].message.content, finish_reason,
// usage.prompt_tokens/completion_tokens; an error body {"error": {"message",
// "type", "code"}}.
ModelAnswer ParseOpenAiResponse(int status, std::string_view body);
// A Messages answer: the text blocks of content, stop_reason,
// usage.input_tokens/output_tokens; an error body {"type": "error", "error":
// {"type", "message"}}.
ModelAnswer ParseAnthropicResponse(int status, std::string_view body);

// The built-in `local` provider: no network, not a language model.  Its text
// is a deterministic function of the call (a digest and an excerpt of the
// prompt), its token counts are bytes / 4, and it costs nothing: workflows
// with agents run offline (demo, tests) and always give the same output.
ModelAnswer LocalModelAnswer(const ModelCall& call);

// US cents: the tokens at the call's prices.
double CostCents(const ModelCall& call, const ModelAnswer& answer);

// The node's output (see the top of this file); `provider` is the one that
// answered.
std::string AgentNodeOutput(const ModelCall& call, const ModelAnswer& answer, std::string_view provider);

// What an agent node's output says it used (0 when it says nothing).
void AgentUsage(const rapidjson::Value& output, int64_t& tokens, double& cost_cents);

}  // namespace hub::engine
