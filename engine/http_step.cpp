#include "engine/http_step.hpp"

#include <algorithm>
#include <stdexcept>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "common/json_text.hpp"

namespace hub::engine {
namespace {

std::string StringOf(const rapidjson::Value& v) { return {v.GetString(), v.GetStringLength()}; }

int64_t IntMember(const rapidjson::Value& obj, const char* key, int64_t def, int64_t lo, int64_t hi,
                  const std::string& where) {
  auto m = obj.FindMember(key);
  if (m == obj.MemberEnd()) return def;
  if (!m->value.IsInt64() || m->value.GetInt64() < lo || m->value.GetInt64() > hi)
    throw std::invalid_argument(where + key + " must be an integer from " + std::to_string(lo) + " to " +
                                std::to_string(hi));
  return m->value.GetInt64();
}

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

std::shared_ptr<const HttpNodeConfig> CompileHttpNode(const std::string& node_id, const rapidjson::Value& data) {
  auto cfg = std::make_shared<HttpNodeConfig>();
  const std::string where = "http_request node '" + node_id + "': data.";
  auto method = data.FindMember("method");
  if (method != data.MemberEnd()) {
    if (!method->value.IsString()) throw std::invalid_argument(where + "method must be a string");
    cfg->method = StringOf(method->value);
    for (auto& c : cfg->method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    static const char* kMethods[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"};
    if (std::none_of(std::begin(kMethods), std::end(kMethods), [&](const char* m) { return cfg->method == m; }))
      throw std::invalid_argument(where + "method '" + cfg->method + "' is not one of GET, POST, PUT, PATCH, DELETE, HEAD");
  }
  auto url = data.FindMember("url");
  if (url == data.MemberEnd() || !url->value.IsString() || url->value.GetStringLength() == 0)
    throw std::invalid_argument(where + "url is required (a template string)");
  cfg->url = Template::Compile(StringOf(url->value));
  auto headers = data.FindMember("headers");
  if (headers != data.MemberEnd()) {
    if (!headers->value.IsObject()) throw std::invalid_argument(where + "headers must be an object of strings");
    for (const auto& h : headers->value.GetObject()) {
      if (!h.value.IsString()) throw std::invalid_argument(where + "headers." + StringOf(h.name) + " must be a string");
      cfg->headers.emplace_back(StringOf(h.name), Template::Compile(StringOf(h.value)));
    }
  }
  auto body = data.FindMember("body");
  if (body != data.MemberEnd()) {
    if (!body->value.IsString()) throw std::invalid_argument(where + "body must be a template string");
    cfg->body = Template::Compile(StringOf(body->value));
    cfg->has_body = true;
  }
  auto retry = data.FindMember("retry");
  if (retry != data.MemberEnd()) {
    if (!retry->value.IsObject()) throw std::invalid_argument(where + "retry must be an object");
    cfg->retry.max_attempts = static_cast<int>(IntMember(retry->value, "maxAttempts", 3, 1, 20, where + "retry."));
    cfg->retry.backoff_ms = IntMember(retry->value, "backoffMs", 1000, 0, 3600000, where + "retry.");
  }
  // A call must end well within a step's lease (60 s), or another worker
  // could take the step over and call again.
  cfg->timeout_ms = IntMember(data, "timeoutMs", 10000, 1, 25000, where);
  return cfg;
}

HttpRequestSpec RenderHttpRequest(const HttpNodeConfig& node, const TemplateContext& ctx) {
  HttpRequestSpec r;
  r.method = node.method;
  node.url.RenderText(ctx, r.url);
  for (const auto& [name, tmpl] : node.headers) {
    std::string value;
    tmpl.RenderText(ctx, value);
    if (value.find_first_of("\r\n") != std::string::npos)
      throw ExecutionError("header " + name + " rendered a line break, which a header cannot hold");
    r.headers.emplace_back(name, std::move(value));
  }
  if (node.has_body) node.body.RenderText(ctx, r.body);
  r.timeout_ms = node.timeout_ms;
  r.retry = node.retry;
  return r;
}

std::string ToJson(const HttpRequestSpec& r) {
  std::string out = "{\"method\":";
  common::AppendJsonString(out, r.method);
  out += ",\"url\":";
  common::AppendJsonString(out, r.url);
  out += ",\"headers\":[";
  for (size_t i = 0; i < r.headers.size(); ++i) {
    if (i) out += ',';
    out += '[';
    common::AppendJsonString(out, r.headers[i].first);
    out += ',';
    common::AppendJsonString(out, r.headers[i].second);
    out += ']';
  }
  out += "],\"body\":";
  common::AppendJsonString(out, r.body);
  out += ",\"timeoutMs\":" + std::to_string(r.timeout_ms);
  out += ",\"maxAttempts\":" + std::to_string(r.retry.max_attempts);
  out += ",\"backoffMs\":" + std::to_string(r.retry.backoff_ms) + "}";
  return out;
}

bool FromJson(std::string_view json, HttpRequestSpec& r, std::string& why) {
  rapidjson::Document d;
  d.Parse(json.data(), json.size());
  auto str = [&](const char* k, std::string& dst) {
    auto m = d.FindMember(k);
    if (m == d.MemberEnd() || !m->value.IsString()) return false;
    dst = StringOf(m->value);
    return true;
  };
  auto num = [&](const char* k, int64_t& dst) {
    auto m = d.FindMember(k);
    if (m == d.MemberEnd() || !m->value.IsInt64()) return false;
    dst = m->value.GetInt64();
    return true;
  };
  int64_t attempts = 0;
  if (d.HasParseError() || !d.IsObject() || !str("method", r.method) || !str("url", r.url) || !str("body", r.body) ||
      !num("timeoutMs", r.timeout_ms) || !num("maxAttempts", attempts) || !num("backoffMs", r.retry.backoff_ms)) {
    why = "the stored request is not one this worker wrote";
    return false;
  }
  r.retry.max_attempts = static_cast<int>(attempts);
  r.headers.clear();
  auto h = d.FindMember("headers");
  if (h != d.MemberEnd() && h->value.IsArray())
    for (const auto& pair : h->value.GetArray())
      if (pair.IsArray() && pair.Size() == 2 && pair[0].IsString() && pair[1].IsString())
        r.headers.emplace_back(StringOf(pair[0]), StringOf(pair[1]));
  return true;
}

std::string HttpNodeOutput(const HttpResponse& response) {
  std::string out = "{\"status\":" + std::to_string(response.status) + ",\"headers\":{";
  std::vector<std::string> seen;
  bool first = true;
  for (const auto& [name, value] : response.headers) {
    std::string lower = Lower(name);
    if (std::find(seen.begin(), seen.end(), lower) != seen.end()) continue;  // the first of repeated headers
    seen.push_back(lower);
    if (!first) out += ',';
    first = false;
    common::AppendJsonString(out, lower);
    out += ':';
    common::AppendJsonString(out, value);
  }
  out += "},\"body\":";
  // Only text can be stored (jsonb refuses NUL and invalid UTF-8): other
  // bodies are described by their size.
  const std::string_view body_text = response.body;
  if (common::InvalidUtf8At(body_text) != std::string_view::npos || body_text.find('\0') != std::string_view::npos) {
    out += "null,\"bodyBytes\":" + std::to_string(body_text.size()) + "}";
    return out;
  }
  rapidjson::Document body;
  if (!body_text.empty() && !common::JsonNestsDeeperThan(body_text, 128)) body.Parse(body_text.data(), body_text.size());
  if (!body_text.empty() && !body.HasParseError() && !body.IsNull()) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    body.Accept(w);
    out.append(buf.GetString(), buf.GetSize());
  } else {
    common::AppendJsonString(out, body_text);
  }
  out += '}';
  return out;
}

bool RetryableStatus(int status) { return status >= 500 || status == 429 || status == 408; }

}  // namespace hub::engine
