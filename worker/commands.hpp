#pragma once
// Entry points of the subcommands.  Each gets the checked settings and the
// arguments that were not settings flags; returns the process exit code.
#include <string>
#include <vector>

#include "worker/config.hpp"

namespace hub::worker {

int RunCommand(const Settings& s, const std::vector<std::string>& args);
int MigrateCommand(const Settings& s, const std::vector<std::string>& args);
int BrokerCommand(const Settings& s, const std::vector<std::string>& args);
int ReplayCommand(const Settings& s, const std::vector<std::string>& args);
int DlqCommand(const Settings& s, const std::vector<std::string>& args);
int DemoCommand(const Settings& s, const std::vector<std::string>& args);
int TriggerCommand(const Settings& s, const std::vector<std::string>& args);
int WorkflowCommand(const Settings& s, const std::vector<std::string>& args);
int WatchCommand(const Settings& s, const std::vector<std::string>& args);
int SecretCommand(const Settings& s, const std::vector<std::string>& args);

}  // namespace hub::worker
