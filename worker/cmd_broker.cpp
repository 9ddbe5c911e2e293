// `hubworker broker`: the embedded Kafka-protocol cluster alone, for kcat, tests
// and demos.  The first line of stdout is the bootstrap address (flushed at
// once, so a parent process can read it); everything else goes to the log on
// stderr.  Runs until SIGTERM or SIGINT, then exits 0.
#include <signal.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <stdexcept>
#include <string>

#include "common/error.hpp"
#include "common/log.hpp"
#include "worker/commands.hpp"
#include "worker/embedded_broker.hpp"

namespace hub::worker {
namespace {

constexpr int kMaxBrokers = 16;

int ParseBrokers(const std::string& v) {
  size_t used = 0;
  int n = 0;
  try {
    n = std::stoi(v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != v.size() || n < 1 || n > kMaxBrokers)
    throw common::ConfigError("--brokers: expected an integer 1.." + std::to_string(kMaxBrokers) + ", got '" +
                              v + "'");
  return n;
}

int ParseArgs(const std::vector<std::string>& args) {
  int brokers = EmbeddedBroker::kDefaultBrokers;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--brokers") {
      if (i + 1 >= args.size()) throw common::ConfigError("--brokers: expected a value");
      brokers = ParseBrokers(args[++i]);
    } else if (a.rfind("--brokers=", 0) == 0) {
      brokers = ParseBrokers(a.substr(std::strlen("--brokers=")));
    } else {
      throw common::ConfigError("broker: unknown argument '" + a + "' (see hubworker broker --help)");
    }
  }
  return brokers;
}

}  // namespace

int BrokerCommand(const Settings& s, const std::vector<std::string>& args) {
  const int brokers = ParseArgs(args);

  // Block the stop signals before librdkafka starts its threads, so that they
  // inherit the mask and the signals are only ever taken by sigwait below.
  sigset_t stop, old;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  if (int rc = pthread_sigmask(SIG_BLOCK, &stop, &old); rc != 0)
    throw std::runtime_error(std::string("pthread_sigmask: ") + std::strerror(rc));

  int signo = 0;
  {
    EmbeddedBroker broker(brokers, s.kafka_partitions, s.topic_prefix);
    std::cout << broker.bootstrap() << std::endl;  // first line of stdout, flushed
    while (true) {
      const int rc = sigwait(&stop, &signo);
      if (rc == 0) break;
      if (rc != EINTR) throw std::runtime_error(std::string("sigwait: ") + std::strerror(rc));
    }
    common::LogInfo("embedded broker stopping", {{"signal", strsignal(signo)}});
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  common::LogInfo("embedded broker stopped");
  return 0;
}

}  // namespace hub::worker
