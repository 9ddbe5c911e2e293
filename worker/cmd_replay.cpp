// `hubworker replay`: re-runs recorded events (a topic range, through the
// real handlers: --dry-run in rolled-back transactions, or --reprocess as new
// executions) or one recorded execution (--execution), and reports how the
// result differs from what was recorded.  Reads with a consumer of its own
// (ops/topic_reader: no group, no commits).
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <map>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/ids.hpp"
#include "common/log.hpp"
#include "consumers/schema_registry.hpp"
#include "consumers/workflows/cache.hpp"
#include "consumers/workflows/statements.hpp"
#include "ops/event_replayer.hpp"
#include "ops/execution_records.hpp"
#include "ops/execution_replay.hpp"
#include "ops/progress.hpp"
#include "ops/recorded_calls.hpp"
#include "ops/topic_reader.hpp"
#include "kafka/producer.hpp"
#include "outbox/publisher.hpp"
#include "store/connection.hpp"
#include "worker/catalogue.hpp"
#include "worker/commands.hpp"

namespace hub::worker {
namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

struct ReplayArgs {
  std::string topic = "workflow.triggered";
  ops::TopicRange range;
  ops::EventSelection selection;
  bool reprocess = false;
  std::string execution;
  bool exit_code = false;
  bool json = false;
};

int64_t Number(const std::string& flag, const std::string& v) {
  try {
    size_t used = 0;
    const long long n = std::stoll(v, &used);
    if (used == v.size() && n >= 0) return n;
  } catch (const std::exception&) {
  }
  throw common::ConfigError("replay " + flag + ": expected a number >= 0, got '" + v + "'");
}

int64_t TimeMs(const std::string& flag, const std::string& v) {
  int64_t us = 0;
  std::string why;
  if (!common::ParseRfc3339(v, us, &why))
    throw common::ConfigError("replay " + flag + ": expected an RFC 3339 time, got '" + v + "': " + why);
  return us / 1000;
}

ReplayArgs ParseReplayArgs(const std::vector<std::string>& args) {
  ReplayArgs a;
  bool dry_run = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& x = args[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= args.size()) throw common::ConfigError("replay " + x + ": needs a value");
      return args[++i];
    };
    if (x == "--topic") a.topic = value();
    else if (x == "--partition") a.range.partitions.insert(static_cast<int32_t>(Number(x, value())));
    else if (x == "--from-offset") a.range.from_offset = Number(x, value());
    else if (x == "--to-offset") a.range.to_offset = Number(x, value());
    else if (x == "--since") a.range.since_ms = TimeMs(x, value());
    else if (x == "--until") a.range.until_ms = TimeMs(x, value());
    else if (x == "--key") a.selection.key = value();
    else if (x == "--event-id") a.selection.event_id = value();
    else if (x == "--type") a.selection.type = value();
    else if (x == "--organization") a.selection.organization = value();
    else if (x == "--execution") a.execution = value();
    else if (x == "--dry-run") dry_run = true;
    else if (x == "--reprocess") a.reprocess = true;
    else if (x == "--exit-code") a.exit_code = true;
    else if (x == "--output") {
      const std::string o = value();
      if (o != "json" && o != "text") throw common::ConfigError("replay --output: json or text, got '" + o + "'");
      a.json = o == "json";
    } else {
      throw common::ConfigError("replay: unexpected argument '" + x + "'");
    }
  }
  if (dry_run && a.reprocess) throw common::ConfigError("replay: --dry-run and --reprocess exclude each other");
  if (!a.execution.empty() && a.reprocess)
    throw common::ConfigError("replay --execution: replays in memory only; --reprocess is for topic ranges");
  if (!a.execution.empty() && a.selection.organization.empty())
    throw common::ConfigError("replay --execution: also --organization (the execution's tenant: row-level "
                              "security hides other organisations' executions)");
  if (a.reprocess && a.range.partitions.empty() && a.range.from_offset < 0 && a.range.to_offset < 0 &&
      a.range.since_ms < 0 && a.range.until_ms < 0 && a.selection.key.empty() && a.selection.event_id.empty() &&
      a.selection.organization.empty())
    throw common::ConfigError("replay --reprocess: select a range or events (--partition, --from-offset, "
                              "--to-offset, --since, --until, --key, --event-id, --organization)");
  return a;
}

void Str(JsonWriter& w, const char* k, const std::string& v) {
  w.Key(k);
  w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
}

void WriteDifferences(JsonWriter& w, const std::vector<ops::Difference>& diffs) {
  w.Key("differences");
  w.StartArray();
  for (const auto& d : diffs) {
    w.StartObject();
    Str(w, "where", d.where);
    Str(w, "recorded", d.recorded);
    Str(w, "replayed", d.replayed);
    w.EndObject();
  }
  w.EndArray();
}

void WriteStrings(JsonWriter& w, const char* k, const std::vector<std::string>& v) {
  w.Key(k);
  w.StartArray();
  for (const auto& s : v) w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  w.EndArray();
}

void PrintDifferences(const std::vector<ops::Difference>& diffs) {
  for (const auto& d : diffs)
    std::cout << "    " << d.where << ":\n      recorded: " << d.recorded << "\n      replayed: " << d.replayed << "\n";
}

int ReplayExecutionCommand(const Settings& s, const ReplayArgs& a) {
  auto conn = store::ConnectWorker(s.database_url);
  workflows::PrepareStatements(*conn);
  pqxx::work txn(*conn);  // only reads; rolled back
  store::SetTenant(txn, a.selection.organization);
  const auto stored = ops::LoadExecution(txn, a.execution);
  if (!stored) {
    std::cerr << "hubworker replay: execution '" << a.execution << "' not found in organisation '"
              << a.selection.organization << "'\n";
    return 2;
  }
  const ops::RecordedCalls calls = ops::LoadRecordedCalls(txn, a.execution);
  workflows::WorkflowCache cache;
  std::map<std::string_view, std::shared_ptr<const engine::CompiledWorkflow>> wanted{{stored->workflow_id, nullptr}};
  cache.Load(txn, a.selection.organization, wanted);
  const auto wf = wanted.begin()->second;
  if (!wf) {
    std::cerr << "hubworker replay: workflow '" << stored->workflow_id << "' of the execution no longer exists\n";
    return 2;
  }
  rapidjson::Document trigger;
  const std::string trigger_text = ops::TriggerOf(*stored);
  trigger.Parse(trigger_text.data(), trigger_text.size());
  engine::ExecutionLimits limits;
  limits.max_value_bytes = static_cast<size_t>(s.max_rendered_value_bytes);
  limits.max_execution_bytes = static_cast<size_t>(s.max_execution_bytes);
  limits.max_output_bytes = static_cast<size_t>(s.max_output_bytes);
  limits.max_nodes = s.max_nodes_executed;
  const ops::ReplayedExecution r =
      ops::ReplayExecution(*wf, trigger, stored->id, stored->started_us, calls, limits);
  const auto diffs = ops::DiffExecutions(stored->record, ops::RecordOf(r.result, r.notifications));
  txn.abort();
  const std::string verdict = !r.not_recorded.empty() ? "not-recorded" : diffs.empty() ? "same" : "different";
  if (a.json) {
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    Str(w, "execution", stored->id);
    Str(w, "workflow", stored->workflow_id);
    Str(w, "verdict", verdict);
    Str(w, "recordedStatus", stored->record.status);
    Str(w, "replayedStatus", engine::ToString(r.result.status));
    w.Key("recordedCalls");
    w.Uint64(calls.size());
    WriteStrings(w, "notRecorded", r.not_recorded);
    WriteDifferences(w, diffs);
    w.EndObject();
    std::cout << buf.GetString() << "\n";
  } else {
    std::cout << "execution " << stored->id << " (workflow " << stored->workflow_id << "): recorded "
              << stored->record.status << ", replayed " << engine::ToString(r.result.status) << " with "
              << calls.size() << " recorded call result(s), no call made\n";
    for (const auto& n : r.not_recorded)
      std::cout << "  node " << n << ": not recorded (no recorded answer for its call; the replay stops there)\n";
    if (diffs.empty()) std::cout << "  no difference\n";
    else {
      std::cout << "  " << diffs.size() << " difference(s):\n";
      PrintDifferences(diffs);
    }
  }
  return a.exit_code && verdict != "same" ? 1 : 0;
}

int ReplayTopicCommand(const Settings& s, const ReplayArgs& a) {
  if (s.kafka_brokers.empty())
    throw common::ConfigError("HUB_KAFKA_BROKERS: required by replay — the address of the brokers the workers use");
  const std::string topic = a.topic.rfind(s.topic_prefix, 0) == 0 ? a.topic : s.topic_prefix + a.topic;
  common::Metrics metrics;
  common::SystemClock system_clock;
  std::unique_ptr<kafka::KafkaProducer> producer;
  std::unique_ptr<outbox::OutboxPublisher> publisher;
  ops::EventReplayOptions o;
  o.database_url = s.database_url;
  o.catalogue = &Catalogue();
  o.deps.topic_prefix = s.topic_prefix;
  o.deps.limits.max_value_bytes = static_cast<size_t>(s.max_rendered_value_bytes);
  o.deps.limits.max_execution_bytes = static_cast<size_t>(s.max_execution_bytes);
  o.deps.limits.max_output_bytes = static_cast<size_t>(s.max_output_bytes);
  o.deps.limits.max_nodes = s.max_nodes_executed;
  o.deps.max_event_bytes = static_cast<size_t>(ProducerMessageMaxBytes(s)) - 1024;
  o.reprocess = a.reprocess;
  o.selection = a.selection;
  if (a.reprocess) {
    o.deps.clock = &system_clock;
    o.run_id = std::to_string(common::NowUnixMicros()) + "-" + std::to_string(getpid());
    kafka::ProducerOptions po;
    po.brokers = s.kafka_brokers;
    po.extra = s.kafka_config;
    po.client_id = "hubworker-replay";
    producer = std::make_unique<kafka::KafkaProducer>(po);
    outbox::PublisherOptions pub;
    pub.database_url = s.database_url;
    publisher = std::make_unique<outbox::OutboxPublisher>(pub, *producer, metrics);
    publisher->Start();
    o.on_committed = [&publisher](outbox::CommittedOutbox&& rows) { publisher->Submit(std::move(rows)); };
  }
  consumers::SchemaRegistry schemas(consumers::SchemaRegistry::DefaultDir());
  ops::EventReplayer replayer(o, schemas);
  ops::TopicReader reader(s.kafka_brokers, s.kafka_config, topic, a.range);

  const bool tty = isatty(STDERR_FILENO) == 1;
  const auto started = std::chrono::steady_clock::now();
  auto last_draw = started - std::chrono::seconds(1);
  int64_t read = 0;
  std::map<std::string, int64_t> verdicts;
  std::vector<ops::EventOutcome> outcomes;  // --output json: printed at the end
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  if (a.json) {
    w.StartObject();
    Str(w, "mode", a.reprocess ? "reprocess" : "dry-run");
    Str(w, "topic", topic);
    w.Key("events");
    w.StartArray();
  }
  const bool complete = reader.ReadAll([&](ops::RawMessage&& m) {
    ++read;
    if (auto out = replayer.Replay(m)) {
      ++verdicts[out->verdict];
      if (a.json) {
        w.StartObject();
        w.Key("partition");
        w.Int(out->partition);
        w.Key("offset");
        w.Int64(out->offset);
        Str(w, "type", out->type);
        Str(w, "key", out->key);
        Str(w, "organization", out->organization);
        Str(w, "eventId", out->event_id);
        Str(w, "execution", out->execution_id);
        Str(w, "verdict", out->verdict);
        if (!out->reason.empty()) Str(w, "reason", out->reason);
        if (!out->new_execution_id.empty()) Str(w, "newExecution", out->new_execution_id);
        if (!out->written.empty()) Str(w, "written", out->written);
        WriteStrings(w, "emits", out->emits);
        WriteStrings(w, "notRecorded", out->not_recorded);
        WriteDifferences(w, out->differences);
        w.EndObject();
      } else {
        if (tty) std::cerr << "\r\033[K";
        std::cout << out->partition << ":" << out->offset << " " << out->type << " key=" << out->key
                  << " event=" << out->event_id << " " << out->verdict;
        if (!out->reason.empty()) std::cout << " (" << out->reason << ")";
        if (!out->new_execution_id.empty()) std::cout << " as " << out->new_execution_id;
        std::cout << "\n";
        if (!out->written.empty()) std::cout << "  writes: " << out->written << "\n";
        for (const auto& e : out->emits) std::cout << "  emits: " << e << "\n";
        for (const auto& n : out->not_recorded) std::cout << "  node " << n << ": not recorded\n";
        PrintDifferences(out->differences);
      }
    }
    const auto now = std::chrono::steady_clock::now();
    if (tty && now - last_draw >= std::chrono::milliseconds(200)) {
      last_draw = now;
      std::cerr << "\r\033[K"
                << ops::ProgressLine(read, reader.total(), std::chrono::duration<double>(now - started).count())
                << std::flush;
    }
  });
  if (tty) std::cerr << "\r\033[K";
  if (publisher) publisher->Stop(std::chrono::steady_clock::now() + std::chrono::seconds(30));
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  int64_t selected = 0;
  for (const auto& [v, n] : verdicts) selected += n;
  if (a.json) {
    w.EndArray();
    w.Key("summary");
    w.StartObject();
    w.Key("read");
    w.Int64(read);
    w.Key("selected");
    w.Int64(selected);
    for (const auto& [v, n] : verdicts) {
      w.Key(v.c_str());
      w.Int64(n);
    }
    w.Key("seconds");
    w.Double(elapsed);
    w.Key("complete");
    w.Bool(complete);
    w.EndObject();
    w.EndObject();
    std::cout << buf.GetString() << "\n";
  } else {
    std::cout << (a.reprocess ? "reprocess" : "dry run") << " of " << topic << ": " << read << " events read, "
              << selected << " selected";
    for (const auto& [v, n] : verdicts) std::cout << ", " << n << " " << v;
    char rate[64];
    std::snprintf(rate, sizeof rate, " in %.1f s (%.0f/s)", elapsed, elapsed > 0 ? read / elapsed : 0.0);
    std::cout << rate << (complete ? "" : "; INCOMPLETE: the broker stopped answering") << "\n";
  }
  if (!complete) return 1;
  const bool differs = verdicts.count("different") || verdicts.count("not-recorded");
  return a.exit_code && differs ? 1 : 0;
}

}  // namespace

int ReplayCommand(const Settings& s, const std::vector<std::string>& args) {
  const ReplayArgs a = ParseReplayArgs(args);
  if (s.database_url.empty()) throw common::ConfigError("HUB_DATABASE_URL: required (a libpq URI)");
  if (!a.execution.empty()) return ReplayExecutionCommand(s, a);
  return ReplayTopicCommand(s, a);
}

}  // namespace hub::worker
