#pragma once
// Settings from the environment and from flags of the same name in kebab case
// (HUB_KAFKA_BROKERS <=> --kafka-brokers).  Flags win over the environment.
// Every value is checked here, before anything connects; a bad one is a
// ConfigError that names the setting and the expected form (STYLE.md #7).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/log.hpp"

namespace hub::worker {

struct Settings {
  // The platform's settings (README, "Settings").
  std::string database_url;
  std::string kafka_brokers;  // empty = embedded broker in-process
  std::string kafka_group = "hub-worker";
  std::vector<std::pair<std::string, std::string>> kafka_config;  // extra librdkafka properties
  std::string topic_prefix = "hub.";
  std::string http_addr = "127.0.0.1:9464";
  common::LogLevel log_level = common::LogLevel::kInfo;
  bool log_json = true;
  int shutdown_timeout_s = 30;
  std::string secret_key;  // base64 of 32 bytes (checked here); decoded where used
  std::vector<std::string> secret_keys_old;  // earlier keys, still accepted for decryption
  std::string llm_base_url;  // OpenAI-compatible Chat Completions; empty: the local provider
  std::string llm_api_key;
  std::string anthropic_base_url;  // Anthropic Messages; empty: the local provider
  std::string anthropic_api_key;
  std::vector<std::string> http_allowlist;
  int step_concurrency = 64;         // outside calls in flight per process
  int step_lease_ms = 60000;         // a claimed durable step is held this long
  std::string http_ca_file;          // extra trusted CAs (PEM) for https calls
  int http_max_response_bytes = 1 << 20;

  // Tuning (documented in the README).
  int kafka_partitions = 12;        // topics the embedded broker creates
  int worker_threads = 2;           // processing lanes, one DB connection each
  int batch_max = 2000;             // events applied in one transaction at most
  // A lane woken by a small batch waits this long for more (microseconds):
  // at 1,000 events/s it halves the transactions and PostgreSQL's CPU for the
  // same p99 (PERFORMANCE.md).
  int batch_linger_us = 2000;
  int max_inflight = 20000;         // events buffered before partitions are paused
  int fetch_wait_ms = 10;           // fetch.wait.max.ms (the mock broker answers an empty fetch only after it)
  int session_timeout_ms = 10000;   // consumer group session timeout
  int lag_interval_ms = 5000;       // how often hub_consumer_lag samples the high watermarks
  int retry_max_attempts = 5;       // transient failures before an event is dead-lettered
  int retry_base_ms = 100;          // first backoff; doubles per attempt, with jitter
  int relay_batch = 2000;           // outbox rows published per round
  int relay_poll_ms = 500;          // relay polling fallback when no NOTIFY arrives
  int relay_grace_ms = 40000;       // rows younger than this are left to the worker that committed them

  // What one workflow execution may cost (engine/limits.hpp).
  int max_rendered_value_bytes = 256 * 1024;
  int max_execution_bytes = 1024 * 1024;
  int max_output_bytes = 256 * 1024;
  int max_nodes_executed = 500;
};

// One recognised setting: env name, flag name, help text, default shown in --help.
struct SettingSpec {
  const char* env;
  const char* help;
  const char* default_text;
};

const std::vector<SettingSpec>& AllSettings();

// "HUB_KAFKA_BROKERS" -> "--kafka-brokers"
std::string FlagName(const std::string& env_name);

// Reads the environment, then applies `flags` (env name -> value).
// Throws common::ConfigError naming the setting on a malformed value.
// `only`: the settings a subcommand reads (others keep their defaults and are
// not checked); null: all of them.
Settings LoadSettings(const std::map<std::string, std::string>& flags, const std::vector<std::string>* only = nullptr);

// Parses "--name=value" / "--name value" arguments of known settings (of
// `only`, when given) into `flags`; anything else is returned in `rest` for
// the subcommand.
void SplitArgs(const std::vector<std::string>& args, std::map<std::string, std::string>& flags,
               std::vector<std::string>& rest, const std::vector<std::string>* only = nullptr);

// The settings part of --help (of `only`, when given).
std::string SettingsHelp(const std::vector<std::string>* only = nullptr);

// The one wording of a missing setting: throws ConfigError
// "HUB_X: required by `hubworker <command>` (<what it is>); set it or pass --x"
// when `value` is empty.
void RequireSetting(const std::string& value, const std::string& env, const std::string& command);

// message.max.bytes of the producer (HUB_KAFKA_CONFIG, else librdkafka's
// default): outgoing events larger than it can never be published.
int ProducerMessageMaxBytes(const Settings& s);

// Checks that `url` is a libpq connection URI or key=value string whose ports
// are numbers; throws ConfigError naming HUB_DATABASE_URL (never quoting a
// password) otherwise.
void CheckDatabaseUrl(const std::string& url);

// "host:port" -> pair; throws ConfigError naming `setting`.
std::pair<std::string, uint16_t> ParseHostPort(const std::string& setting, const std::string& value);

}  // namespace hub::worker
