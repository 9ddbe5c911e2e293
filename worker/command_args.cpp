#include "worker/command_args.hpp"

#include <algorithm>

#include "common/error.hpp"
#include "worker/suggest.hpp"

namespace hub::worker {

std::string CommandArgs::Get(const std::string& name, const std::string& fallback) const {
  auto it = values.find(name);
  return it == values.end() ? fallback : it->second;
}

CommandArgs ParseCommandArgs(const std::string& command, const std::vector<std::string>& args,
                             const std::vector<std::string>& with_value, const std::vector<std::string>& switches) {
  auto known = [](const std::vector<std::string>& list, const std::string& n) {
    return std::find(list.begin(), list.end(), n) != list.end();
  };
  CommandArgs out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.rfind("--", 0) != 0 || a == "--") {
      out.positional.push_back(a);
      continue;
    }
    const auto eq = a.find('=');
    const std::string name = a.substr(0, eq);
    if (known(with_value, name)) {
      if (eq != std::string::npos) {
        out.values[name] = a.substr(eq + 1);
      } else if (i + 1 < args.size()) {
        out.values[name] = args[++i];
      } else {
        throw common::ConfigError(command + " " + name + ": needs a value (see hubworker " + command + " --help)");
      }
    } else if (known(switches, name) && eq == std::string::npos) {
      out.switches.insert(name);
    } else {
      std::vector<std::string> all = with_value;
      all.insert(all.end(), switches.begin(), switches.end());
      throw common::ConfigError("unknown option '" + name + "' for " + command + DidYouMean(name, all) +
                                "; see hubworker " + command + " --help");
    }
  }
  return out;
}

int IntArg(const std::string& command, const std::string& name, const std::string& value, int min, int max) {
  size_t pos = 0;
  long long n = 0;
  try {
    n = std::stoll(value, &pos);
  } catch (const std::exception&) {
    pos = 0;
  }
  if (value.empty() || pos != value.size() || n < min || n > max)
    throw common::ConfigError(command + " " + name + ": expected a whole number from " + std::to_string(min) +
                              " to " + std::to_string(max) + ", got '" + value + "'");
  return static_cast<int>(n);
}

}  // namespace hub::worker
