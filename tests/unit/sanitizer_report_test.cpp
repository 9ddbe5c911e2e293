// Finding a sanitizer report in a child's stderr (tests/support/sanitizer_report.hpp):
// what makes a report in a sanitized `hubworker` fail the end-to-end test that started it.
#include <string>

#include <gtest/gtest.h>

#include "tests/support/sanitizer_report.hpp"

namespace hub::testing {
namespace {

TEST(SanitizerReport, OrdinaryLogOutputHasNone) {
  EXPECT_EQ(SanitizerReport(""), "");
  EXPECT_EQ(SanitizerReport("{\"level\":\"error\",\"msg\":\"runtime error: the call failed\"}\n"
                            "{\"level\":\"info\",\"msg\":\"AddressSanitizer is a word in this line\"}\n"),
            "");
}

TEST(SanitizerReport, AnAddressSanitizerReportIsFoundFromItsFirstLine) {
  const std::string out =
      "{\"level\":\"info\",\"msg\":\"started\"}\n"
      "=================================================================\n"
      "==4242==ERROR: AddressSanitizer: heap-use-after-free on address 0x602000000010\n"
      "    #0 0x55 in hub::Something() worker/x.cpp:10\n"
      "SUMMARY: AddressSanitizer: heap-use-after-free worker/x.cpp:10 in hub::Something()\n";
  const std::string report = SanitizerReport(out);
  EXPECT_EQ(report.rfind("==4242==ERROR: AddressSanitizer: heap-use-after-free", 0), 0u) << report;
  EXPECT_NE(report.find("SUMMARY: AddressSanitizer"), std::string::npos);
}

TEST(SanitizerReport, LeakThreadAndUndefinedBehaviourReportsAreFound) {
  EXPECT_NE(SanitizerReport("==7==ERROR: LeakSanitizer: detected memory leaks\n"
                            "SUMMARY: AddressSanitizer: 24 byte(s) leaked in 1 allocation(s).\n"),
            "");
  EXPECT_NE(SanitizerReport("WARNING: ThreadSanitizer: data race (pid=9)\n"
                            "SUMMARY: ThreadSanitizer: data race consumers/lane.cpp:80 in Run\n"),
            "");
  const std::string ub = SanitizerReport(
      "engine/limits.cpp:12:5: runtime error: signed integer overflow\n"
      "SUMMARY: UndefinedBehaviorSanitizer: undefined-behavior engine/limits.cpp:12:5 in \n");
  EXPECT_EQ(ub.rfind("engine/limits.cpp:12:5: runtime error", 0), 0u) << ub;
}

TEST(SanitizerReport, AVeryLongReportIsCut) {
  const std::string out = "==1==ERROR: AddressSanitizer: stack-overflow\n" + std::string(100000, 'x') +
                          "\nSUMMARY: AddressSanitizer: stack-overflow\n";
  EXPECT_EQ(SanitizerReport(out, 1000).size(), 1000u);
}

}  // namespace
}  // namespace hub::testing
