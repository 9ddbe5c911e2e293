#include "tests/chaos/schedule.hpp"

#include <algorithm>
#include <random>

namespace hub::chaos {

std::vector<Fault> MakeSchedule(uint64_t seed, const ScheduleShape& shape) {
  // mt19937_64 and the distributions below are used only through their raw
  // output (no std:: distribution, whose results differ between standard
  // libraries), so a seed means the same schedule everywhere.
  std::mt19937_64 rng(seed);
  auto uniform = [&](double lo, double hi) {
    return lo + (hi - lo) * static_cast<double>(rng() >> 11) / static_cast<double>(1ULL << 53);
  };
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  const double from = 0.08 * shape.load_seconds, to = 0.85 * shape.load_seconds;
  std::vector<Fault> out;
  for (int k = 0; k < shape.kills; ++k) {
    const double at = uniform(from, to);
    const int worker = pick(shape.workers);
    // The first kill's restart meets JoinGroup errors.
    if (k == 0) out.push_back({at, FaultKind::kJoinGroupErrors, 0, 4});
    out.push_back({at, FaultKind::kKillWorker, worker, 0});
  }
  for (int r = 0; r < shape.rounds; ++r) {
    out.push_back({uniform(from, to), FaultKind::kProduceErrors, 0, 6});
    out.push_back({uniform(from, to), FaultKind::kFetchErrors, 0, 6});
    out.push_back({uniform(from, to), FaultKind::kOffsetCommitErrors, 0, 4});
    if (r > 0) out.push_back({uniform(from, to), FaultKind::kJoinGroupErrors, 0, 4});
    const double down = uniform(from, to);
    const int broker = 2 + pick(shape.brokers - 1);
    out.push_back({down, FaultKind::kBrokerDown, broker, 0});
    out.push_back({down + uniform(2, 5), FaultKind::kBrokerUp, broker, 0});
    const double rtt = uniform(from, to);
    const int rtt_broker = 2 + pick(shape.brokers - 1);
    out.push_back({rtt, FaultKind::kRttOn, rtt_broker, 100 + pick(200)});
    out.push_back({rtt + uniform(3, 6), FaultKind::kRttOff, rtt_broker, 0});
    out.push_back({uniform(from, to), FaultKind::kPostgresRestart, 0, 0});
    out.push_back({uniform(from, to), FaultKind::kStopWorkerWithLease, 0, 0});
  }
  std::stable_sort(out.begin(), out.end(), [](const Fault& a, const Fault& b) { return a.at_s < b.at_s; });
  return out;
}

std::string Describe(const Fault& f) {
  switch (f.kind) {
    case FaultKind::kKillWorker: return "kill -9 worker " + std::to_string(f.target) + ", start a new one";
    case FaultKind::kProduceErrors: return std::to_string(f.amount) + " Produce request errors";
    case FaultKind::kFetchErrors: return std::to_string(f.amount) + " Fetch request errors";
    case FaultKind::kOffsetCommitErrors: return std::to_string(f.amount) + " OffsetCommit request errors";
    case FaultKind::kJoinGroupErrors: return std::to_string(f.amount) + " JoinGroup request errors";
    case FaultKind::kBrokerDown: return "broker " + std::to_string(f.target) + " down";
    case FaultKind::kBrokerUp: return "broker " + std::to_string(f.target) + " up";
    case FaultKind::kRttOn: return "broker " + std::to_string(f.target) + " RTT +" + std::to_string(f.amount) + " ms";
    case FaultKind::kRttOff: return "broker " + std::to_string(f.target) + " RTT back to 0";
    case FaultKind::kPostgresRestart: return "PostgreSQL restart (fast shutdown)";
    case FaultKind::kStopWorkerWithLease: return "SIGSTOP a worker holding a step lease until it is taken over";
  }
  return "?";
}

}  // namespace hub::chaos
