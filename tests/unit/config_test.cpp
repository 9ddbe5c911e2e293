// Settings are checked at start-up: a malformed value is a ConfigError that
// names the setting (and never quotes a password).
#include <gtest/gtest.h>

#include <string>

#include "common/error.hpp"
#include "worker/config.hpp"

namespace hub::worker {
namespace {

// The ConfigError's message for these flags, or "" when they load.
std::string ErrorOf(const std::map<std::string, std::string>& flags) {
  try {
    LoadSettings(flags);
    return "";
  } catch (const common::ConfigError& e) {
    return e.what();
  }
}

TEST(Settings, MalformedDatabaseUrlIsAStartupErrorNamingTheSetting) {
  for (const char* url : {":notaport", "not a url", "postgresql://localhost:notaport/db",
                          "postgresql://h:5432,h2:x/db", "postgres://u@h:99999/d", "postgresql://a@/db?port=abc"}) {
    SCOPED_TRACE(url);
    const std::string msg = ErrorOf({{"HUB_DATABASE_URL", url}});
    EXPECT_EQ(msg.rfind("HUB_DATABASE_URL: ", 0), 0u) << msg;
  }
  EXPECT_NE(ErrorOf({{"HUB_DATABASE_URL", "not a url"}}).find("missing \"=\""), std::string::npos);
  EXPECT_NE(ErrorOf({{"HUB_DATABASE_URL", "postgresql://localhost:notaport/db"}}).find("port 'notaport'"),
            std::string::npos);
}

TEST(Settings, DatabaseUrlErrorsNeverQuoteThePassword) {
  const std::string msg = ErrorOf({{"HUB_DATABASE_URL", "postgresql://hub:s3cret-pw@db:x/hub"}});
  EXPECT_NE(msg.find("HUB_DATABASE_URL"), std::string::npos);
  EXPECT_EQ(msg.find("s3cret-pw"), std::string::npos) << msg;
  const std::string kv = ErrorOf({{"HUB_DATABASE_URL", "host=db password=s3cret-pw port=x"}});
  EXPECT_EQ(kv.find("s3cret-pw"), std::string::npos) << kv;
}

TEST(Settings, WellFormedDatabaseUrlsLoad) {
  for (const char* url : {"postgresql://hub@127.0.0.1:5432/hub", "postgresql://hub:pw@h1:5432,h2:5433/db",
                          "host=/tmp port=5432 dbname=hub", "postgresql:///hub?host=/var/run/postgresql"}) {
    SCOPED_TRACE(url);
    EXPECT_EQ(ErrorOf({{"HUB_DATABASE_URL", url}}), "");
  }
}

TEST(Settings, ExecutionLimitsAreSettingsWithDefaults) {
  const Settings d = LoadSettings({});
  EXPECT_EQ(d.max_rendered_value_bytes, 256 * 1024);
  EXPECT_EQ(d.max_execution_bytes, 1024 * 1024);
  EXPECT_EQ(d.max_output_bytes, 256 * 1024);
  EXPECT_EQ(d.max_nodes_executed, 500);
  const Settings s = LoadSettings({{"HUB_MAX_NODES_EXECUTED", "20"}, {"HUB_MAX_OUTPUT_BYTES", "4096"}});
  EXPECT_EQ(s.max_nodes_executed, 20);
  EXPECT_EQ(s.max_output_bytes, 4096);
  EXPECT_NE(ErrorOf({{"HUB_MAX_NODES_EXECUTED", "0"}}).find("HUB_MAX_NODES_EXECUTED"), std::string::npos);
  EXPECT_NE(ErrorOf({{"HUB_MAX_EXECUTION_BYTES", "lots"}}).find("HUB_MAX_EXECUTION_BYTES"), std::string::npos);
}

TEST(Settings, ProducerMessageLimitComesFromTheKafkaConfig) {
  EXPECT_EQ(ProducerMessageMaxBytes(LoadSettings({})), 1000000);
  EXPECT_EQ(ProducerMessageMaxBytes(LoadSettings({{"HUB_KAFKA_CONFIG", "message.max.bytes=2000"}})), 2000);
  EXPECT_NE(ErrorOf({{"HUB_KAFKA_CONFIG", "message.max.bytes=big"}}).find("message.max.bytes"), std::string::npos);
}

}  // namespace
}  // namespace hub::worker
