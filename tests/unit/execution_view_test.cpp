// How trigger --wait and watch print executions.
#include <gtest/gtest.h>

#include "worker/execution_view.hpp"

namespace hub::worker {
namespace {

TEST(ExecutionView, StepLogHasOneLinePerNodeWithItsOtherFields) {
  const std::string text = StepLogText(
      R"([{"nodeId":"trigger","type":"trigger","status":"COMPLETED"},)"
      R"({"nodeId":"big","type":"condition","status":"COMPLETED","result":false},)"
      R"({"nodeId":"review","type":"transform","status":"SKIPPED"}])");
  EXPECT_EQ(text,
            "  trigger        trigger       COMPLETED\n"
            "  big            condition     COMPLETED  result=false\n"
            "  review         transform     SKIPPED\n");
  EXPECT_EQ(StepLogText("not json"), "");
}

TEST(ExecutionView, AFailedExecutionShowsItsErrorOnTheNextLine) {
  const std::string line = ExecutionLine({"2026-12-04 19:10:01.123+00", "exec-1", "wf_x", "FAILED", 12, 2, "boom"});
  EXPECT_EQ(line.rfind("2026-12-04 19:10:01 ", 0), 0u) << line;
  EXPECT_NE(line.find("wf_x"), std::string::npos);
  EXPECT_NE(line.find("FAILED"), std::string::npos);
  EXPECT_NE(line.find("12 ms"), std::string::npos);
  EXPECT_NE(line.find("\n    error: boom"), std::string::npos);
}

TEST(ExecutionView, ExitCodesFollowTheStatus) {
  EXPECT_EQ(ExitCodeOf("COMPLETED"), 0);
  EXPECT_EQ(ExitCodeOf("FAILED"), 4);
  EXPECT_EQ(ExitCodeOf("CANCELLED"), 5);
}

}  // namespace
}  // namespace hub::worker
