// Subcommands that belong to later issues.  They say so and fail, rather than
// pretending to work.
#include <iostream>

#include "worker/commands.hpp"

namespace hub::worker {

int ReplayCommand(const Settings&, const std::vector<std::string>&) {
  std::cerr << "hubworker replay: not available in this version\n";
  return 3;
}

}  // namespace hub::worker
