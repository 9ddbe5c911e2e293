// `hubworker broker` as a separate process, checked from the outside with kcat:
// the bootstrap address comes first on stdout, the cluster has the requested
// brokers and the contract topics, messages go through, SIGTERM stops it.
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <signal.h>

#include <chrono>
#include <set>
#include <string>

#include "tests/support/process.hpp"

namespace hub::testing {
namespace {

using namespace std::chrono_literals;

const char* const kContractTopics[] = {
    "hub.workflow.triggered", "hub.order.submitted", "hub.integration.webhook", "hub.workflow.completed",
    "hub.order.milestone",    "hub.order.completed", "hub.integration.processed", "hub.deadletter",
};

bool HaveKcat() { return std::system("command -v kcat >/dev/null 2>&1") == 0; }

// `hubworker broker` with the default topic settings, whatever the shell has.
ProcessOptions BrokerOptions(std::vector<std::string> args = {}) {
  ProcessOptions o;
  o.program = HUB_BINARY;
  o.args = {"broker"};
  o.args.insert(o.args.end(), args.begin(), args.end());
  o.env = {{"HUB_LOG_FORMAT", "text"}};
  o.unset_env = {"HUB_KAFKA_PARTITIONS", "HUB_TOPIC_PREFIX", "HUB_KAFKA_BROKERS"};
  return o;
}

RunResult Kcat(std::vector<std::string> args, std::optional<std::string> stdin_data = std::nullopt) {
  ProcessOptions o;
  o.program = "kcat";
  o.args = std::move(args);
  o.stdin_data = std::move(stdin_data);
  return RunToCompletion(o, 20s);
}

class BrokerProcess : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(HaveKcat()) << "kcat is not installed (scripts/install-deps.sh installs it)";
  }

  // Starts the broker and reads its address; fails the test if it does not come.
  std::string Start(std::vector<std::string> args = {}) {
    broker_.emplace(BrokerOptions(std::move(args)));
    std::string addr = broker_->ReadLine(15s);
    EXPECT_FALSE(addr.empty()) << "no bootstrap address; stderr:\n" << broker_->StderrText();
    return addr;
  }

  rapidjson::Document Metadata(const std::string& addr) {
    const RunResult r = Kcat({"-L", "-J", "-b", addr, "-m", "10"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    rapidjson::Document d;
    d.Parse(r.out.c_str());
    EXPECT_FALSE(d.HasParseError()) << r.out;
    return d;
  }

  std::optional<ChildProcess> broker_;
};

TEST_F(BrokerProcess, PrintsTheBootstrapAddressFirstAndListsThreeBrokers) {
  const std::string addr = Start();
  ASSERT_NE(addr.find(':'), std::string::npos) << addr;
  const auto md = Metadata(addr);
  ASSERT_TRUE(md.IsObject() && md.HasMember("brokers"));
  EXPECT_EQ(md["brokers"].Size(), 3u);
  std::set<int> ids;
  for (const auto& b : md["brokers"].GetArray()) ids.insert(b["id"].GetInt());
  EXPECT_EQ(ids, (std::set<int>{1, 2, 3}));
}

TEST_F(BrokerProcess, CreatesEveryContractTopicWithTwelvePartitions) {
  const std::string addr = Start();
  const auto md = Metadata(addr);
  ASSERT_TRUE(md.IsObject() && md.HasMember("topics"));
  for (const char* want : kContractTopics) {
    const rapidjson::Value* topic = nullptr;
    for (const auto& t : md["topics"].GetArray())
      if (std::string(t["topic"].GetString()) == want) topic = &t;
    ASSERT_NE(topic, nullptr) << want << " missing";
    EXPECT_EQ((*topic)["partitions"].Size(), 12u) << want;
    EXPECT_EQ((*topic)["partitions"][0]["replicas"].Size(), 3u) << want;
  }
}

TEST_F(BrokerProcess, AMessageProducedWithKcatCanBeConsumedWithKcat) {
  const std::string addr = Start();
  const RunResult produced =
      Kcat({"-P", "-b", addr, "-t", "hub.workflow.triggered", "-p", "3", "-k", "wf-1"}, std::string("hello-e2e\n"));
  ASSERT_EQ(produced.exit_code, 0) << produced.err;
  const RunResult consumed = Kcat(
      {"-C", "-b", addr, "-t", "hub.workflow.triggered", "-p", "3", "-o", "beginning", "-c", "1", "-e", "-f", "%k=%s\n"});
  ASSERT_EQ(consumed.exit_code, 0) << consumed.err;
  EXPECT_EQ(consumed.out, "wf-1=hello-e2e\n");
}

TEST_F(BrokerProcess, ExitsZeroOnSigterm) {
  Start();
  broker_->Signal(SIGTERM);
  EXPECT_EQ(broker_->WaitExit(10s), 0) << broker_->StderrText();
}

TEST_F(BrokerProcess, ExitsZeroOnSigint) {
  Start();
  broker_->Signal(SIGINT);
  EXPECT_EQ(broker_->WaitExit(10s), 0) << broker_->StderrText();
}

TEST_F(BrokerProcess, BrokersOptionSetsTheClusterSize) {
  const std::string addr = Start({"--brokers", "1"});
  const auto md = Metadata(addr);
  ASSERT_TRUE(md.IsObject() && md.HasMember("brokers"));
  EXPECT_EQ(md["brokers"].Size(), 1u);
}

TEST_F(BrokerProcess, PartitionsAndPrefixFollowTheSettings) {
  const std::string addr = Start({"--kafka-partitions", "4", "--topic-prefix", "t1."});
  const auto md = Metadata(addr);
  ASSERT_TRUE(md.IsObject() && md.HasMember("topics"));
  bool found = false;
  for (const auto& t : md["topics"].GetArray()) {
    if (std::string(t["topic"].GetString()) == "t1.deadletter") {
      found = true;
      EXPECT_EQ(t["partitions"].Size(), 4u);
    }
  }
  EXPECT_TRUE(found);
}

TEST(BrokerCommand, RejectsABadBrokerCountNamingTheOption) {
  const RunResult r = RunToCompletion(BrokerOptions({"--brokers", "0"}), 10s);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--brokers"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

}  // namespace
}  // namespace hub::testing
