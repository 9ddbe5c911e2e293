#pragma once
// The chaos run's fault schedule: a pure function of the seed and the run's
// shape, so that `hub_chaos --seed S` with the same flags replays the same
// faults at the same moments of the load against the same targets.
#include <cstdint>
#include <string>
#include <vector>

namespace hub::chaos {

enum class FaultKind {
  kKillWorker,          // kill -9 worker `target`, then start a new one in its place
  kProduceErrors,       // retriable errors on the next Produce requests (API key 0)
  kFetchErrors,         // ... Fetch (1)
  kOffsetCommitErrors,  // ... OffsetCommit (8)
  kJoinGroupErrors,     // ... JoinGroup (11); pushed right before a kill's restart joins
  kBrokerDown,          // broker `target` down ...
  kBrokerUp,            // ... and up again
  kRttOn,               // added round-trip time on broker `target` ...
  kRttOff,              // ... and back to none
  kPostgresRestart,     // pg_ctl restart -m fast: every connection is cut
  kStopWorkerWithLease  // SIGSTOP a worker that holds a step lease until others take it over, then SIGCONT
};

struct Fault {
  double at_s = 0;   // seconds after the load started
  FaultKind kind = FaultKind::kKillWorker;
  int target = 0;    // worker index (0-based) or broker id (1-based); unused otherwise
  int amount = 0;    // errors pushed, or milliseconds of RTT
};

struct ScheduleShape {
  double load_seconds = 60;  // faults fall between 8 % and 85 % of it
  int workers = 3;
  int brokers = 3;
  // Broker 1 is the group coordinator and is left alone: librdkafka 2.0.2's
  // mock cluster aborts (rd_kafka_mock_cgrp_member_add: !member->resp) when
  // a member joins again while its coordinator was down or slow.  Brokers
  // 2..brokers go down and get added RTT.
  int kills = 3;
  int rounds = 1;  // how often each other fault kind happens
};

// Sorted by time.  Every kind appears at least `rounds` times (kills: `kills`
// times); a down broker always comes back up and an RTT is always removed
// before the load ends.
std::vector<Fault> MakeSchedule(uint64_t seed, const ScheduleShape& shape);

// "kill -9 worker 2", "broker 3 down", ...
std::string Describe(const Fault& f);

}  // namespace hub::chaos
