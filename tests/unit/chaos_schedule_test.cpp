// The chaos run's schedule (tests/chaos/schedule.*): a seed replays the same
// faults, every fault kind is there, and what is switched on is switched off.
#include "tests/chaos/schedule.hpp"

#include <gtest/gtest.h>

#include <map>

namespace hub::chaos {
namespace {

ScheduleShape Shape(int kills, int rounds) {
  ScheduleShape s;
  s.load_seconds = 100;
  s.kills = kills;
  s.rounds = rounds;
  return s;
}

bool Same(const std::vector<Fault>& a, const std::vector<Fault>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].at_s != b[i].at_s || a[i].kind != b[i].kind || a[i].target != b[i].target || a[i].amount != b[i].amount)
      return false;
  return true;
}

TEST(ChaosSchedule, TheSameSeedGivesTheSameScheduleAndAnotherSeedAnother) {
  EXPECT_TRUE(Same(MakeSchedule(42, Shape(3, 1)), MakeSchedule(42, Shape(3, 1))));
  EXPECT_FALSE(Same(MakeSchedule(42, Shape(3, 1)), MakeSchedule(43, Shape(3, 1))));
}

TEST(ChaosSchedule, EveryFaultKindHappensAndKillsAsOftenAsAsked) {
  for (uint64_t seed = 0; seed < 50; ++seed) {
    std::map<FaultKind, int> n;
    for (const auto& f : MakeSchedule(seed, Shape(12, 3))) n[f.kind]++;
    EXPECT_EQ(n[FaultKind::kKillWorker], 12);
    for (FaultKind k : {FaultKind::kProduceErrors, FaultKind::kFetchErrors, FaultKind::kOffsetCommitErrors,
                        FaultKind::kJoinGroupErrors, FaultKind::kBrokerDown, FaultKind::kRttOn,
                        FaultKind::kPostgresRestart, FaultKind::kStopWorkerWithLease})
      EXPECT_EQ(n[k], 3) << Describe({0, k, 0, 0}) << " seed " << seed;
  }
}

TEST(ChaosSchedule, FaultsAreInTimeOrderInsideTheLoadAndWhatGoesDownComesBack) {
  for (uint64_t seed = 0; seed < 50; ++seed) {
    const auto s = MakeSchedule(seed, Shape(3, 2));
    std::map<int, int> down, rtt;  // broker -> open faults
    double last = 0;
    for (const auto& f : s) {
      EXPECT_GE(f.at_s, last);
      last = f.at_s;
      EXPECT_LT(f.at_s, 100) << Describe(f);
      if (f.kind == FaultKind::kKillWorker) {
        EXPECT_TRUE(f.target >= 0 && f.target < 3);
      }
      if (f.kind == FaultKind::kBrokerDown || f.kind == FaultKind::kRttOn) {
        EXPECT_TRUE(f.target == 2 || f.target == 3) << "broker 1 is the group coordinator: " << Describe(f);
      }
      if (f.kind == FaultKind::kBrokerDown) down[f.target]++;
      if (f.kind == FaultKind::kBrokerUp) down[f.target]--;
      if (f.kind == FaultKind::kRttOn) rtt[f.target]++;
      if (f.kind == FaultKind::kRttOff) rtt[f.target]--;
    }
    for (const auto& [b, open] : down) EXPECT_EQ(open, 0) << "broker " << b;
    for (const auto& [b, open] : rtt) EXPECT_EQ(open, 0) << "broker " << b;
  }
}

}  // namespace
}  // namespace hub::chaos
