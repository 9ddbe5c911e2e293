// CompletionQueue: the lanes push finished batches, the consume loop takes
// them; while back-pressure holds consumption the loop waits on the queue.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

#include "consumers/lane.hpp"

namespace hub::consumers {
namespace {

using namespace std::chrono_literals;

std::vector<Completion> OneCompletion(int retired) {
  std::vector<Completion> v(1);
  v[0].retired = retired;
  return v;
}

TEST(CompletionQueue, TakeReturnsEverythingPushedInOrderAndEmptiesTheQueue) {
  CompletionQueue q;
  q.Push(OneCompletion(1));
  q.Push(OneCompletion(2));
  std::vector<Completion> got = q.Take();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].retired, 1);
  EXPECT_EQ(got[1].retired, 2);
  EXPECT_TRUE(q.Take().empty());
}

TEST(CompletionQueue, WaitForPushReturnsAtOnceWhenSomethingIsQueued) {
  CompletionQueue q;
  q.Push(OneCompletion(3));
  // An hour: if the wait ignored what is queued, the test would hang and hit
  // ctest's timeout instead of passing.
  q.WaitForPush(std::chrono::hours(1));
  EXPECT_EQ(q.Take().size(), 1u);
}

TEST(CompletionQueue, WaitForPushWakesUpWhenALanePushes) {
  CompletionQueue q;
  std::thread lane([&] { q.Push(OneCompletion(4)); });
  q.WaitForPush(std::chrono::hours(1));  // woken by the push (or it already happened)
  lane.join();
  std::vector<Completion> got = q.Take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].retired, 4);
}

TEST(CompletionQueue, WaitForPushReturnsAfterItsTimeoutWhenNothingComes) {
  CompletionQueue q;
  q.WaitForPush(1ms);
  EXPECT_TRUE(q.Take().empty());
}

}  // namespace
}  // namespace hub::consumers
