#pragma once
// The program's version and the git revision it was built from (`--version`).
#include <string>

namespace hub::worker {

// e.g. "hubworker 0.1.0 (git 3e8d1f3a9b2c)"
std::string VersionLine();

}  // namespace hub::worker
