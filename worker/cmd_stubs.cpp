// Subcommands that belong to later issues.  They say so and fail, rather than
// pretending to work.
#include <iostream>

#include "worker/commands.hpp"

namespace hub::worker {

int ReplayCommand(const Settings&, const std::vector<std::string>&) {
  std::cerr << "hubworker replay: not implemented yet (see the replay issue)\n";
  return 3;
}

int DlqCommand(const Settings&, const std::vector<std::string>&) {
  std::cerr << "hubworker dlq: not implemented yet (see the operations issue)\n";
  return 3;
}

}  // namespace hub::worker
