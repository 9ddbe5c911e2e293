#include "worker/config.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include <libpq-fe.h>

#include "clients/http_client.hpp"
#include "common/error.hpp"
#include "common/secret_box.hpp"

namespace hub::worker {
using common::ConfigError;

const std::vector<SettingSpec>& AllSettings() {
  static const std::vector<SettingSpec> kSpecs = {
      {"HUB_DATABASE_URL", "libpq URI of PostgreSQL >= 15, e.g. postgresql://hub:pw@127.0.0.1:5432/hub", "required"},
      {"HUB_KAFKA_BROKERS", "bootstrap servers; empty = start the embedded broker in-process", ""},
      {"HUB_KAFKA_GROUP", "consumer group id", "hub-worker"},
      {"HUB_KAFKA_CONFIG", "extra librdkafka properties, k=v,k=v", ""},
      {"HUB_TOPIC_PREFIX", "prefix of every topic name", "hub."},
      {"HUB_HTTP_ADDR", "address of /metrics, /healthz, /readyz", "127.0.0.1:9464"},
      {"HUB_LOG_LEVEL", "debug|info|warn|error", "info"},
      {"HUB_LOG_FORMAT", "json|text", "json; text when stderr is a terminal"},
      {"HUB_SHUTDOWN_TIMEOUT", "seconds to drain on SIGTERM", "30"},
      {"HUB_SECRET_KEY", "base64 32-byte key that encrypts integration credentials (signing secrets); unset = webhooks are refused (dead letters, class signature)", ""},
      {"HUB_SECRET_KEYS_OLD", "earlier HUB_SECRET_KEY values (comma list), still accepted for decryption until `hubworker secret rotate` re-encrypted everything", ""},
      {"HUB_LLM_BASE_URL", "OpenAI-compatible endpoint (POST {base}/chat/completions) for ai_agent steps; unset = the built-in deterministic local provider (no network, not a model)", ""},
      {"HUB_LLM_API_KEY", "API key for HUB_LLM_BASE_URL (Authorization: Bearer)", ""},
      {"HUB_ANTHROPIC_BASE_URL", "Anthropic Messages endpoint (POST {base}/v1/messages) for agents whose model_config.provider is anthropic; unset = the local provider", ""},
      {"HUB_ANTHROPIC_API_KEY", "API key for HUB_ANTHROPIC_BASE_URL (x-api-key)", ""},
      {"HUB_HTTP_ALLOWLIST", "hosts http_request steps may call (comma list; *.example.com for subdomains; internal addresses only when listed exactly)", ""},
      {"HUB_STEP_CONCURRENCY", "outside calls (HTTP, model) in flight per process", "64"},
      {"HUB_STEP_LEASE_MS", "a claimed durable step is held this long (ms); a crashed worker's steps are taken over after it; calls are cut 1 s before it ends", "60000"},
      {"HUB_HTTP_CA_FILE", "extra trusted CA certificates (PEM) for https calls, besides the system's", ""},
      {"HUB_HTTP_MAX_RESPONSE_BYTES", "largest http_request response body; larger ones fail the node", "1048576"},
      {"HUB_KAFKA_PARTITIONS", "partitions of topics created by the embedded broker", "12"},
      {"HUB_WORKER_THREADS", "processing lanes, each with its own database connection", "2"},
      {"HUB_BATCH_MAX", "events applied in one database transaction at most", "2000"},
      {"HUB_BATCH_LINGER_US", "a lane woken by fewer than HUB_BATCH_MAX events waits this long (us) for more", "2000"},
      {"HUB_MAX_INFLIGHT", "events in flight before consumption is held (the partitions are paused if that lasts over 1 s)", "20000"},
      {"HUB_FETCH_WAIT_MS", "Kafka fetch.wait.max.ms", "10"},
      {"HUB_SESSION_TIMEOUT_MS", "consumer group session timeout (ms)", "10000"},
      {"HUB_LAG_INTERVAL_MS", "how often the high watermarks of the assigned partitions are read for hub_consumer_lag (ms)", "5000"},
      {"HUB_RETRY_MAX_ATTEMPTS", "attempts for transient failures before dead-lettering", "5"},
      {"HUB_RETRY_BASE_MS", "first retry backoff (ms), doubled per attempt, with jitter", "100"},
      {"HUB_RELAY_BATCH", "outbox rows published per relay round", "2000"},
      {"HUB_RELAY_POLL_MS", "outbox polling fallback interval (ms)", "500"},
      {"HUB_RELAY_GRACE_MS", "the relay leaves outbox rows younger than this (ms) to the worker that committed them", "40000"},
      {"HUB_MAX_RENDERED_VALUE_BYTES", "bytes one rendered template value may reach before its execution fails", "262144"},
      {"HUB_MAX_EXECUTION_BYTES", "bytes all rendered values of one execution may reach before it fails", "1048576"},
      {"HUB_MAX_OUTPUT_BYTES", "bytes of an execution's output JSON before it fails (bounds the completion event)", "262144"},
      {"HUB_MAX_NODES_EXECUTED", "nodes one execution may run before it fails", "500"},
  };
  return kSpecs;
}

std::string FlagName(const std::string& env_name) {
  std::string s = env_name.substr(env_name.rfind("HUB_", 0) == 0 ? 4 : 0);
  for (auto& c : s) c = (c == '_') ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return "--" + s;
}

namespace {

// A model endpoint's base URL: http(s)://host[:port][/path], or empty.
std::string ModelBaseUrl(const std::string& name, const std::string& v) {
  if (v.empty()) return v;
  clients::ParsedUrl u;
  std::string why;
  if (!clients::ParseUrl(v, u, why) || v.find('?') != std::string::npos)
    throw ConfigError(name + ": expected http(s)://host[:port][/path] without a query, got '" + v + "'" +
                      (why.empty() ? "" : " (" + why + ")"));
  return v;
}

int ParseInt(const std::string& name, const std::string& v, int min, int max) {
  if (v.empty()) throw ConfigError(name + ": expected an integer, got an empty value");
  size_t pos = 0;
  long long n = 0;
  try {
    n = std::stoll(v, &pos);
  } catch (const std::exception&) {
    pos = 0;
  }
  if (pos != v.size()) throw ConfigError(name + ": expected an integer, got '" + v + "'");
  if (n < min || n > max)
    throw ConfigError(name + ": must be between " + std::to_string(min) + " and " + std::to_string(max) +
                      ", got " + v);
  return static_cast<int>(n);
}

std::vector<std::string> SplitComma(const std::string& v) {
  std::vector<std::string> out;
  std::stringstream ss(v);
  std::string item;
  while (std::getline(ss, item, ',')) {
    auto b = item.find_first_not_of(" \t");
    auto e = item.find_last_not_of(" \t");
    if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
  }
  return out;
}

}  // namespace

int ProducerMessageMaxBytes(const Settings& s) {
  int message_max = 1000000;  // librdkafka's default
  for (const auto& [k, v] : s.kafka_config)
    if (k == "message.max.bytes") message_max = ParseInt("HUB_KAFKA_CONFIG (message.max.bytes)", v, 1000, 1000000000);
  return message_max;
}

void CheckDatabaseUrl(const std::string& url) {
  const char* kForm = " (expected a libpq URI such as postgresql://user@host:5432/dbname, or key=value pairs)";
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(url.c_str(), &err);
  if (!opts) {
    std::string why = err ? err : "cannot be parsed";
    if (err) PQfreemem(err);
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    // libpq quotes the text it stopped at, which could be a password.
    const bool may_hold_secret = url.find('@') != std::string::npos || url.find("password") != std::string::npos;
    throw ConfigError("HUB_DATABASE_URL: not a valid connection string" + std::string(kForm) +
                      (may_hold_secret ? std::string() : ": " + why));
  }
  std::string bad_port;
  for (PQconninfoOption* o = opts; o->keyword; ++o) {
    if (std::string(o->keyword) != "port" || !o->val) continue;
    for (const auto& p : SplitComma(o->val)) {
      const bool digits = !p.empty() && p.size() <= 5 && p.find_first_not_of("0123456789") == std::string::npos;
      if (!digits || std::stoi(p) < 1 || std::stoi(p) > 65535) bad_port = p;
    }
  }
  PQconninfoFree(opts);
  if (!bad_port.empty())
    throw ConfigError("HUB_DATABASE_URL: port '" + bad_port + "' is not a number between 1 and 65535" + kForm);
}

std::pair<std::string, uint16_t> ParseHostPort(const std::string& setting, const std::string& value) {
  auto colon = value.rfind(':');
  if (colon == std::string::npos || colon == 0)
    throw ConfigError(setting + ": expected host:port, got '" + value + "'");
  std::string host = value.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  int port = ParseInt(setting, value.substr(colon + 1), 0, 65535);
  return {host, static_cast<uint16_t>(port)};
}

namespace {
bool Wanted(const std::vector<std::string>* only, const std::string& env) {
  return !only || std::find(only->begin(), only->end(), env) != only->end();
}
}  // namespace

Settings LoadSettings(const std::map<std::string, std::string>& flags, const std::vector<std::string>* only) {
  std::map<std::string, std::string> values;
  for (const auto& spec : AllSettings()) {
    if (!Wanted(only, spec.env)) continue;
    if (const char* v = std::getenv(spec.env)) values[spec.env] = v;
  }
  for (const auto& [k, v] : flags) values[k] = v;
  auto has = [&](const char* k) { return values.count(k) > 0; };
  auto get = [&](const char* k) { return values[k]; };

  Settings s;
  if (has("HUB_DATABASE_URL")) {
    s.database_url = get("HUB_DATABASE_URL");
    if (!s.database_url.empty()) CheckDatabaseUrl(s.database_url);
  }
  if (has("HUB_KAFKA_BROKERS")) s.kafka_brokers = get("HUB_KAFKA_BROKERS");
  if (has("HUB_KAFKA_GROUP")) {
    s.kafka_group = get("HUB_KAFKA_GROUP");
    if (s.kafka_group.empty()) throw ConfigError("HUB_KAFKA_GROUP: must not be empty");
  }
  if (has("HUB_KAFKA_CONFIG")) {
    for (const auto& kv : SplitComma(get("HUB_KAFKA_CONFIG"))) {
      auto eq = kv.find('=');
      if (eq == std::string::npos || eq == 0)
        throw ConfigError("HUB_KAFKA_CONFIG: expected k=v,k=v; the item '" + kv.substr(0, kv.find('=')) +
                          "' has no '='");
      s.kafka_config.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
    }
  }
  if (has("HUB_TOPIC_PREFIX")) s.topic_prefix = get("HUB_TOPIC_PREFIX");
  for (char c : s.topic_prefix) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-'))
      throw ConfigError("HUB_TOPIC_PREFIX: only letters, digits, '.', '_' and '-' are allowed, got '" +
                        s.topic_prefix + "'");
  }
  if (has("HUB_HTTP_ADDR")) {
    s.http_addr = get("HUB_HTTP_ADDR");
    ParseHostPort("HUB_HTTP_ADDR", s.http_addr);
  }
  if (has("HUB_LOG_LEVEL")) {
    const auto v = get("HUB_LOG_LEVEL");
    if (v == "debug") s.log_level = common::LogLevel::kDebug;
    else if (v == "info") s.log_level = common::LogLevel::kInfo;
    else if (v == "warn") s.log_level = common::LogLevel::kWarn;
    else if (v == "error") s.log_level = common::LogLevel::kError;
    else throw ConfigError("HUB_LOG_LEVEL: expected debug|info|warn|error, got '" + v + "'");
  }
  // People read a terminal; log collectors read JSON.
  s.log_json = isatty(STDERR_FILENO) == 0;
  if (has("HUB_LOG_FORMAT")) {
    const auto v = get("HUB_LOG_FORMAT");
    if (v == "json") s.log_json = true;
    else if (v == "text") s.log_json = false;
    else throw ConfigError("HUB_LOG_FORMAT: expected json|text, got '" + v + "'");
  }
  if (has("HUB_SHUTDOWN_TIMEOUT")) s.shutdown_timeout_s = ParseInt("HUB_SHUTDOWN_TIMEOUT", get("HUB_SHUTDOWN_TIMEOUT"), 1, 3600);
  if (has("HUB_SECRET_KEY")) s.secret_key = get("HUB_SECRET_KEY");
  if (has("HUB_SECRET_KEYS_OLD")) s.secret_keys_old = SplitComma(get("HUB_SECRET_KEYS_OLD"));
  if (!s.secret_key.empty() || !s.secret_keys_old.empty())
    common::SecretKeyring::FromBase64(s.secret_key, s.secret_keys_old);  // throws ConfigError naming the setting
  if (has("HUB_LLM_BASE_URL")) s.llm_base_url = ModelBaseUrl("HUB_LLM_BASE_URL", get("HUB_LLM_BASE_URL"));
  if (has("HUB_LLM_API_KEY")) s.llm_api_key = get("HUB_LLM_API_KEY");
  if (has("HUB_ANTHROPIC_BASE_URL"))
    s.anthropic_base_url = ModelBaseUrl("HUB_ANTHROPIC_BASE_URL", get("HUB_ANTHROPIC_BASE_URL"));
  if (has("HUB_ANTHROPIC_API_KEY")) s.anthropic_api_key = get("HUB_ANTHROPIC_API_KEY");
  if (has("HUB_HTTP_ALLOWLIST")) s.http_allowlist = SplitComma(get("HUB_HTTP_ALLOWLIST"));
  if (has("HUB_HTTP_CA_FILE")) {
    s.http_ca_file = get("HUB_HTTP_CA_FILE");
    if (!s.http_ca_file.empty()) {
      std::FILE* f = std::fopen(s.http_ca_file.c_str(), "r");
      if (!f) throw ConfigError("HUB_HTTP_CA_FILE: cannot read '" + s.http_ca_file + "'");
      std::fclose(f);
    }
  }

  struct IntSetting { const char* name; int* field; int min; int max; };
  const IntSetting ints[] = {
      {"HUB_KAFKA_PARTITIONS", &s.kafka_partitions, 1, 1000},
      {"HUB_WORKER_THREADS", &s.worker_threads, 1, 64},
      {"HUB_BATCH_MAX", &s.batch_max, 1, 100000},
      {"HUB_BATCH_LINGER_US", &s.batch_linger_us, 0, 1000000},
      {"HUB_MAX_INFLIGHT", &s.max_inflight, 1, 10000000},
      {"HUB_FETCH_WAIT_MS", &s.fetch_wait_ms, 0, 60000},
      {"HUB_SESSION_TIMEOUT_MS", &s.session_timeout_ms, 3000, 600000},
      {"HUB_LAG_INTERVAL_MS", &s.lag_interval_ms, 100, 600000},
      {"HUB_RETRY_MAX_ATTEMPTS", &s.retry_max_attempts, 1, 1000},
      {"HUB_RETRY_BASE_MS", &s.retry_base_ms, 1, 600000},
      {"HUB_RELAY_BATCH", &s.relay_batch, 1, 100000},
      {"HUB_RELAY_POLL_MS", &s.relay_poll_ms, 1, 600000},
      {"HUB_RELAY_GRACE_MS", &s.relay_grace_ms, 0, 3600000},
      {"HUB_MAX_RENDERED_VALUE_BYTES", &s.max_rendered_value_bytes, 64, 64 << 20},
      {"HUB_MAX_EXECUTION_BYTES", &s.max_execution_bytes, 64, 256 << 20},
      {"HUB_MAX_OUTPUT_BYTES", &s.max_output_bytes, 2, 64 << 20},
      {"HUB_MAX_NODES_EXECUTED", &s.max_nodes_executed, 1, 100000},
      {"HUB_STEP_CONCURRENCY", &s.step_concurrency, 1, 4096},
      {"HUB_STEP_LEASE_MS", &s.step_lease_ms, 2000, 3600000},
      {"HUB_HTTP_MAX_RESPONSE_BYTES", &s.http_max_response_bytes, 1024, 64 << 20},
  };
  for (const auto& is : ints) {
    if (has(is.name)) *is.field = ParseInt(is.name, get(is.name), is.min, is.max);
  }
  ProducerMessageMaxBytes(s);  // checks the value
  return s;
}

void SplitArgs(const std::vector<std::string>& args, std::map<std::string, std::string>& flags,
               std::vector<std::string>& rest, const std::vector<std::string>* only) {
  std::map<std::string, std::string> by_flag;
  for (const auto& spec : AllSettings())
    if (Wanted(only, spec.env)) by_flag[FlagName(spec.env)] = spec.env;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    std::string name = a, value;
    bool has_value = false;
    if (auto eq = a.find('='); a.rfind("--", 0) == 0 && eq != std::string::npos) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
      has_value = true;
    }
    auto it = by_flag.find(name);
    if (it == by_flag.end()) {
      rest.push_back(a);
      continue;
    }
    if (!has_value) {
      if (i + 1 >= args.size()) throw ConfigError(it->second + ": the flag " + name + " needs a value");
      value = args[++i];
    }
    flags[it->second] = value;
  }
}

std::string SettingsHelp(const std::vector<std::string>* only) {
  std::string out = "Settings (environment variable, or the flag of the same name):\n";
  for (const auto& spec : AllSettings()) {
    if (!Wanted(only, spec.env)) continue;
    std::string line = "  " + FlagName(spec.env) + " / " + spec.env;
    if (line.size() < 52) line.resize(52, ' ');
    out += line + " " + spec.help;
    if (*spec.default_text) out += std::string(" [") + spec.default_text + "]";
    out += "\n";
  }
  return out;
}

void RequireSetting(const std::string& value, const std::string& env, const std::string& command) {
  if (!value.empty()) return;
  std::string what;
  for (const auto& spec : AllSettings())
    if (spec.env == env) what = spec.help;
  // A client of the worker's broker cannot start one of its own.
  if (env == "HUB_KAFKA_BROKERS")
    what = "the address of a running broker: the one `hubworker run` logged, or the first line of `hubworker broker`";
  throw ConfigError(env + ": required by `hubworker " + command + "` (" + what + "); set it or pass " +
                    FlagName(env));
}

}  // namespace hub::worker
