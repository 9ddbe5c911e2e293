// The command line as a newcomer meets it: each --help lists the settings its
// subcommand reads and no others, --version names the build, and mistyped
// subcommands and flags get a suggestion.
#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <string>
#include <vector>

#include "worker/cli.hpp"
#include "worker/config.hpp"
#include "worker/suggest.hpp"

namespace hub::worker {
namespace {

struct Outcome {
  int rc = -1;
  std::string out, err;
};

Outcome RunMain(std::vector<std::string> args) {
  args.insert(args.begin(), "hubworker");
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  Outcome o;
  o.rc = Main(args);
  o.out = ::testing::internal::GetCapturedStdout();
  o.err = ::testing::internal::GetCapturedStderr();
  return o;
}

// The HUB_* settings a --help text lists.
std::set<std::string> SettingsListed(const std::string& help) {
  std::set<std::string> out;
  for (const auto& spec : AllSettings())
    if (help.find(std::string(" / ") + spec.env + " ") != std::string::npos) out.insert(spec.env);
  return out;
}

TEST(Cli, EachHelpListsOnlyTheSettingsItsSubcommandReads) {
  const std::set<std::string> logging = {"HUB_LOG_LEVEL", "HUB_LOG_FORMAT"};
  auto with = [&](std::set<std::string> s) {
    s.insert(logging.begin(), logging.end());
    return s;
  };
  const std::set<std::string> kafka_client = {"HUB_DATABASE_URL", "HUB_KAFKA_BROKERS", "HUB_KAFKA_CONFIG",
                                              "HUB_TOPIC_PREFIX"};
  std::set<std::string> all;
  for (const auto& spec : AllSettings()) all.insert(spec.env);
  const std::vector<std::pair<std::string, std::set<std::string>>> expected = {
      {"run", all},
      {"migrate", with({"HUB_DATABASE_URL"})},
      {"broker", with({"HUB_KAFKA_PARTITIONS", "HUB_TOPIC_PREFIX"})},
      {"trigger", with(kafka_client)},
      {"workflow", with({"HUB_DATABASE_URL"})},
      {"watch", with({"HUB_DATABASE_URL"})},
      {"demo", with(kafka_client)},
      {"secret", with({"HUB_DATABASE_URL", "HUB_SECRET_KEY", "HUB_SECRET_KEYS_OLD"})},
  };
  for (const auto& [cmd, settings] : expected) {
    SCOPED_TRACE(cmd);
    const Outcome o = RunMain({cmd, "--help"});
    EXPECT_EQ(o.rc, 0);
    EXPECT_EQ(SettingsListed(o.out), settings) << o.out;
  }
  // broker has no database: nothing in its help is "required".
  EXPECT_EQ(RunMain({"broker", "--help"}).out.find("required"), std::string::npos);
  // The top-level help lists the subcommands, not 27 settings.
  EXPECT_TRUE(SettingsListed(RunMain({"--help"}).out).empty());
}

TEST(Cli, VersionNamesTheGitRevision) {
  const Outcome o = RunMain({"--version"});
  EXPECT_EQ(o.rc, 0);
  EXPECT_TRUE(std::regex_search(o.out, std::regex(R"(^hubworker [0-9]+\.[0-9]+\.[0-9]+ \(git [0-9a-f]{7,}(-dirty)?\)\n$)")))
      << o.out;
}

TEST(Cli, AMistypedFlagGetsASuggestion) {
  const Outcome o = RunMain({"run", "--kafka-broker", "x:9092"});
  EXPECT_EQ(o.rc, 2);
  EXPECT_NE(o.err.find("unknown option '--kafka-broker' for run (did you mean '--kafka-brokers'?)"), std::string::npos)
      << o.err;
  const Outcome own = RunMain({"trigger", "--wiat"});
  EXPECT_NE(own.err.find("(did you mean '--wait'?)"), std::string::npos) << own.err;
  // A setting another subcommand reads is not this one's: named as unknown, with this one's nearest flag.
  const Outcome other = RunMain({"migrate", "--kafka-brokers", "x:9092"});
  EXPECT_EQ(other.rc, 2);
  EXPECT_NE(other.err.find("unknown option '--kafka-brokers' for migrate"), std::string::npos) << other.err;
}

TEST(Cli, AMistypedSubcommandGetsASuggestion) {
  const Outcome o = RunMain({"runn"});
  EXPECT_EQ(o.rc, 2);
  EXPECT_NE(o.err.find("unknown command 'runn' (did you mean 'run'?)"), std::string::npos) << o.err;
  EXPECT_NE(RunMain({"trigegr"}).err.find("(did you mean 'trigger'?)"), std::string::npos);
  EXPECT_EQ(RunMain({"xyzzy"}).err.find("did you mean"), std::string::npos);
}

TEST(Cli, SecretCommandsNeedAWellFormedKeyAndNeverEchoIt) {
  const Outcome missing = RunMain({"secret", "encrypt", "--secret-key", ""});
  EXPECT_EQ(missing.rc, 2);
  EXPECT_NE(missing.err.find("HUB_SECRET_KEY: required by `hubworker secret encrypt`"), std::string::npos)
      << missing.err;
  const Outcome bad = RunMain({"secret", "encrypt", "--secret-key", "c2hvcnQta2V5LXZhbHVl"});
  EXPECT_EQ(bad.rc, 2);
  EXPECT_NE(bad.err.find("HUB_SECRET_KEY: expected the base64 of 32 random bytes"), std::string::npos) << bad.err;
  EXPECT_EQ(bad.err.find("c2hvcnQta2V5LXZhbHVl"), std::string::npos) << bad.err;
  const Outcome verb = RunMain({"secret", "decrypt"});
  EXPECT_EQ(verb.rc, 2);
  EXPECT_NE(verb.err.find("expected `encrypt` or `rotate`"), std::string::npos) << verb.err;
}

TEST(Cli, AMissingSettingHasOneWordingEverywhere) {
  for (const std::string cmd : {"migrate", "run", "watch"}) {
    SCOPED_TRACE(cmd);
    const Outcome o = RunMain({cmd, "--database-url", ""});
    EXPECT_EQ(o.rc, 2);
    EXPECT_NE(o.err.find("HUB_DATABASE_URL: required by `hubworker " + cmd + "` (libpq URI"), std::string::npos)
        << o.err;
    EXPECT_NE(o.err.find("set it or pass --database-url"), std::string::npos) << o.err;
  }
}

TEST(Suggest, OnlyCloseCandidatesAreSuggested) {
  const std::vector<std::string> flags = {"--kafka-brokers", "--kafka-group", "--log-level"};
  EXPECT_EQ(Suggest("--kafka-broker", flags), "--kafka-brokers");
  EXPECT_EQ(Suggest("--kafak-group", flags), "--kafka-group");  // swapped letters
  EXPECT_EQ(Suggest("--log", flags), "--log-level");             // a prefix
  EXPECT_EQ(Suggest("--colour", flags), "");
  EXPECT_EQ(DidYouMean("--colour", flags), "");
}

}  // namespace
}  // namespace hub::worker
