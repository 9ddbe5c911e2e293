#include "worker/cli.hpp"

#include <iostream>
#include <map>

#include "common/error.hpp"
#include "common/log.hpp"
#include "worker/commands.hpp"

namespace hub::worker {
namespace {

struct Subcommand {
  const char* name;
  const char* summary;
  const char* usage;  // extra arguments beyond the settings
  int (*fn)(const Settings&, const std::vector<std::string>&);
};

const Subcommand kSubcommands[] = {
    {"run", "consume, process, relay the outbox, serve HTTP; until SIGTERM/SIGINT", "", RunCommand},
    {"migrate", "apply schemas/sql migrations (safe from many pods at once)",
     "  --dir DIR            migrations folder [schemas/sql next to the binary's source]\n", MigrateCommand},
    {"broker", "start the embedded Kafka-protocol broker alone; prints its bootstrap address",
     "  --brokers N          number of brokers in the cluster [3]\n", BrokerCommand},
    {"replay", "re-read events from a topic range and re-run them", "", ReplayCommand},
    {"dlq", "list and redrive dead letters", "", DlqCommand},
    {"demo", "seed a demo organisation and publish sample events",
     "  --events N           workflow.triggered events to publish [20]\n"
     "  --endpoint URL       also a workflow that calls URL (http_request; the worker's HUB_HTTP_ALLOWLIST must\n"
     "                       list its host), waits a second and branches on the answer\n", DemoCommand},
};

void PrintTopHelp() {
  std::cout << "hubworker — event-driven job worker of the AI-automation platform\n\n"
               "Usage: hubworker <command> [--setting value ...]\n\nCommands:\n";
  for (const auto& c : kSubcommands) {
    std::string n = c.name;
    n.resize(10, ' ');
    std::cout << "  " << n << c.summary << "\n";
  }
  std::cout << "\nRun 'hubworker <command> --help' for its options.\n\n" << SettingsHelp();
}

void PrintCommandHelp(const Subcommand& c) {
  std::cout << "Usage: hubworker " << c.name << " [options]\n\n" << c.summary << "\n\n";
  if (*c.usage) std::cout << "Options:\n" << c.usage << "\n";
  std::cout << SettingsHelp();
}

}  // namespace

int Main(const std::vector<std::string>& argv) {
  if (argv.size() < 2 || argv[1] == "--help" || argv[1] == "-h" || argv[1] == "help") {
    PrintTopHelp();
    return argv.size() < 2 ? 2 : 0;
  }
  const Subcommand* cmd = nullptr;
  for (const auto& c : kSubcommands)
    if (argv[1] == c.name) cmd = &c;
  if (!cmd) {
    std::cerr << "hubworker: unknown command '" << argv[1] << "' (see hubworker --help)\n";
    return 2;
  }
  std::vector<std::string> args(argv.begin() + 2, argv.end());
  for (const auto& a : args) {
    if (a == "--help" || a == "-h") {
      PrintCommandHelp(*cmd);
      return 0;
    }
  }
  try {
    std::map<std::string, std::string> flags;
    std::vector<std::string> rest;
    SplitArgs(args, flags, rest);
    Settings s = LoadSettings(flags);
    common::ConfigureLogging(s.log_level, s.log_json);
    return cmd->fn(s, rest);
  } catch (const common::ConfigError& e) {
    std::cerr << "hubworker " << cmd->name << ": configuration error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    common::LogError("fatal error", {{"command", cmd->name}, {"error", e.what()}});
    return 1;
  }
}

}  // namespace hub::worker
