#pragma once
// `http_request` nodes, the pure part: the node's configuration, the request
// it renders (what a step runner sends, stored with the step so a retry sends
// the same thing), how a response becomes the node's output, and which
// outcomes are worth another attempt.  The call itself is made by the step
// runner outside any transaction (consumers/workflow_step_runner).
//
// data: {"method": "POST", "url": "https://api.example.com/x/{{input.id}}",
//        "headers": {"Authorization": "Bearer {{variables.token}}"},
//        "body": "{\"name\": \"{{input.name}}\"}",
//        "retry": {"maxAttempts": 3, "backoffMs": 1000}, "timeoutMs": 10000}
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <rapidjson/document.h>

#include "engine/template.hpp"

namespace hub::engine {

struct NodeRetry {
  int max_attempts = 3;      // calls in all, the first included
  int64_t backoff_ms = 1000;  // before the second call; doubles, with jitter
};

struct HttpNodeConfig {
  std::string method = "GET";
  Template url;
  std::vector<std::pair<std::string, Template>> headers;
  Template body;
  bool has_body = false;
  NodeRetry retry;
  int64_t timeout_ms = 10000;  // one call, connect included
};

// Throws std::invalid_argument naming the node and the field.
std::shared_ptr<const HttpNodeConfig> CompileHttpNode(const std::string& node_id, const rapidjson::Value& data);

// What the step runner sends.
struct HttpRequestSpec {
  std::string method;
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  int64_t timeout_ms = 10000;
  NodeRetry retry;
};

// Throws ExecutionError (template errors, limits).
HttpRequestSpec RenderHttpRequest(const HttpNodeConfig& node, const TemplateContext& ctx);
std::string ToJson(const HttpRequestSpec& r);
// False (and `why`) when `json` is not a request ToJson made.
bool FromJson(std::string_view json, HttpRequestSpec& r, std::string& why);

struct HttpResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// {"status": 200, "headers": {"content-type": "..."}, "body": <the body as
// JSON when it parses as JSON, else the text>}; header names lower-cased.
std::string HttpNodeOutput(const HttpResponse& response);

// 5xx, 429 and 408 are worth another attempt; other statuses are the answer.
bool RetryableStatus(int status);

}  // namespace hub::engine
