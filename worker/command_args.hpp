#pragma once
// A subcommand's own arguments (what is left after the settings flags):
// "--name value" / "--name=value" options, switches, and positional words.
#include <map>
#include <set>
#include <string>
#include <vector>

namespace hub::worker {

struct CommandArgs {
  std::map<std::string, std::string> values;  // "--workflow" -> "wf_1"
  std::set<std::string> switches;             // "--wait"
  std::vector<std::string> positional;

  std::string Get(const std::string& name, const std::string& fallback = "") const;
  bool Has(const std::string& name) const { return switches.count(name) > 0; }
};

// Throws common::ConfigError naming `command` for an option without its
// value or one that neither list knows.
CommandArgs ParseCommandArgs(const std::string& command, const std::vector<std::string>& args,
                             const std::vector<std::string>& with_value, const std::vector<std::string>& switches);

// "--timeout" value as a whole number in [min, max]; ConfigError otherwise.
int IntArg(const std::string& command, const std::string& name, const std::string& value, int min, int max);

}  // namespace hub::worker
