// The catalogue is the one list of event families: subscriptions, the
// embedded broker's topics, the demo and the metrics' type labels come from
// it, and every family it names has a schema.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "common/clock.hpp"
#include "common/metrics.hpp"
#include "consumers/schema_registry.hpp"
#include "worker/catalogue.hpp"
#include "worker/embedded_broker.hpp"

namespace hub {
namespace {

TEST(EventCatalogue, EveryFamilyAndEveryEmittedTypeHasASchema) {
  consumers::SchemaRegistry schemas(consumers::SchemaRegistry::DefaultDir());
  for (const auto& f : worker::Catalogue().families()) {
    EXPECT_NE(schemas.Find(f.type), nullptr) << f.type;
    for (const auto& e : f.emits) EXPECT_NE(schemas.Find(e), nullptr) << e;
  }
}

TEST(EventCatalogue, SubscriptionsAreTheFamiliesWithAHandler) {
  EXPECT_EQ(worker::Catalogue().ConsumedTypes(),
            (std::vector<std::string>{"workflow.triggered", "order.submitted", "integration.webhook"}));
  common::SystemClock clock;
  consumers::HandlerDeps deps;
  deps.clock = &clock;
  const auto handlers = worker::Catalogue().MakeHandlers(deps);
  ASSERT_EQ(handlers.size(), worker::Catalogue().families().size());
  EXPECT_NE(handlers[0], nullptr);
  EXPECT_NE(handlers[1], nullptr);
  EXPECT_NE(handlers[2], nullptr);  // integration.webhook, also without HUB_SECRET_KEY
}

TEST(EventCatalogue, TheEmbeddedBrokersTopicsAreTheCatalogues) {
  EXPECT_EQ(worker::EmbeddedBroker::ContractTopics("x."),
            (std::vector<std::string>{"x.workflow.triggered", "x.order.submitted", "x.integration.webhook",
                                      "x.workflow.completed", "x.order.milestone", "x.order.completed",
                                      "x.integration.processed", "x.deadletter"}));
}

TEST(EventCatalogue, UnknownTypesAreNotInIt) {
  EXPECT_EQ(worker::Catalogue().IndexOf("workflow.triggered"), 0);
  EXPECT_EQ(worker::Catalogue().IndexOf("workflow.completed"), -1);  // an output, not an input
  EXPECT_EQ(worker::Catalogue().IndexOf("teleport.requested"), -1);
}

TEST(EventCatalogue, RefusesRepeatedTypesAndMoreFamiliesThanTheMetricsHold) {
  EXPECT_THROW(consumers::EventCatalogue({{"a", {}, nullptr, nullptr}, {"a", {}, nullptr, nullptr}}),
               std::invalid_argument);
  std::vector<consumers::EventFamily> many;
  for (int i = 0; i <= common::kMaxEventFamilies; ++i) many.push_back({"t" + std::to_string(i), {}, nullptr, nullptr});
  EXPECT_THROW(consumers::EventCatalogue(std::move(many)), std::invalid_argument);
}

TEST(EventCatalogue, TheReadmeListsEveryFamily) {
  std::ifstream f(std::string(HUB_SOURCE_DIR) + "/README.md");
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string readme = ss.str();
  for (const auto& family : worker::Catalogue().families())
    EXPECT_NE(readme.find("| `" + family.type + "` |"), std::string::npos)
        << "README's event table has no row for " << family.type;
}

}  // namespace
}  // namespace hub
