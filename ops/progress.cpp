#include "ops/progress.hpp"

#include <algorithm>
#include <cstdio>

namespace hub::ops {

std::string ProgressLine(int64_t done, int64_t total, double elapsed_s, int width) {
  const double rate = elapsed_s > 0 ? static_cast<double>(done) / elapsed_s : 0;
  char text[96];
  std::string out;
  if (total > 0) {
    const int filled = static_cast<int>(std::clamp<int64_t>(done * width / total, 0, width));
    out = "[" + std::string(static_cast<size_t>(filled), '#') + std::string(static_cast<size_t>(width - filled), ' ') + "]  ";
    std::snprintf(text, sizeof text, "%lld/%lld  %.1f/s", static_cast<long long>(done), static_cast<long long>(total),
                  rate);
    out += text;
    if (rate > 0 && done < total) {
      const int64_t left = static_cast<int64_t>(static_cast<double>(total - done) / rate + 0.5);
      if (left >= 3600) std::snprintf(text, sizeof text, "  ETA %lldh%02lldm", static_cast<long long>(left / 3600),
                                      static_cast<long long>(left % 3600 / 60));
      else if (left >= 60) std::snprintf(text, sizeof text, "  ETA %lldm%02llds", static_cast<long long>(left / 60),
                                         static_cast<long long>(left % 60));
      else std::snprintf(text, sizeof text, "  ETA %llds", static_cast<long long>(left));
      out += text;
    }
  } else {
    std::snprintf(text, sizeof text, "%lld  %.1f/s", static_cast<long long>(done), rate);
    out = text;
  }
  return out;
}

}  // namespace hub::ops
