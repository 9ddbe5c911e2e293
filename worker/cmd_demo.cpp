// `hubworker demo`: seeds a demo organisation and publishes sample events, so
// a newcomer sees the whole flow: executions, notifications, completion
// events, and a dead letter.
#include <iostream>

#include "common/error.hpp"
#include "common/ids.hpp"
#include "common/log.hpp"
#include "producers/kafka_producer.hpp"
#include "worker/commands.hpp"
#include "worker/seed.hpp"

namespace hub::worker {

int DemoCommand(const Settings& s, const std::vector<std::string>& args) {
  int events = 20;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--events" && i + 1 < args.size()) {
      try {
        events = std::stoi(args[++i]);
      } catch (const std::exception&) {
        throw common::ConfigError("demo --events: expected a number, got '" + args[i] + "'");
      }
      if (events < 1 || events > 1000000) throw common::ConfigError("demo --events: must be 1..1000000");
    } else {
      throw common::ConfigError("demo: unexpected argument '" + args[i] + "'");
    }
  }
  if (s.database_url.empty()) throw common::ConfigError("HUB_DATABASE_URL: required (a libpq URI)");
  if (s.kafka_brokers.empty())
    throw common::ConfigError(
        "HUB_KAFKA_BROKERS: required by demo — the address of a running broker (the one `hubworker run` logged, "
        "or the first line printed by `hubworker broker`)");

  SeedOptions so;
  so.with_platform_rows = true;
  const auto workflows = SeedOrganization(s.database_url, so);
  std::cout << "Seeded organisation '" << so.organization_id << "': " << workflows.size()
            << " greeting workflows (+1 inactive), 2 AI agents, a PIPELINE team, a webhook integration, an order.\n";

  producers::ProducerOptions po;
  po.brokers = s.kafka_brokers;
  po.extra = s.kafka_config;
  producers::KafkaProducer producer(po);
  const std::string topic = s.topic_prefix + "workflow.triggered";
  static const char* kNames[] = {"Ada", "Grace", "Linus", "Margaret", "Alan", "Barbara"};
  const std::string run = std::to_string(common::NowUnixMicros());

  std::vector<std::string> values, keys;
  for (int i = 0; i < events; ++i) {
    const std::string& wf = workflows[static_cast<size_t>(i) % workflows.size()];
    keys.push_back(wf);
    values.push_back(MakeWorkflowTriggered("demo-" + run + "-" + std::to_string(i), so.organization_id, wf,
                                           kNames[i % 6]));
  }
  // One for the inactive workflow (recorded as CANCELLED), one for a workflow
  // that does not exist (dead letter, class not_found), one malformed (dead
  // letter, class schema).
  const std::string inactive = "wf_" + so.organization_id + "_inactive";
  keys.push_back(inactive);
  values.push_back(MakeWorkflowTriggered("demo-" + run + "-inactive", so.organization_id, inactive, "Nobody"));
  keys.push_back("wf_missing");
  values.push_back(MakeWorkflowTriggered("demo-" + run + "-missing", so.organization_id, "wf_missing", "Ghost"));
  keys.push_back("wf_broken");
  values.push_back("{\"specversion\":\"1.0\", this is not JSON");

  std::vector<producers::ProducerMessage> msgs;
  for (size_t i = 0; i < values.size(); ++i)
    msgs.push_back({topic, keys[i], values[i], {{"content-type", "application/cloudevents+json"}}});
  auto results = producer.ProduceBatch(msgs);
  size_t ok = 0;
  for (const auto& r : results) ok += r.ok ? 1 : 0;
  std::cout << "Published " << ok << "/" << msgs.size() << " events to " << topic << " (" << events
            << " valid, 1 for an inactive workflow, 1 for a missing workflow, 1 malformed).\n";
  return ok == msgs.size() ? 0 : 1;
}

}  // namespace hub::worker
