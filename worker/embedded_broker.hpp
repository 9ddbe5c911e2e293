#pragma once
// An in-process Kafka-protocol cluster: librdkafka's mock cluster
// (rdkafka_mock.h), listening on 127.0.0.1.  Used by `hubworker broker`, by
// `hubworker run` when HUB_KAFKA_BROKERS is empty, and by tests.  Outside
// clients (kcat, librdkafka in other processes) connect to bootstrap().
//
// What the mock does not do (the product must not depend on it): no
// transactions, slow rebalances, ~5 MiB kept per partition.
// The produce and consume code is the one that runs against a real cluster.
//
// Threading: the mock runs its own broker threads inside librdkafka.  This
// object is not copyable or movable; construct and destroy it on one thread.
// bootstrap() and cluster() may be called from any thread.
#include <functional>
#include <string>
#include <vector>

// Forward declarations of the librdkafka C handles (same typedefs as rdkafka.h
// and rdkafka_mock.h), so that users of this header need not include them.
typedef struct rd_kafka_s rd_kafka_t;
typedef struct rd_kafka_mock_cluster_s rd_kafka_mock_cluster_t;

namespace hub::worker {

class EmbeddedBroker {
 public:
  static constexpr int kDefaultBrokers = 3;

  // Starts `brokers` mock brokers (ids 1..brokers) and creates every contract
  // topic (ContractTopics) with `partitions` partitions and a replication factor
  // of min(3, brokers).  Other topics are auto-created by the mock on first use.
  // Throws std::runtime_error if the cluster cannot be created, and
  // std::invalid_argument on brokers < 1 or partitions < 1.
  EmbeddedBroker(int brokers, int partitions, const std::string& topic_prefix);
  // Stops the brokers.  Usually takes ~1 s: librdkafka 2.0.2 joins an internal
  // broker thread that only notices termination at its 1 s poll timeout.
  ~EmbeddedBroker();
  EmbeddedBroker(const EmbeddedBroker&) = delete;
  EmbeddedBroker& operator=(const EmbeddedBroker&) = delete;

  // Comma-separated host:port list of all brokers, for bootstrap.servers.
  std::string bootstrap() const { return bootstrap_; }
  int brokers() const { return brokers_; }
  int partitions() const { return partitions_; }
  const std::vector<std::string>& topics() const { return topics_; }

  // The mock cluster, for fault injection in tests
  // (rd_kafka_mock_broker_set_down, rd_kafka_mock_push_request_errors, ...).
  // Owned by this object; valid until it is destroyed.  Prefer Control() for
  // calls that the mock's thread serves (see there).
  rd_kafka_mock_cluster_t* cluster() const { return cluster_; }

  // Runs `fn(cluster())` and keeps the mock's thread awake meanwhile.  Mock
  // calls that are handed to the mock's thread and waited for (topic create,
  // broker set_down/set_up/set_rtt, partition leader, ...) can otherwise take
  // up to 1 s each in librdkafka 2.0.2: a wake-up that arrives while the
  // previous call is being served is swallowed, and the call waits for the
  // thread's 1 s poll timeout.  Thread-safe.
  void Control(const std::function<void(rd_kafka_mock_cluster_t*)>& fn) const;

  // The catalogue's topics with `prefix` applied (worker/catalogue.cpp), inputs
  // first: workflow.triggered, order.submitted, integration.webhook,
  // workflow.completed, order.milestone, order.completed,
  // integration.processed, deadletter.
  static std::vector<std::string> ContractTopics(const std::string& prefix);

 private:
  rd_kafka_t* handle_ = nullptr;  // owns the mock cluster's bookkeeping; outlives cluster_
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  int brokers_;
  int partitions_;
  std::string bootstrap_;
  std::vector<std::string> topics_;
};

}  // namespace hub::worker
