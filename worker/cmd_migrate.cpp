// Placeholder until this subcommand lands (being written in this session).
#include <iostream>

#include "worker/commands.hpp"

namespace hub::worker {
int MigrateCommand(const Settings&, const std::vector<std::string>&) {
  std::cerr << "hubworker migrate: not implemented yet\n";
  return 3;
}
}  // namespace hub::worker
