#pragma once
// Finds a sanitizer report in a process's output.  The tests of a sanitizer
// build (scripts/test.sh --sanitize) start `hubworker` processes of the same
// build; their reports go to the child's stderr, where nothing else would look
// at them: a worker whose report came at exit (LeakSanitizer), or one the test
// kills anyway, could otherwise pass unnoticed.  ChildProcess fails the test
// when one of its children printed a report (tests/support/process.cpp).
#include <algorithm>
#include <string>
#include <string_view>

namespace hub::testing {

// The report in `output` (from its first line, at most `max_bytes`), or "" if
// there is none.  Every sanitizer ends a report with a "SUMMARY: <name>:"
// line (print_summary, on by default); the report is shown from the first
// line that starts one, so that the stack traces come with it.
inline std::string SanitizerReport(std::string_view output, size_t max_bytes = 16384) {
  static constexpr std::string_view kSummaries[] = {
      "SUMMARY: AddressSanitizer:", "SUMMARY: LeakSanitizer:", "SUMMARY: ThreadSanitizer:",
      "SUMMARY: UndefinedBehaviorSanitizer:"};
  static constexpr std::string_view kStarts[] = {"ERROR: AddressSanitizer:", "ERROR: LeakSanitizer:",
                                                  "WARNING: ThreadSanitizer:", "runtime error:"};
  size_t summary = std::string_view::npos;
  for (auto s : kSummaries) summary = std::min(summary, output.find(s));
  if (summary == std::string_view::npos) return {};
  size_t start = summary;
  for (auto s : kStarts) start = std::min(start, output.find(s));
  start = output.rfind('\n', start);
  start = start == std::string_view::npos ? 0 : start + 1;
  return std::string(output.substr(start, max_bytes));
}

}  // namespace hub::testing
