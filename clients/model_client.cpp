#include "clients/model_client.hpp"

#include <stdexcept>

namespace hub::clients {
namespace {

// The Messages API version this worker's request and parser follow.
constexpr const char* kAnthropicVersion = "2023-06-01";

std::string Endpoint(const std::string& base, const char* path) {
  std::string url = base;
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url + path;
}

}  // namespace

std::string Redact(std::string text, const std::string& secret) {
  if (secret.empty()) return text;
  for (size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at))
    text.replace(at, secret.size(), "[redacted]");
  return text;
}

ModelClient::ModelClient(ModelClientOptions options) : options_(std::move(options)) {
  HttpClientOptions ho;
  ho.max_response_bytes = options_.max_response_bytes;
  ho.ca_file = options_.ca_file;
  for (const auto* endpoint : {&options_.openai, &options_.anthropic}) {
    if (endpoint->base_url.empty()) continue;
    ParsedUrl u;
    std::string why;
    if (!ParseUrl(endpoint->base_url, u, why)) throw std::invalid_argument(why);
    ho.allowlist.push_back(u.host);  // exactly: an internal address is allowed only this way
  }
  http_ = std::make_unique<HttpClient>(std::move(ho));
}

ModelOutcome ModelClient::Complete(const engine::ModelCall& call, int64_t timeout_ms,
                                   const std::string& idempotency_key) const {
  ModelOutcome out;
  std::string why;
  if (!engine::KnownProvider(call.provider, why)) {
    out.provider = call.provider;
    out.answer.kind = engine::ModelAnswer::Kind::kError;
    out.answer.error = why;
    return out;
  }
  const bool anthropic = call.provider == "anthropic";
  const ModelEndpoint& endpoint = anthropic ? options_.anthropic : options_.openai;
  if (call.provider == "local" || endpoint.base_url.empty()) {
    out.provider = "local";
    out.answer = engine::LocalModelAnswer(call);
    return out;
  }
  out.provider = call.provider;
  if (call.model.empty()) {
    out.answer.kind = engine::ModelAnswer::Kind::kError;
    out.answer.error = "no model is named: set modelConfig.model (or the agent's model_config.model)";
    return out;
  }
  engine::HttpRequestSpec request;
  request.method = "POST";
  request.timeout_ms = timeout_ms;
  request.headers.emplace_back("Content-Type", "application/json");
  if (anthropic) {
    request.url = Endpoint(endpoint.base_url, "/v1/messages");
    if (!endpoint.api_key.empty()) request.headers.emplace_back("x-api-key", endpoint.api_key);
    request.headers.emplace_back("anthropic-version", kAnthropicVersion);
    request.body = engine::AnthropicRequestBody(call);
  } else {
    request.url = Endpoint(endpoint.base_url, "/chat/completions");
    if (!endpoint.api_key.empty()) request.headers.emplace_back("Authorization", "Bearer " + endpoint.api_key);
    request.body = engine::OpenAiRequestBody(call);
  }
  out.called = true;
  HttpOutcome o = http_->Send(request, {{"Idempotency-Key", idempotency_key}});
  switch (o.kind) {
    case HttpOutcome::Kind::kResponse:
      out.answer = anthropic ? engine::ParseAnthropicResponse(o.response.status, o.response.body)
                             : engine::ParseOpenAiResponse(o.response.status, o.response.body);
      out.retry_after_ms = o.retry_after_ms;
      break;
    case HttpOutcome::Kind::kRetryable:
      out.answer.kind = engine::ModelAnswer::Kind::kRetryable;
      out.answer.error = "the model call failed: " + o.error;
      break;
    case HttpOutcome::Kind::kRefused:
      out.answer.kind = engine::ModelAnswer::Kind::kError;
      out.answer.error = "the model call failed: " + o.error;
      break;
  }
  out.answer.error = Redact(std::move(out.answer.error), endpoint.api_key);
  out.answer.text = Redact(std::move(out.answer.text), endpoint.api_key);
  return out;
}

}  // namespace hub::clients
