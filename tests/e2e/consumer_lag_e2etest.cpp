// hub_consumer_lag{topic,partition} and hub_consumer_lag_seconds through a
// `hubworker run` process: they rise while the worker cannot finish events
// and fall to zero once it has caught up; after a rebalance every partition
// is reported by exactly the worker that owns it.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <pqxx/pqxx>
#include <set>
#include <string>

#include "tests/support/kafka_client.hpp"
#include "tests/support/metrics_scrape.hpp"
#include "tests/support/pipeline_fixture.hpp"
#include "worker/catalogue.hpp"

namespace hub {
namespace {
using namespace std::chrono_literals;
using testing::ChildProcess;
using testing::Samples;
using testing::SumOf;
using testing::TestConsumer;
using testing::TestProducer;

constexpr int kPartitions = 12;  // PipelineFixture's broker

class ConsumerLagTest : public testing::PipelineFixture {
 protected:
  // Sampled often, so the waits below are short.
  std::unique_ptr<ChildProcess> StartSampledWorker() { return StartWorker({{"HUB_LAG_INTERVAL_MS", "200"}}); }

  // Every partition of the topics the worker subscribes to, as the label set
  // of its hub_consumer_lag series.
  static std::set<std::string> AllPartitionSeries() {
    std::set<std::string> out;
    for (const auto& type : worker::Catalogue().ConsumedTypes())
      for (int p = 0; p < kPartitions; ++p)
        out.insert("{partition=\"" + std::to_string(p) + "\",topic=\"hub." + type + "\"}");
    return out;
  }

  static std::set<std::string> LagSeries(const std::string& port) {
    std::set<std::string> out;
    for (const auto& [labels, v] : Samples(testing::HttpGetLocal(port, "/metrics"), "hub_consumer_lag"))
      out.insert(labels);
    return out;
  }
};

TEST_F(ConsumerLagTest, LagRisesWhileTheWorkerFallsBehindAndReturnsToZeroAfterItCatchesUp) {
  // The identities table is locked against inserts: the worker fetches the
  // events but cannot commit any of them, so it falls behind while it still
  // answers on /metrics.
  pqxx::connection locker(db_->admin_url());
  pqxx::work lock(locker);
  lock.exec("LOCK TABLE processed_events IN SHARE ROW EXCLUSIVE MODE");
  auto worker = StartSampledWorker();
  const std::string port = testing::WorkerHttpPort(*worker, 30s);
  ASSERT_FALSE(port.empty()) << worker->StderrText();
  const auto all = AllPartitionSeries();
  ASSERT_TRUE(testing::WaitFor([&] { return LagSeries(port) == all; }, 60s, 100ms)) << worker->StderrText();

  constexpr int kEvents = 300;
  TestProducer producer(broker_->bootstrap());
  TestConsumer completions(broker_->bootstrap(), "hub.workflow.completed");
  ProduceTriggered(producer, "lag", 0, kEvents);

  std::string text;
  const auto scrape = [&] { return text = testing::HttpGetLocal(port, "/metrics"); };
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        scrape();
        return SumOf(Samples(text, "hub_consumer_lag")) == kEvents && Samples(text, "hub_consumer_lag_seconds")[""] > 0;
      },
      60s, 100ms))
      << text << worker->StderrText();
  EXPECT_EQ(Count("SELECT count(*) FROM workflow_executions"), 0);
  // Every partition with events is behind by exactly what it was given.
  int behind = 0;
  for (const auto& [labels, v] : Samples(text, "hub_consumer_lag")) behind += v > 0 ? 1 : 0;
  EXPECT_GT(behind, 1);

  lock.commit();
  ASSERT_TRUE(WaitDistinctCompletions(completions, kEvents, 120s)) << worker->StderrText() << Progress();
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        scrape();
        return Samples(text, "hub_consumer_lag").size() == all.size() && SumOf(Samples(text, "hub_consumer_lag")) == 0 &&
               Samples(text, "hub_consumer_lag_seconds")[""] == 0;
      },
      60s, 100ms))
      << text;
  EXPECT_EQ(Samples(text, "hub_events_processed_total")["{type=\"workflow.triggered\"}"], kEvents);
  StopWorker(*worker);
}

TEST_F(ConsumerLagTest, AfterARebalanceEachPartitionIsReportedByExactlyOneOfTwoWorkers) {
  auto a = StartSampledWorker();
  const std::string port_a = testing::WorkerHttpPort(*a, 30s);
  ASSERT_FALSE(port_a.empty()) << a->StderrText();
  const auto all = AllPartitionSeries();
  ASSERT_TRUE(testing::WaitFor([&] { return LagSeries(port_a) == all; }, 60s, 100ms)) << a->StderrText();
  TestProducer producer(broker_->bootstrap());
  ProduceTriggered(producer, "before", 0, 100);

  auto b = StartSampledWorker();
  const std::string port_b = testing::WorkerHttpPort(*b, 30s);
  ASSERT_FALSE(port_b.empty()) << b->StderrText();
  // The group moves some partitions to b; a stops reporting them.
  std::set<std::string> of_a, of_b;
  const auto split_exactly = [&] {
    of_a = LagSeries(port_a);
    of_b = LagSeries(port_b);
    if (of_a.empty() || of_b.empty() || of_a.size() + of_b.size() != all.size()) return false;
    std::set<std::string> both = of_a;
    both.insert(of_b.begin(), of_b.end());
    return both == all;
  };
  ASSERT_TRUE(testing::WaitFor(split_exactly, 90s, 100ms))
      << "a: " << of_a.size() << " series, b: " << of_b.size() << "\n" << a->StderrText() << b->StderrText();
  for (const auto& s : of_a) EXPECT_EQ(of_b.count(s), 0u) << s << " reported by both";

  // And back: once b has left, a reports every partition again.
  StopWorker(*b);
  ASSERT_TRUE(testing::WaitFor([&] { return LagSeries(port_a) == all; }, 90s, 100ms)) << a->StderrText();
  StopWorker(*a);
}

}  // namespace
}  // namespace hub
