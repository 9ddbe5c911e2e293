#pragma once
// The chaos run's one table: each check with what was expected and what was
// observed, and facts that are measured but not judged ("info").
#include <cstdint>
#include <string>
#include <vector>

namespace hub::chaos {

class Report {
 public:
  void Check(const std::string& what, const std::string& expected, const std::string& observed, bool ok);
  // A check of equal numbers.
  void Equal(const std::string& what, int64_t expected, int64_t observed) {
    Check(what, std::to_string(expected), std::to_string(observed), expected == observed);
  }
  void Info(const std::string& what, const std::string& observed);
  void Info(const std::string& what, int64_t observed) { Info(what, std::to_string(observed)); }

  bool ok() const;
  int failed() const;
  // Plain text, fixed-width columns; also valid Markdown (the README holds one).
  std::string Table() const;

 private:
  struct Row {
    std::string what, expected, observed, verdict;
  };
  std::vector<Row> rows_;
};

}  // namespace hub::chaos
