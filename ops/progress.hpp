#pragma once
// The progress line of a long tool run on a terminal: bar, done/total, rate
// and time left.  Pure (the caller decides whether stderr is a terminal).
#include <cstdint>
#include <string>

namespace hub::ops {

// e.g. "[##########          ]  500/1000  250.0/s  ETA 2s"; `total` 0 or less:
// no bar and no ETA.
std::string ProgressLine(int64_t done, int64_t total, double elapsed_s, int width = 20);

}  // namespace hub::ops
