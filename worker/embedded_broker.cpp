#include "worker/embedded_broker.hpp"

#include "worker/catalogue.hpp"

// rdkafka.h must come before rdkafka_mock.h, which uses its types without including it.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "common/log.hpp"

namespace hub::worker {
namespace {

// librdkafka's log callback, called on librdkafka threads.  The mock's own
// chatter is debug-level for us; warnings and errors stay visible.
void LogFromLibrdkafka(const rd_kafka_t*, int level, const char* fac, const char* buf) {
  common::LogLevel l = common::LogLevel::kDebug;
  if (level <= 3) l = common::LogLevel::kError;       // LOG_ERR and worse
  else if (level == 4) l = common::LogLevel::kWarn;   // LOG_WARNING
  if (!common::LogEnabled(l)) return;
  common::Log(l, "embedded broker: librdkafka", {{"facility", fac}, {"message", buf}});
}

// The brokers' listening ports, from "127.0.0.1:p1,127.0.0.1:p2,...".
std::vector<uint16_t> Ports(const std::string& bootstrap) {
  std::vector<uint16_t> out;
  size_t start = 0;
  while (start < bootstrap.size()) {
    size_t end = bootstrap.find(',', start);
    if (end == std::string::npos) end = bootstrap.size();
    const std::string item = bootstrap.substr(start, end - start);
    const auto colon = item.rfind(':');
    if (colon != std::string::npos) out.push_back(static_cast<uint16_t>(std::stoi(item.substr(colon + 1))));
    start = end + 1;
  }
  return out;
}

// While alive, opens and at once closes a TCP connection to one of the mock
// brokers every 2 ms.  The mock's thread polls the listening sockets along with
// its op wake-up pipe, so each connection makes it serve its op queue, and a
// request whose wake-up was swallowed (see Control()) waits ~2 ms, not ~1 s.
// Non-blocking connects to 127.0.0.1: never blocks, even on a broker set down.
class MockWaker {
 public:
  explicit MockWaker(std::vector<uint16_t> ports) : ports_(std::move(ports)) {
    if (!ports_.empty()) thread_ = std::thread([this] { Loop(); });
  }
  ~MockWaker() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Loop() {
    size_t next = 0;
    std::unique_lock<std::mutex> lock(mu_);
    while (!cv_.wait_for(lock, std::chrono::milliseconds(2), [this] { return stop_; })) {
      Poke(ports_[next++ % ports_.size()]);
    }
  }

  static void Poke(uint16_t port) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return;  // out of descriptors: the mock's own 1 s timeout still applies
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    // EINPROGRESS is the expected result; the listener sees the connection either way.
    (void)connect(fd, reinterpret_cast<sockaddr*>(&sin), sizeof sin);
    close(fd);
  }

  std::vector<uint16_t> ports_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace

void EmbeddedBroker::Control(const std::function<void(rd_kafka_mock_cluster_t*)>& fn) const {
  MockWaker waker(Ports(bootstrap_));
  fn(cluster_);
}

std::vector<std::string> EmbeddedBroker::ContractTopics(const std::string& prefix) {
  return Catalogue().Topics(prefix);
}

EmbeddedBroker::EmbeddedBroker(int brokers, int partitions, const std::string& topic_prefix)
    : brokers_(brokers), partitions_(partitions), topics_(ContractTopics(topic_prefix)) {
  if (brokers < 1) throw std::invalid_argument("embedded broker: broker count must be >= 1");
  if (partitions < 1) throw std::invalid_argument("embedded broker: partition count must be >= 1");

  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set_log_cb(conf, LogFromLibrdkafka);
  // The handle only hosts the cluster; it never connects anywhere.  Without a
  // bootstrap list librdkafka warns once at start-up, which is expected here.
  if (rd_kafka_conf_set(conf, "client.id", "hub-embedded-broker", err, sizeof err) != RD_KAFKA_CONF_OK) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(std::string("embedded broker: ") + err);
  }
  handle_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);  // takes conf on success
  if (!handle_) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(std::string("embedded broker: rd_kafka_new failed: ") + err);
  }
  cluster_ = rd_kafka_mock_cluster_new(handle_, brokers);
  if (!cluster_) {
    rd_kafka_destroy(handle_);
    throw std::runtime_error("embedded broker: rd_kafka_mock_cluster_new failed");
  }
  bootstrap_ = rd_kafka_mock_cluster_bootstraps(cluster_);

  const int replication = std::min(3, brokers);
  std::string failure;
  Control([&](rd_kafka_mock_cluster_t* c) {
    for (const auto& t : topics_) {
      const rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(c, t.c_str(), partitions, replication);
      if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        failure = "embedded broker: creating topic " + t + " failed: " + rd_kafka_err2str(e);
        return;
      }
    }
  });
  if (!failure.empty()) {
    rd_kafka_mock_cluster_destroy(cluster_);
    rd_kafka_destroy(handle_);
    throw std::runtime_error(failure);
  }
  common::LogInfo("embedded broker started", {{"bootstrap", bootstrap_},
                                              {"brokers", brokers},
                                              {"partitions", partitions},
                                              {"replication", replication},
                                              {"topics", static_cast<int>(topics_.size())}});
}

EmbeddedBroker::~EmbeddedBroker() {
  // The cluster first: it lives on the handle's bookkeeping.  Its stop request
  // is an op like any other, so keep the thread awake (see Control()).
  Control([](rd_kafka_mock_cluster_t* c) { rd_kafka_mock_cluster_destroy(c); });
  rd_kafka_destroy(handle_);
}

}  // namespace hub::worker
