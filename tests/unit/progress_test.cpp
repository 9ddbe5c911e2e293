// The progress line of `hubworker replay` on a terminal.
#include <gtest/gtest.h>

#include "ops/progress.hpp"

namespace hub::ops {
namespace {

TEST(ProgressLineTest, ShowsBarCountRateAndTimeLeft) {
  EXPECT_EQ(ProgressLine(500, 1000, 2.0, 10), "[#####     ]  500/1000  250.0/s  ETA 2s");
  EXPECT_EQ(ProgressLine(1000, 1000, 4.0, 10), "[##########]  1000/1000  250.0/s");
  EXPECT_EQ(ProgressLine(10, 100000, 1.0, 10), "[          ]  10/100000  10.0/s  ETA 2h46m");
  EXPECT_EQ(ProgressLine(0, 10, 0.0, 4), "[    ]  0/10  0.0/s");
  EXPECT_EQ(ProgressLine(7, 0, 1.0), "7  7.0/s");
}

}  // namespace
}  // namespace hub::ops
