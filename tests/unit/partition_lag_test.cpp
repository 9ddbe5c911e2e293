// common::PartitionLag: what hub_consumer_lag reports as partitions come, go
// and are processed, and samples that arrive after their partition moved.
#include "common/partition_lag.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace hub::common {
namespace {

std::map<int32_t, int64_t> LagByPartition(const PartitionLag& lag) {
  std::map<int32_t, int64_t> out;
  for (const auto& r : lag.Rows()) out[r.partition] = r.lag;
  return out;
}

void SampleAll(PartitionLag& lag, int64_t high, int64_t start) {
  for (const auto& p : lag.Probes()) lag.Sampled(p, high, start);
}

TEST(PartitionLag, AnAssignedPartitionIsReportedOnlyOnceSampled) {
  PartitionLag lag;
  lag.Assigned("t", 0);
  EXPECT_TRUE(lag.Rows().empty());
  SampleAll(lag, 10, 4);  // nothing processed yet: starts at the committed offset 4
  EXPECT_EQ(LagByPartition(lag), (std::map<int32_t, int64_t>{{0, 6}}));
}

TEST(PartitionLag, ProcessingLowersTheLagAtOnceAndNeverBelowZero) {
  PartitionLag lag;
  lag.Assigned("t", 0);
  SampleAll(lag, 10, 0);
  lag.Processed("t", 0, 7);
  EXPECT_EQ(LagByPartition(lag)[0], 3);
  lag.Processed("t", 0, 12);  // past the last sample: events arrived since
  EXPECT_EQ(LagByPartition(lag)[0], 0);
  lag.Processed("t", 0, 9);  // an older report does not move it back
  SampleAll(lag, 15, 0);
  EXPECT_EQ(LagByPartition(lag)[0], 3);
}

TEST(PartitionLag, ARevokedPartitionIsNoLongerReported) {
  PartitionLag lag;
  lag.Assigned("t", 0);
  lag.Assigned("t", 1);
  SampleAll(lag, 5, 0);
  lag.Revoked("t", 0);
  EXPECT_EQ(LagByPartition(lag), (std::map<int32_t, int64_t>{{1, 5}}));
}

TEST(PartitionLag, ASampleTakenBeforeARebalanceIsDropped) {
  PartitionLag lag;
  lag.Assigned("t", 0);
  const auto stale = lag.Probes();  // the sampler asks the broker...
  lag.Revoked("t", 0);              // ...the partition moves away and comes back
  lag.Assigned("t", 0);
  for (const auto& p : stale) lag.Sampled(p, 100, 0);
  EXPECT_TRUE(lag.Rows().empty());
  lag.Revoked("t", 0);
  for (const auto& p : stale) lag.Sampled(p, 100, 0);
  EXPECT_TRUE(lag.Rows().empty());
}

TEST(PartitionLag, TheSampledStartDoesNotOverrideAProcessedPosition) {
  PartitionLag lag;
  lag.Assigned("t", 3);
  const auto probes = lag.Probes();
  lag.Processed("t", 3, 8);
  for (const auto& p : probes) lag.Sampled(p, 10, 2);
  EXPECT_EQ(LagByPartition(lag)[3], 2);
}

}  // namespace
}  // namespace hub::common
