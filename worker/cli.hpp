#pragma once
#include <string>
#include <vector>

namespace hub::worker {
// Parses the command line, loads settings, dispatches to a subcommand.
int Main(const std::vector<std::string>& argv);
}  // namespace hub::worker
