// `hubworker trigger --workflow ID [--org ID] [--input JSON|@FILE] [--wait]`:
// publishes one well-formed workflow.triggered event, as any producer of the
// platform would, and with --wait follows its execution to the end.
#include <chrono>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <thread>

#include <pqxx/pqxx>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "common/error.hpp"
#include "common/ids.hpp"
#include "kafka/producer.hpp"
#include "store/connection.hpp"
#include "worker/command_args.hpp"
#include "worker/commands.hpp"
#include "worker/execution_view.hpp"
#include "worker/signals.hpp"

namespace hub::worker {
namespace {

std::string RandomHex(size_t chars) {
  std::random_device rd;
  static const char* kHex = "0123456789abcdef";
  std::string out;
  while (out.size() < chars) {
    unsigned v = rd();
    for (int i = 0; i < 8 && out.size() < chars; ++i, v >>= 4) out += kHex[v & 15];
  }
  return out;
}

// "{...}" or "@file" holding it: a JSON object, or a ConfigError.
std::string ReadInput(const std::string& arg) {
  std::string text = arg;
  if (!arg.empty() && arg[0] == '@') {
    std::ifstream f(arg.substr(1));
    if (!f) throw common::ConfigError("trigger --input: cannot read '" + arg.substr(1) + "'");
    std::stringstream ss;
    ss << f.rdbuf();
    text = ss.str();
  }
  rapidjson::Document d;
  d.Parse(text.c_str(), text.size());
  if (d.HasParseError() || !d.IsObject())
    throw common::ConfigError("trigger --input: expected a JSON object such as '{\"name\":\"Ada\"}', got '" +
                              text.substr(0, 200) + "'");
  rapidjson::StringBuffer b;
  rapidjson::Writer<rapidjson::StringBuffer> w(b);
  d.Accept(w);
  return std::string(b.GetString(), b.GetSize());
}

std::string TriggeredEvent(const std::string& id, const std::string& traceparent, const std::string& org,
                           const std::string& workflow, const std::string& input_json) {
  rapidjson::StringBuffer b;
  rapidjson::Writer<rapidjson::StringBuffer> w(b);
  w.StartObject();
  w.Key("specversion"), w.String("1.0");
  w.Key("id"), w.String(id);
  w.Key("source"), w.String("urn:hub:cli");
  w.Key("type"), w.String("workflow.triggered");
  w.Key("time"), w.String(common::FormatRfc3339(common::NowUnixMicros()));
  w.Key("datacontenttype"), w.String("application/json");
  w.Key("traceparent"), w.String(traceparent);
  w.Key("data");
  w.StartObject();
  w.Key("organizationId"), w.String(org);
  w.Key("workflowId"), w.String(workflow);
  w.Key("input"), w.RawValue(input_json.data(), input_json.size(), rapidjson::kObjectType);
  w.EndObject();
  w.EndObject();
  return std::string(b.GetString(), b.GetSize());
}

// Whether the workflow exists in the organisation (row-level security: only
// that organisation's rows are visible with its id set).
bool WorkflowExists(pqxx::connection& conn, const std::string& org, const std::string& workflow) {
  pqxx::work txn(conn);
  store::SetTenant(txn, org);
  const auto r = txn.exec_params("SELECT 1 FROM automation_workflows WHERE id = $1", workflow);
  txn.commit();
  return !r.empty();
}

}  // namespace

int TriggerCommand(const Settings& s, const std::vector<std::string>& args) {
  const CommandArgs a =
      ParseCommandArgs("trigger", args, {"--workflow", "--org", "--input", "--timeout"}, {"--wait"});
  if (!a.positional.empty()) throw common::ConfigError("trigger: unexpected argument '" + a.positional[0] + "'");
  const std::string workflow = a.Get("--workflow");
  if (workflow.empty()) throw common::ConfigError("trigger --workflow: required (see hubworker workflow list)");
  const std::string org = a.Get("--org", "org_demo");
  const std::string input = ReadInput(a.Get("--input", "{}"));
  const int timeout_s = IntArg("trigger", "--timeout", a.Get("--timeout", "60"), 1, 86400);
  RequireSetting(s.database_url, "HUB_DATABASE_URL", "trigger");
  RequireSetting(s.kafka_brokers, "HUB_KAFKA_BROKERS", "trigger");
  BlockStopSignals();  // before librdkafka's threads: Ctrl-C ends --wait through WaitForStopSignal

  pqxx::connection conn(s.database_url);
  if (!WorkflowExists(conn, org, workflow))
    throw common::ConfigError("trigger --workflow: no workflow '" + workflow + "' in organisation '" + org +
                              "' (see hubworker workflow list --org " + org + ")");

  const std::string event_id = "cli-" + RandomHex(32);
  const std::string traceparent = "00-" + RandomHex(32) + "-" + RandomHex(16) + "-01";
  const std::string event = TriggeredEvent(event_id, traceparent, org, workflow, input);
  const std::string topic = s.topic_prefix + "workflow.triggered";
  const auto published_at = std::chrono::system_clock::now();
  {
    kafka::ProducerOptions po;
    po.brokers = s.kafka_brokers;
    po.extra = s.kafka_config;
    po.client_id = "hubworker-trigger";
    kafka::KafkaProducer producer(po);
    const auto results = producer.ProduceBatch(
        {{topic, workflow, event, {{"content-type", "application/cloudevents+json"}}}},
        std::chrono::steady_clock::now() + std::chrono::seconds(30));
    if (results.empty() || !results[0].ok)
      throw std::runtime_error("the broker did not take the event: " + (results.empty() ? "" : results[0].error));
  }
  std::cout << "published " << topic << " event " << event_id << " (workflow " << workflow << ", organisation "
            << org << ", trace " << traceparent.substr(3, 32) << ")" << std::endl;
  if (!a.Has("--wait")) return 0;

  // The worker stamps started_at with its clock; five minutes of margin for
  // clocks that disagree keeps the lookup on the (organization_id, started_at) index.
  const auto since = std::chrono::duration_cast<std::chrono::microseconds>(
                         (published_at - std::chrono::minutes(5)).time_since_epoch()).count();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (std::chrono::steady_clock::now() < deadline) {
    pqxx::work txn(conn);
    store::SetTenant(txn, org);
    const auto r = txn.exec_params(
        "SELECT coalesce(completed_at, started_at)::text, id, workflow_id, status::text, coalesce(duration, 0), "
        "coalesce(nodes_executed, 0), coalesce(error, ''), coalesce(output::text, 'null'), logs::text "
        "FROM workflow_executions WHERE organization_id = $1 AND started_at >= $2::timestamptz "
        "AND trigger_event_id = $3 AND status IN ('COMPLETED', 'FAILED', 'CANCELLED')",
        org, common::FormatRfc3339(since), event_id);
    txn.commit();
    if (!r.empty()) {
      ExecutionRow row{r[0][0].as<std::string>(), r[0][1].as<std::string>(), r[0][2].as<std::string>(),
                       r[0][3].as<std::string>(), r[0][4].as<int64_t>(), r[0][5].as<int>(),
                       r[0][6].as<std::string>()};
      std::cout << ExecutionLine(row) << "\n" << StepLogText(r[0][8].as<std::string>())
                << "  output: " << r[0][7].as<std::string>() << std::endl;
      return ExitCodeOf(row.status);
    }
    if (WaitForStopSignal(std::chrono::milliseconds(100)) != 0) return 130;
  }
  std::cout << "no outcome within " << timeout_s
            << " s: is `hubworker run` running against this broker and database? (an event it cannot process "
               "goes to the topic " << s.topic_prefix << "deadletter)" << std::endl;
  return 6;
}

}  // namespace hub::worker
