// A real Prometheus (Debian's `prometheus`, installed by
// scripts/install-deps.sh) scrapes a running `hubworker run`; the processed
// count is read back with PromQL through Prometheus' HTTP API, and
// `promtool check metrics` lints a real scrape.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <rapidjson/document.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <regex>
#include <set>
#include <string>

#include "tests/support/kafka_client.hpp"
#include "tests/support/metrics_scrape.hpp"
#include "tests/support/pipeline_fixture.hpp"

namespace hub {
namespace {
using namespace std::chrono_literals;
using testing::ChildProcess;
using testing::RunResult;
using testing::TestConsumer;
using testing::TestProducer;

// A port no one listens on right now (the kernel's pick for port 0).
std::string FreeLocalPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    if (fd >= 0) close(fd);
    return {};
  }
  close(fd);
  return std::to_string(ntohs(a.sin_port));
}

// The single value of an instant-vector query, "" while there is none.
std::string QueryValue(const std::string& prom_port, const std::string& promql) {
  RunResult r = testing::RunToCompletion(
      {"curl", {"-sfG", "--data-urlencode", "query=" + promql, "http://127.0.0.1:" + prom_port + "/api/v1/query"}, {}, {}, {}},
      10s);
  if (r.exit_code != 0) return {};
  rapidjson::Document d;
  d.Parse(r.out.c_str());
  if (d.HasParseError() || !d.IsObject() || !d.HasMember("data")) return {};
  const auto& result = d["data"]["result"];
  if (!result.IsArray() || result.Size() != 1) return {};
  return result[0]["value"][1].GetString();
}

std::string ReadSource(const std::string& path) {
  std::ifstream in(std::string(HUB_SOURCE_DIR) + "/" + path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The families of an exposition ("# TYPE <name> <type>" lines).
std::set<std::string> Families(const std::string& scrape) {
  std::set<std::string> out;
  const std::regex type_line(R"(# TYPE (\S+) )");
  for (std::sregex_iterator it(scrape.begin(), scrape.end(), type_line), end; it != end; ++it) out.insert((*it)[1]);
  return out;
}

class PrometheusTest : public testing::PipelineFixture {
 protected:
  void SetUp() override {
    PipelineFixture::SetUp();
    char tmpl[] = "/tmp/hub-prom-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    prometheus_.reset();
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }

  // Prometheus on 127.0.0.1 scraping `target` every second, ready to answer.
  std::string StartPrometheus(const std::string& target) {
    const std::string config = dir_ + "/prometheus.yml";
    std::ofstream(config) << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                             "scrape_configs:\n  - job_name: hubworker\n    static_configs:\n"
                             "      - targets: ['" << target << "']\n";
    const std::string port = FreeLocalPort();
    prometheus_ = std::make_unique<ChildProcess>(
        "prometheus", std::vector<std::string>{"--config.file=" + config, "--web.listen-address=127.0.0.1:" + port,
                                               "--storage.tsdb.path=" + dir_ + "/data", "--log.level=warn"});
    const bool ready = testing::WaitFor([&] { return !testing::HttpGetLocal(port, "/-/ready").empty(); }, 60s, 100ms);
    return ready ? port : std::string();
  }

  std::string dir_;
  std::unique_ptr<ChildProcess> prometheus_;
};

TEST_F(PrometheusTest, PrometheusScrapesTheWorkerAndPromQlReadsTheProcessedCount) {
  auto worker = StartWorker();
  const std::string port = testing::WorkerHttpPort(*worker, 30s);
  ASSERT_FALSE(port.empty()) << worker->StderrText();
  const std::string prom = StartPrometheus("127.0.0.1:" + port);
  ASSERT_FALSE(prom.empty()) << "prometheus did not become ready\n" << prometheus_->StderrText();

  constexpr int kEvents = 50;
  TestProducer producer(broker_->bootstrap());
  TestConsumer completions(broker_->bootstrap(), "hub.workflow.completed");
  ProduceTriggered(producer, "prom", 0, kEvents);
  ASSERT_TRUE(WaitDistinctCompletions(completions, kEvents, 60s)) << worker->StderrText() << Progress();

  const std::string processed =
      R"(sum(hub_events_processed_total{job="hubworker",type="workflow.triggered"}))";
  std::string value;
  EXPECT_TRUE(testing::WaitFor([&] { return (value = QueryValue(prom, processed)) == std::to_string(kEvents); },
                               60s, 200ms))
      << processed << " = '" << value << "'\n" << prometheus_->StderrText();
  EXPECT_EQ(QueryValue(prom, R"(up{job="hubworker"})"), "1");
  // Caught up: the lag Prometheus stores falls to zero too.
  EXPECT_TRUE(testing::WaitFor(
      [&] { return QueryValue(prom, R"(sum(hub_consumer_lag{job="hubworker"}))") == "0"; }, 60s, 200ms));
  StopWorker(*worker);
}

TEST_F(PrometheusTest, ARealScrapePassesPromtoolAndHasEveryMetricTheDashboardAndTheAlertsName) {
  auto worker = StartWorker();
  const std::string port = testing::WorkerHttpPort(*worker, 30s);
  ASSERT_FALSE(port.empty()) << worker->StderrText();
  TestProducer producer(broker_->bootstrap());
  TestConsumer completions(broker_->bootstrap(), "hub.workflow.completed");
  ProduceTriggered(producer, "lint", 0, 10);
  ASSERT_TRUE(WaitDistinctCompletions(completions, 10, 60s)) << worker->StderrText();
  std::string scrape;
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        scrape = testing::HttpGetLocal(port, "/metrics");
        return scrape.find("\nhub_consumer_lag{") != std::string::npos;  // the lag series are in it too
      },
      60s, 100ms));
  testing::ProcessOptions o;
  o.program = "promtool";
  o.args = {"check", "metrics"};
  o.stdin_data = scrape;
  const RunResult r = testing::RunToCompletion(o, 30s);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;

  // Every hub_* name the dashboard and the alert rules query is a family of
  // the scrape (a histogram's _bucket/_sum/_count by its family).
  const std::set<std::string> families = Families(scrape);
  const std::regex name(R"(\bhub_[a-z0-9_]+)");
  for (const char* file : {"deploy/grafana/hubworker-dashboard.json", "deploy/prometheus/hub-alerts.yml"}) {
    const std::string text = ReadSource(file);
    ASSERT_FALSE(text.empty()) << file;
    int names = 0;
    for (std::sregex_iterator it(text.begin(), text.end(), name), end; it != end; ++it, ++names) {
      std::string n = it->str();
      for (const char* suffix : {"_bucket", "_sum", "_count"})
        if (!families.count(n) && n.size() > std::strlen(suffix) &&
            n.compare(n.size() - std::strlen(suffix), std::string::npos, suffix) == 0)
          n.resize(n.size() - std::strlen(suffix));
      EXPECT_TRUE(families.count(n)) << file << " names " << it->str() << ", which the worker does not export";
    }
    EXPECT_GT(names, 10) << file;
  }
  StopWorker(*worker);
}

}  // namespace
}  // namespace hub
