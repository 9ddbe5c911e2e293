// MetricsExporter: common::Metrics atomics -> Prometheus text exposition.
#include "worker/metrics_exporter.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

namespace hub::worker {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The value of the sample line that starts with `series` followed by a space.
std::string Sample(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(series + " ", 0) == 0) return line.substr(series.size() + 1);
  return "<missing " + series + ">";
}

TEST(MetricsExporter, CountersCarryTheHubPrefixAndTheEventTypeLabel) {
  common::Metrics m;
  m.event_types = {"workflow.triggered", "order.submitted", "integration.webhook"};  // the catalogue's order
  m.events_consumed[0] = 7;
  m.events_processed[1] = 3;
  m.events_duplicate = 2;
  m.retries = 4;
  m.outbox_published = 11;
  MetricsExporter exp(m, false);
  const std::string t = exp.MetricsText();

  EXPECT_THAT(t, HasSubstr("# TYPE hub_events_consumed_total counter"));
  EXPECT_EQ(Sample(t, R"(hub_events_consumed_total{type="workflow.triggered"})"), "7");
  EXPECT_EQ(Sample(t, R"(hub_events_consumed_total{type="order.submitted"})"), "0");
  EXPECT_EQ(Sample(t, R"(hub_events_consumed_total{type="integration.webhook"})"), "0");
  EXPECT_EQ(Sample(t, R"(hub_events_processed_total{type="order.submitted"})"), "3");
  EXPECT_EQ(Sample(t, "hub_events_duplicate_total"), "2");
  EXPECT_EQ(Sample(t, "hub_retries_total"), "4");
  EXPECT_EQ(Sample(t, "hub_outbox_published_total"), "11");
}

TEST(MetricsExporter, DeadLettersAreLabelledWithTheEventTypeAndTheErrorClassInEnumOrder) {
  common::Metrics m;
  m.event_types = {"workflow.triggered", "order.submitted"};
  m.events_deadlettered[0][static_cast<int>(common::ErrorClass::kSchema)] = 5;
  m.events_deadlettered[1][static_cast<int>(common::ErrorClass::kInternal)] = 1;
  m.events_deadlettered[common::Metrics::FamilySlot(-1)][static_cast<int>(common::ErrorClass::kSchema)] = 2;
  MetricsExporter exp(m, false);
  const std::string t = exp.MetricsText();
  EXPECT_EQ(Sample(t, R"(hub_events_deadlettered_total{class="schema",type="workflow.triggered"})"), "5");
  EXPECT_EQ(Sample(t, R"(hub_events_deadlettered_total{class="internal",type="order.submitted"})"), "1");
  EXPECT_EQ(Sample(t, R"(hub_events_deadlettered_total{class="schema",type="unknown"})"), "2");
  for (const char* c : {"not_found", "tenant", "signature", "step"})
    EXPECT_EQ(Sample(t, std::string(R"(hub_events_deadlettered_total{class=")") + c + R"(",type="workflow.triggered"})"),
              "0") << c;
  EXPECT_EQ(m.DeadLettered(common::ErrorClass::kSchema), 7u);
}

TEST(MetricsExporter, EveryFamilyReportsProcessedFailedDeadLetteredAndDurationUnderTheTypeLabel) {
  common::Metrics m;
  m.event_types = {"workflow.triggered", "order.submitted", "integration.webhook"};
  m.events_processed[2] = 4;
  m.events_failed[2] = 1;
  m.event_processing[2].Observe(0.003);
  MetricsExporter exp(m, false);
  const std::string t = exp.MetricsText();
  for (const std::string type : {"workflow.triggered", "order.submitted", "integration.webhook"}) {
    const bool webhook = type == "integration.webhook";
    const std::string sel = "{type=\"" + type + "\"}";
    EXPECT_EQ(Sample(t, "hub_events_processed_total" + sel), webhook ? "4" : "0") << type;
    EXPECT_EQ(Sample(t, "hub_events_failed_total" + sel), webhook ? "1" : "0") << type;
    EXPECT_EQ(Sample(t, "hub_event_processing_seconds_count" + sel), webhook ? "1" : "0") << type;
    EXPECT_EQ(Sample(t, R"(hub_event_processing_seconds_bucket{type=")" + type + R"(",le="0.005"})"),
              webhook ? "1" : "0") << type;
    EXPECT_EQ(Sample(t, R"(hub_events_deadlettered_total{class="schema",type=")" + type + "\"}"), "0") << type;
  }
}

TEST(MetricsExporter, ConsumerLagHasOneSeriesPerSampledAssignedPartition) {
  common::Metrics m;
  m.consumer_lag.Assigned("hub.workflow.triggered", 0);
  m.consumer_lag.Assigned("hub.workflow.triggered", 1);
  m.consumer_lag.Assigned("hub.workflow.triggered", 2);  // not sampled yet: no series
  for (const auto& p : m.consumer_lag.Probes())
    if (p.partition < 2) m.consumer_lag.Sampled(p, 10, 3);
  m.consumer_lag.Processed("hub.workflow.triggered", 1, 10);
  m.consumer_lag_age_ms = 2500;
  MetricsExporter exp(m, false);
  const std::string t = exp.MetricsText();
  EXPECT_THAT(t, HasSubstr("# TYPE hub_consumer_lag gauge"));
  EXPECT_EQ(Sample(t, R"(hub_consumer_lag{partition="0",topic="hub.workflow.triggered"})"), "7");
  EXPECT_EQ(Sample(t, R"(hub_consumer_lag{partition="1",topic="hub.workflow.triggered"})"), "0");
  EXPECT_THAT(t, Not(HasSubstr(R"(hub_consumer_lag{partition="2")")));
  EXPECT_EQ(Sample(t, "hub_consumer_lag_seconds"), "2.5");
}

TEST(MetricsExporter, HistogramBucketsAreCumulativeAndEndWithInf) {
  common::Metrics m;
  m.event_latency.Observe(0.0004);  // <= 0.0005
  m.event_latency.Observe(0.003);   // <= 0.005
  m.event_latency.Observe(0.003);
  m.event_latency.Observe(60);      // +Inf only
  MetricsExporter exp(m, false);
  const std::string t = exp.MetricsText();
  EXPECT_THAT(t, HasSubstr("# TYPE hub_event_latency_seconds histogram"));
  EXPECT_EQ(Sample(t, R"(hub_event_latency_seconds_bucket{le="0.0005"})"), "1");
  EXPECT_EQ(Sample(t, R"(hub_event_latency_seconds_bucket{le="0.0025"})"), "1");
  EXPECT_EQ(Sample(t, R"(hub_event_latency_seconds_bucket{le="0.005"})"), "3");
  EXPECT_EQ(Sample(t, R"(hub_event_latency_seconds_bucket{le="10"})"), "3");
  EXPECT_EQ(Sample(t, R"(hub_event_latency_seconds_bucket{le="+Inf"})"), "4");
  EXPECT_EQ(Sample(t, "hub_event_latency_seconds_count"), "4");
  EXPECT_NEAR(std::stod(Sample(t, "hub_event_latency_seconds_sum")), 60.0064, 1e-3);
  // Only one +Inf bucket per histogram.
  EXPECT_EQ(t.find(R"(hub_event_latency_seconds_bucket{le="+Inf"})"),
            t.rfind(R"(hub_event_latency_seconds_bucket{le="+Inf"})"));
}

TEST(MetricsExporter, GaugesReflectTheCurrentValues) {
  common::Metrics m;
  m.inflight = 42;
  m.outbox_pending = 9;
  m.outbox_oldest_age_ms = 2500;
  m.db_ok = true;
  m.broker_ok = false;
  m.batches = 4;
  m.batch_events = 100;
  MetricsExporter exp(m, false);
  const std::string t = exp.MetricsText();
  EXPECT_THAT(t, HasSubstr("# TYPE hub_inflight_events gauge"));
  EXPECT_EQ(Sample(t, "hub_inflight_events"), "42");
  EXPECT_EQ(Sample(t, "hub_outbox_pending"), "9");
  EXPECT_EQ(Sample(t, "hub_outbox_oldest_age_seconds"), "2.5");
  EXPECT_EQ(Sample(t, "hub_database_up"), "1");
  EXPECT_EQ(Sample(t, "hub_broker_up"), "0");
  EXPECT_EQ(Sample(t, "hub_batches_total"), "4");
  EXPECT_EQ(Sample(t, "hub_batch_size_count"), "4");
  EXPECT_EQ(Sample(t, "hub_batch_size_sum"), "100");
  m.broker_ok = true;
  EXPECT_EQ(Sample(exp.MetricsText(), "hub_broker_up"), "1");
}

TEST(MetricsExporter, ProcessMetricsComeFromProcSelf) {
  common::Metrics m;
  MetricsExporter exp(m);
  const std::string t = exp.MetricsText();
  EXPECT_GT(std::stod(Sample(t, "process_resident_memory_bytes")), 1e6);
  EXPECT_GE(std::stod(Sample(t, "process_cpu_seconds_total")), 0.0);
  EXPECT_GT(std::stod(Sample(t, "process_open_fds")), 2.0);
  EXPECT_GT(std::stod(Sample(t, "process_start_time_seconds")), 1.6e9);

  MetricsExporter without(m, false);
  EXPECT_THAT(without.MetricsText(), Not(HasSubstr("process_")));
}

TEST(MetricsExporter, MetricsRegisteredOnTheRegistryAreExported) {
  common::Metrics m;
  MetricsExporter exp(m, false);
  auto& fam = prometheus::BuildCounter().Name("hub_extra_total").Help("extra").Register(exp.registry());
  fam.Add({{"kind", "x"}}).Increment(3);
  EXPECT_EQ(Sample(exp.MetricsText(), R"(hub_extra_total{kind="x"})"), "3");
}

TEST(MetricsExporter, PromtoolAcceptsTheExposition) {
  ASSERT_EQ(std::system("command -v promtool >/dev/null 2>&1"), 0) << "promtool not installed (scripts/install-deps.sh installs the prometheus package)";
  common::Metrics m;
  m.event_latency.Observe(0.01);
  m.batch_seconds.Observe(0.2);
  MetricsExporter exp(m);
  char path[] = "/tmp/hub-metrics-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  {
    std::ofstream(path) << exp.MetricsText();
  }
  const std::string out_path = std::string(path) + ".out";
  const int rc = std::system(("promtool check metrics < " + std::string(path) + " > " + out_path + " 2>&1").c_str());
  std::stringstream out;
  out << std::ifstream(out_path).rdbuf();
  unlink(path);
  unlink(out_path.c_str());
  EXPECT_EQ(rc, 0) << out.str();
}

// The alert rules and the dashboard name metrics by string; a renamed metric
// would silently leave an alert that never fires.  Every hub_* name they use
// must be a family this exporter emits (histogram/summary series by suffix).
TEST(MetricsExporter, EveryMetricNamedInDeployIsExported) {
  common::Metrics m;
  MetricsExporter exp(m, false);
  const std::string text = exp.MetricsText();
  std::set<std::string> families;
  std::regex type_line("# TYPE (\\S+) ");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), type_line); it != std::sregex_iterator(); ++it)
    families.insert((*it)[1]);

  for (const char* rel : {"/deploy/prometheus/hub-alerts.yml", "/deploy/grafana/hubworker-dashboard.json"}) {
    std::ifstream in(std::string(HUB_SOURCE_DIR) + rel);
    ASSERT_TRUE(in) << rel;
    std::stringstream buf;
    buf << in.rdbuf();
    const std::string src = buf.str();
    std::regex name("\\bhub_[a-z0-9_]+");
    int seen = 0;
    for (auto it = std::sregex_iterator(src.begin(), src.end(), name); it != std::sregex_iterator(); ++it, ++seen) {
      std::string n = it->str();
      if (families.count(n)) continue;
      bool found = false;
      for (const char* suffix : {"_bucket", "_count", "_sum"}) {
        const std::string sfx = suffix;
        if (n.size() > sfx.size() && n.compare(n.size() - sfx.size(), sfx.size(), sfx) == 0 &&
            families.count(n.substr(0, n.size() - sfx.size())))
          found = true;
      }
      EXPECT_TRUE(found) << rel << " uses " << n << ", which the exporter does not emit";
    }
    EXPECT_GT(seen, 5) << rel;
  }
}

}  // namespace
}  // namespace hub::worker
