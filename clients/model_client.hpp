#pragma once
// The model calls of `ai_agent` steps.  Which endpoint answers a call
// follows its provider: "anthropic" goes to the Anthropic Messages endpoint
// (HUB_ANTHROPIC_BASE_URL, `x-api-key`, `anthropic-version`), "openai" to the
// OpenAI-compatible Chat Completions endpoint (HUB_LLM_BASE_URL, `Authorization:
// Bearer`), and "local", or a provider whose endpoint is not configured, to
// the built-in deterministic `local` provider (engine::LocalModelAnswer), which
// makes no call at all.
//
// The endpoints are the operator's settings, not a tenant's: the HTTP client
// underneath may call exactly their hosts (internal addresses included) and
// nothing else, with the same deadlines, TLS checks, capped bodies and kept
// connections as http_request steps.  API keys go into headers only: they are
// never stored with a step, and an error text that echoes one has it
// replaced by "[redacted]".  Thread-safe.
#include <cstdint>
#include <memory>
#include <string>

#include "clients/http_client.hpp"
#include "engine/agent_step.hpp"

namespace hub::clients {

struct ModelEndpoint {
  std::string base_url;  // empty: not configured (calls go to the local provider)
  std::string api_key;
};

struct ModelClientOptions {
  ModelEndpoint openai;     // HUB_LLM_BASE_URL / HUB_LLM_API_KEY
  ModelEndpoint anthropic;  // HUB_ANTHROPIC_BASE_URL / HUB_ANTHROPIC_API_KEY
  size_t max_response_bytes = 1 << 20;
  std::string ca_file;
};

struct ModelOutcome {
  engine::ModelAnswer answer;
  std::string provider;         // the one that answered: "openai", "anthropic" or "local"
  int64_t retry_after_ms = -1;  // Retry-After of the answer, if any
  bool called = false;          // a request went out (not the local provider)
};

class ModelClient {
 public:
  // Throws std::invalid_argument for a base URL that is not http(s)://host[:port][/path].
  explicit ModelClient(ModelClientOptions options);
  // Blocks for at most `timeout_ms`.
  ModelOutcome Complete(const engine::ModelCall& call, int64_t timeout_ms, const std::string& idempotency_key) const;

 private:
  ModelClientOptions options_;
  std::unique_ptr<HttpClient> http_;
};

// `text` with every occurrence of `secret` (when not empty) replaced by "[redacted]".
std::string Redact(std::string text, const std::string& secret);

}  // namespace hub::clients
