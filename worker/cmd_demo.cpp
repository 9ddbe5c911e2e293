// `hubworker demo`: seeds a demo organisation and publishes sample events, so
// a newcomer sees the whole flow: executions, notifications, completion
// events, and a dead letter.
#include <iostream>

#include "common/error.hpp"
#include "common/ids.hpp"
#include "common/log.hpp"
#include "kafka/producer.hpp"
#include "worker/catalogue.hpp"
#include "worker/commands.hpp"
#include "worker/seed.hpp"

namespace hub::worker {

int DemoCommand(const Settings& s, const std::vector<std::string>& args) {
  int events = 20;
  std::string endpoint;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--events" && i + 1 < args.size()) {
      try {
        events = std::stoi(args[++i]);
      } catch (const std::exception&) {
        throw common::ConfigError("demo --events: expected a number, got '" + args[i] + "'");
      }
      if (events < 1 || events > 1000000) throw common::ConfigError("demo --events: must be 1..1000000");
    } else if (args[i] == "--endpoint" && i + 1 < args.size()) {
      endpoint = args[++i];
      if (endpoint.rfind("http://", 0) != 0 && endpoint.rfind("https://", 0) != 0)
        throw common::ConfigError("demo --endpoint: expected an http(s):// URL, got '" + endpoint + "'");
    } else {
      throw common::ConfigError("demo: unexpected argument '" + args[i] + "'");
    }
  }
  RequireSetting(s.database_url, "HUB_DATABASE_URL", "demo");
  RequireSetting(s.kafka_brokers, "HUB_KAFKA_BROKERS", "demo");

  SeedOptions so;
  so.with_platform_rows = true;
  so.call_endpoint = endpoint;
  const auto workflows = SeedOrganization(s.database_url, so);
  std::cout << "Seeded organisation '" << so.organization_id << "': " << workflows.size()
            << " greeting workflows (+1 inactive, +1 that waits 2 s and asks an AI agent), 2 AI agents, a PIPELINE team, a webhook "
               "integration, an order.\n";

  kafka::ProducerOptions po;
  po.brokers = s.kafka_brokers;
  po.extra = s.kafka_config;
  kafka::KafkaProducer producer(po);
  consumers::DemoContext ctx;
  ctx.organization_id = so.organization_id;
  ctx.workflows = workflows;
  ctx.run = std::to_string(common::NowUnixMicros());
  ctx.events = events;
  ctx.with_calls = !endpoint.empty();

  // Every family of the catalogue that has demo events.
  // kafka::ProducerMessage holds views: the topics and events live until the batch is delivered.
  std::vector<std::string> topics;
  std::vector<consumers::DemoEvents> events_of;
  for (const auto& family : Catalogue().families()) {
    if (!family.demo) continue;
    topics.push_back(s.topic_prefix + family.type);
    events_of.push_back(family.demo(ctx));
  }
  std::vector<kafka::ProducerMessage> msgs;
  for (size_t f = 0; f < topics.size(); ++f)
    for (const auto& [key, value] : events_of[f])
      msgs.push_back({topics[f], key, value, {{"content-type", "application/cloudevents+json"}}});
  auto results = producer.ProduceBatch(msgs);
  size_t ok = 0;
  for (const auto& r : results) ok += r.ok ? 1 : 0;
  std::string where;
  for (const auto& t : topics) where += (where.empty() ? "" : ", ") + t;
  std::cout << "Published " << ok << "/" << msgs.size() << " events to " << where << " (" << events
            << " greetings, 1 for an inactive workflow, 1 for a missing workflow, 1 malformed, 2 for a workflow "
               "that waits 2 s and asks an AI agent" << (endpoint.empty() ? "" : ", 2 for a workflow that calls " + endpoint)
            << ", 1 order to build).\n";
  return ok == msgs.size() ? 0 : 1;
}

}  // namespace hub::worker
