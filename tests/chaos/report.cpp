#include "tests/chaos/report.hpp"

#include <algorithm>

namespace hub::chaos {

void Report::Check(const std::string& what, const std::string& expected, const std::string& observed, bool ok) {
  rows_.push_back({what, expected, observed, ok ? "ok" : "FAILED"});
}

void Report::Info(const std::string& what, const std::string& observed) { rows_.push_back({what, "", observed, "info"}); }

int Report::failed() const {
  return static_cast<int>(std::count_if(rows_.begin(), rows_.end(), [](const Row& r) { return r.verdict == "FAILED"; }));
}

bool Report::ok() const { return failed() == 0; }

std::string Report::Table() const {
  size_t w[4] = {5, 8, 8, 6};
  for (const auto& r : rows_) {
    w[0] = std::max(w[0], r.what.size());
    w[1] = std::max(w[1], r.expected.size());
    w[2] = std::max(w[2], r.observed.size());
  }
  auto line = [&](const std::string& a, const std::string& b, const std::string& c, const std::string& d) {
    return "| " + a + std::string(w[0] - a.size(), ' ') + " | " + b + std::string(w[1] - b.size(), ' ') + " | " + c +
           std::string(w[2] - c.size(), ' ') + " | " + d + std::string(w[3] - std::min(w[3], d.size()), ' ') + " |\n";
  };
  std::string out = line("check", "expected", "observed", "result");
  out += "|" + std::string(w[0] + 2, '-') + "|" + std::string(w[1] + 2, '-') + "|" + std::string(w[2] + 2, '-') + "|" +
         std::string(w[3] + 2, '-') + "|\n";
  for (const auto& r : rows_) out += line(r.what, r.expected, r.observed, r.verdict);
  return out;
}

}  // namespace hub::chaos
