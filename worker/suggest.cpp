#include "worker/suggest.hpp"

#include <algorithm>

namespace hub::worker {
namespace {

std::string Bare(const std::string& s) { return s.rfind("--", 0) == 0 ? s.substr(2) : s; }

// Optimal string alignment distance.
size_t Distance(const std::string& a, const std::string& b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

}  // namespace

std::string Suggest(const std::string& typed, const std::vector<std::string>& candidates) {
  const std::string t = Bare(typed);
  if (t.empty() || t.size() > 64) return "";
  const size_t limit = std::min<size_t>(3, std::max<size_t>(1, t.size() / 3));
  std::string best;
  size_t best_d = limit + 1;
  for (const auto& c : candidates) {
    const size_t dist = Distance(t, Bare(c));
    if (dist < best_d) {
      best_d = dist;
      best = c;
    }
  }
  if (!best.empty()) return best;
  for (const auto& c : candidates)
    if (t.size() >= 3 && Bare(c).rfind(t, 0) == 0) return c;
  return "";
}

std::string DidYouMean(const std::string& typed, const std::vector<std::string>& candidates) {
  const std::string s = Suggest(typed, candidates);
  return s.empty() ? "" : " (did you mean '" + s + "'?)";
}

}  // namespace hub::worker
