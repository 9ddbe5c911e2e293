#include "worker/cli.hpp"

#include <iostream>
#include <algorithm>
#include <map>

#include "common/error.hpp"
#include "common/log.hpp"
#include "worker/commands.hpp"
#include "worker/suggest.hpp"
#include "worker/version.hpp"

namespace hub::worker {
namespace {

using Names = std::vector<std::string>;

Names Join(std::initializer_list<Names> parts) {
  Names out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// The settings each subcommand reads, by group.
const Names kLogging = {"HUB_LOG_LEVEL", "HUB_LOG_FORMAT"};
const Names kDatabase = {"HUB_DATABASE_URL"};
const Names kKafkaClient = {"HUB_KAFKA_BROKERS", "HUB_KAFKA_CONFIG", "HUB_TOPIC_PREFIX"};

struct Subcommand {
  const char* name;
  const char* summary;
  const char* usage;  // its own arguments, as --help shows them
  Names options;      // its own flags (for "did you mean")
  Names settings;     // the settings it reads; empty = all
  int (*fn)(const Settings&, const std::vector<std::string>&);
};

// One entry per subcommand.
const std::vector<Subcommand>& Subcommands() {
  static const std::vector<Subcommand> k = {
      {"run", "consume, process, relay the outbox, serve HTTP; until SIGTERM/SIGINT", "", {}, {}, RunCommand},
      {"migrate", "apply schemas/sql migrations (safe from many pods at once)",
       "  --dir DIR            migrations folder [schemas/sql next to the binary's source]\n", {"--dir"},
       Join({kDatabase, kLogging}), MigrateCommand},
      {"broker", "start the embedded Kafka-protocol broker alone; prints its bootstrap address",
       "  --brokers N          number of brokers in the cluster [3]\n", {"--brokers"},
       Join({{"HUB_KAFKA_PARTITIONS", "HUB_TOPIC_PREFIX"}, kLogging}), BrokerCommand},
      {"trigger", "publish a workflow.triggered event; with --wait, print the execution's outcome and steps",
       "  --workflow ID        the workflow to run (required; see `hubworker workflow list`)\n"
       "  --org ID             its organisation [org_demo]\n"
       "  --input JSON|@FILE   the trigger's input object [{}]\n"
       "  --wait               wait for the execution to finish; exit 0 COMPLETED, 4 FAILED, 5 CANCELLED,\n"
       "                       6 when --timeout passes first\n"
       "  --timeout SECONDS    how long --wait waits [60]\n",
       {"--workflow", "--org", "--input", "--wait", "--timeout"}, Join({kDatabase, kKafkaClient, kLogging}),
       TriggerCommand},
      {"workflow", "workflows as files: `apply FILE` checks and saves one, `list` shows them",
       "  apply FILE           check a workflow file (JSON: id, name, nodes, edges) and save it\n"
       "  list                 the organisation's workflows\n"
       "  --org ID             the organisation [org_demo; apply creates it when missing]\n",
       {"--org"}, Join({kDatabase, kLogging}), WorkflowCommand},
      {"watch", "print executions as they finish (time, workflow, status, duration, nodes, error); until Ctrl-C",
       "  --org ID             the organisation [org_demo]\n"
       "  --last N             first show the last N finished executions [5]\n",
       {"--org", "--last"}, Join({kDatabase, kLogging}), WatchCommand},
      {"replay", "re-run recorded events (dry run or for real) or one execution, and diff with what was recorded",
       "  [--dry-run]                 run the real handlers in rolled-back transactions, no outside call (default)\n"
       "  --reprocess                 run them again for real as new executions marked replay_of the original\n"
       "  --topic T                   event type or topic [workflow.triggered]\n"
       "  --partition N (repeatable) --from-offset N --to-offset N (exclusive) --since/--until RFC3339\n"
       "  --key K --event-id ID --type T --organization ORG   select events\n"
       "  --execution ID --organization ORG   replay one recorded execution with its recorded call results\n"
       "  --exit-code                 exit 1 when something differs or was not recorded (CI)\n"
       "  --output json|text          [text]; a progress line goes to stderr on a terminal\n",
       {"--dry-run", "--reprocess", "--topic", "--partition", "--from-offset", "--to-offset", "--since", "--until",
        "--key", "--event-id", "--type", "--organization", "--execution", "--exit-code", "--output"},
       Join({kDatabase, kKafkaClient, kLogging,
             {"HUB_MAX_RENDERED_VALUE_BYTES", "HUB_MAX_EXECUTION_BYTES", "HUB_MAX_OUTPUT_BYTES",
              "HUB_MAX_NODES_EXECUTED"}}),
       ReplayCommand},
      {"dlq", "list, show and redrive dead letters; list and release quarantined outbox rows",
       "  list [filters] [--limit N]          table of dead letters (offset, time, class, type, key, organisation)\n"
       "  show <partition>:<offset>           one letter with its payload and headers\n"
       "  redrive <p>:<o>... | [filters] | --all [--again] [--dry-run]\n"
       "                                      re-publish to the source topic (same key, original headers plus\n"
       "                                      hub-redrive-of); a redriven letter is not redriven twice\n"
       "  quarantine list [--topic T]         outbox rows the producer refused for good\n"
       "  quarantine release <shard>:<id>... | --topic T | --all [--dry-run]   put them back into the outbox\n"
       "  filters: --class C (repeatable) --type T --key K --organization O --since/--until RFC3339\n"
       "  --output json|table                 [table]\n",
       {"--class", "--type", "--key", "--organization", "--since", "--until", "--limit", "--all", "--again",
        "--dry-run", "--topic", "--output"},
       Join({kDatabase, kKafkaClient, kLogging}), DlqCommand},
      {"demo", "seed a demo organisation and publish sample events",
       "  --events N           workflow.triggered events to publish [20]\n"
       "  --endpoint URL       also a workflow that calls URL (http_request; the worker's HUB_HTTP_ALLOWLIST must\n"
       "                       list its host), waits a second and branches on the answer\n",
       {"--events", "--endpoint"}, Join({kDatabase, kKafkaClient, kLogging}), DemoCommand},
      {"secret", "integration secrets at rest: `encrypt` (stdin -> stored form), `rotate` (re-encrypt under the newest key)",
       "  encrypt              read a secret on stdin, print its stored form (hubsec:v1:...) under HUB_SECRET_KEY\n"
       "  rotate --org ID[,ID] re-encrypt the organisations' integration secrets made with HUB_SECRET_KEYS_OLD\n"
       "                       (as the schema owner: HUB_DATABASE_URL of the role that migrates)\n",
       {"--org"}, Join({kDatabase, kLogging, {"HUB_SECRET_KEY", "HUB_SECRET_KEYS_OLD"}}), SecretCommand},
  };
  return k;
}

const Names* SettingsOf(const Subcommand& c) { return c.settings.empty() ? nullptr : &c.settings; }

Names FlagsOf(const Subcommand& c) {
  Names out = c.options;
  for (const auto& spec : AllSettings())
    if (!SettingsOf(c) || std::find(c.settings.begin(), c.settings.end(), spec.env) != c.settings.end())
      out.push_back(FlagName(spec.env));
  out.push_back("--help");
  return out;
}

void PrintTopHelp() {
  std::cout << "hubworker — event-driven job worker of the AI-automation platform\n\n"
               "Usage: hubworker <command> [options]\n\nCommands:\n";
  for (const auto& c : Subcommands()) {
    std::string n = c.name;
    n.resize(10, ' ');
    std::cout << "  " << n << c.summary << "\n";
  }
  std::cout << "\n'hubworker <command> --help' lists a command's options and settings; 'hubworker --version'.\n";
}

void PrintCommandHelp(const Subcommand& c) {
  std::cout << "Usage: hubworker " << c.name << " [options]\n\n" << c.summary << "\n\n";
  if (*c.usage) std::cout << "Options:\n" << c.usage << "\n";
  std::cout << SettingsHelp(SettingsOf(c));
}

// Flags in `rest` that neither the subcommand nor its settings know.
void RefuseUnknownFlags(const Subcommand& c, const std::vector<std::string>& rest) {
  for (const auto& a : rest) {
    if (a.rfind("--", 0) != 0 || a == "--") continue;
    const std::string name = a.substr(0, a.find('='));
    if (std::find(c.options.begin(), c.options.end(), name) != c.options.end()) continue;
    throw common::ConfigError("unknown option '" + name + "' for " + c.name + DidYouMean(name, FlagsOf(c)) +
                              "; see hubworker " + c.name + " --help");
  }
}

}  // namespace

int Main(const std::vector<std::string>& argv) {
  if (argv.size() < 2 || argv[1] == "--help" || argv[1] == "-h" || argv[1] == "help") {
    PrintTopHelp();
    return argv.size() < 2 ? 2 : 0;
  }
  if (argv[1] == "--version" || argv[1] == "version") {
    std::cout << VersionLine() << "\n";
    return 0;
  }
  const Subcommand* cmd = nullptr;
  Names names;
  for (const auto& c : Subcommands()) {
    names.push_back(c.name);
    if (argv[1] == c.name) cmd = &c;
  }
  if (!cmd) {
    std::cerr << "hubworker: unknown command '" << argv[1] << "'" << DidYouMean(argv[1], names)
              << "; see hubworker --help\n";
    return 2;
  }
  std::vector<std::string> args(argv.begin() + 2, argv.end());
  for (const auto& a : args) {
    if (a == "--help" || a == "-h") {
      PrintCommandHelp(*cmd);
      return 0;
    }
    if (a == "--version") {
      std::cout << VersionLine() << "\n";
      return 0;
    }
  }
  try {
    std::map<std::string, std::string> flags;
    std::vector<std::string> rest;
    SplitArgs(args, flags, rest, SettingsOf(*cmd));
    RefuseUnknownFlags(*cmd, rest);
    Settings s = LoadSettings(flags, SettingsOf(*cmd));
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
