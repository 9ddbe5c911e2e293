// A sanitizer report printed by a child process fails the test that started
// it (ChildProcess, tests/support/process.cpp): in a sanitizer build the
// `hubworker` processes of these tests are sanitized too, and a worker's report
// at exit, or in a worker the test kills anyway, must not pass unnoticed.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <chrono>

#include "tests/support/process.hpp"

namespace hub::testing {
namespace {

TEST(ChildSanitizerReport, AReportOnAChildsStderrFailsTheTest) {
  EXPECT_NONFATAL_FAILURE(
      {
        ChildProcess child("sh", {"-c",
                                  "echo '==1==ERROR: AddressSanitizer: heap-use-after-free' >&2; "
                                  "echo 'SUMMARY: AddressSanitizer: heap-use-after-free x.cpp:1' >&2"});
        EXPECT_EQ(child.WaitExit(std::chrono::seconds(10)), 0);
      },
      "printed a sanitizer report");
}

TEST(ChildSanitizerReport, AReportOfAChildThatIsKilledStillFailsTheTest) {
  EXPECT_NONFATAL_FAILURE(
      {
        ChildProcess child("sh", {"-c",
                                  "echo 'WARNING: ThreadSanitizer: data race' >&2; "
                                  "echo 'SUMMARY: ThreadSanitizer: data race x.cpp:1' >&2; echo ready; "
                                  "exec tail -f /dev/null"});  // alive until the test kills it
        EXPECT_EQ(child.ReadLine(std::chrono::seconds(10)), "ready");
      },
      "printed a sanitizer report");
}

TEST(ChildSanitizerReport, AChildWithoutAReportDoesNotFailTheTest) {
  ChildProcess child("sh", {"-c", "echo 'runtime error: a line that only looks alarming' >&2"});
  EXPECT_EQ(child.WaitExit(std::chrono::seconds(10)), 0);
}

}  // namespace
}  // namespace hub::testing
