#pragma once
// Resumes workflow executions parked at a durable step (schemas/sql/0016,
// 0017): a delay that is due, or an http_request or ai_agent whose call (an
// HTTP request, a model call) it makes.
//
// One thread per process with its own connection.  A round claims up to
// `batch` due steps of any organisation with FOR UPDATE SKIP LOCKED and a
// lease (its own short transaction), makes the http_request calls of the
// round outside any transaction (the agents that ai_agent steps name are read
// before, under each step's tenant; at most `concurrency` calls at once, each with
// Idempotency-Key: <executionId>:<nodeId> so that a call repeated after a
// crash can be recognised), then resumes them in ONE transaction:
// it re-checks that it still holds each lease (a lease that expired may have
// been taken by another worker), sets the tenant per organisation, runs the
// engine from the step's node, and writes the executions' next state, their
// notifications, completion events (outbox) and the steps' deletion (or the
// next step) together.  A crash between claim and commit leaves the step to be
// claimed again after its lease; a committed resume is never run again.
//
// Between rounds it sleeps until the next step is due, woken early by
// NOTIFY hub_steps (sent by the transaction that parks an execution), and at
// most `max_wait_ms`.  Due times and leases are judged on the injected clock.
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>

#include <pqxx/pqxx>

#include "common/clock.hpp"
#include "clients/http_client.hpp"
#include "clients/model_client.hpp"
#include "common/metrics.hpp"
#include "consumers/batch_applier.hpp"
#include "consumers/call_pool.hpp"
#include "consumers/workflows/cache.hpp"
#include "engine/limits.hpp"
#include "outbox/rows.hpp"

namespace hub::workflows {

struct StepRunnerOptions {
  std::string database_url;
  std::string topic_prefix = "hub.";
  const common::Clock* clock = nullptr;  // required
  engine::ExecutionLimits limits;
  size_t max_event_bytes = 1000000 - 1024;
  int batch = 500;
  // A claim holds a step this long: longer than any call (http_request
  // timeoutMs is at most 25 s), so that no other worker calls again meanwhile.
  int lease_ms = 60000;
  const clients::HttpClient* http = nullptr;  // required for http_request steps
  const clients::ModelClient* models = nullptr;  // required for ai_agent steps
  int concurrency = 64;                       // outside calls in flight (HUB_STEP_CONCURRENCY)
  int max_wait_ms = 5000;  // longest sleep between rounds
  std::string owner;       // lease owner, unique per process
  consumers::OutboxCommitted on_committed;  // null: the relays publish (NOTIFY)
};

class WorkflowStepRunner {
 public:
  WorkflowStepRunner(StepRunnerOptions options, common::Metrics& metrics);
  ~WorkflowStepRunner();
  WorkflowStepRunner(const WorkflowStepRunner&) = delete;
  WorkflowStepRunner& operator=(const WorkflowStepRunner&) = delete;

  void Start();
  void Stop();  // finishes the round in progress
  // One round on the caller's thread (tests; not after Start()): returns the
  // steps resumed.  Database failures propagate.
  size_t RunOnce();

 private:
  class Listener;
  struct Claimed;
  void Run();
  void Connect();
  size_t Resume(std::vector<Claimed>& claimed, common::Clock::SteadyTime claimed_at);
  // The calls of the claimed http_request steps, outside any transaction.
  void Call(std::vector<Claimed>& claimed);
  // The model calls of the claimed ai_agent steps (their agents read under
  // the tenant); a step that cannot call gets its verdict instead.
  void PrepareModelCalls(const std::vector<Claimed*>& calls,
                         std::vector<std::optional<engine::ModelCall>>& model_calls);
  void WaitForWork();

  StepRunnerOptions options_;
  common::Metrics& metrics_;
  std::unique_ptr<pqxx::connection> conn_;
  std::unique_ptr<Listener> listener_;
  bool notified_ = false;
  WorkflowCache cache_;
  outbox::OutboxBatch outbox_;
  std::mt19937 rng_{std::random_device{}()};  // backoff jitter
  std::unique_ptr<consumers::CallPool> pool_;            // the calls' threads, started on the first call
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace hub::workflows
