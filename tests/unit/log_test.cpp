// Logging: field values of any size give a bounded line.
#include <unistd.h>

#include <cstdio>
#include <functional>
#include <string>

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "common/log.hpp"

namespace hub::common {
namespace {

// What `write` logged to stderr (redirected to a temporary file meanwhile).
std::string CaptureStderr(const std::function<void()>& write) {
  std::FILE* file = std::tmpfile();
  EXPECT_NE(file, nullptr);
  const int saved = ::dup(STDERR_FILENO);
  ::dup2(::fileno(file), STDERR_FILENO);
  write();
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  std::string out;
  std::rewind(file);
  char buf[65536];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, file)) > 0;) out.append(buf, n);
  std::fclose(file);
  return out;
}

// The string value of `key` in a JSON log line; fails the test if the line is
// not JSON (parsed with UTF-8 validation: a cut may not split a character).
std::string JsonField(const std::string& line, const char* key) {
  rapidjson::Document d;
  d.Parse<rapidjson::kParseValidateEncodingFlag>(line.c_str());
  EXPECT_FALSE(d.HasParseError()) << line.substr(0, 200);
  if (d.HasParseError() || !d.HasMember(key)) return {};
  return d[key].GetString();
}

class LogTest : public testing::Test {
 protected:
  void TearDown() override { ConfigureLogging(LogLevel::kInfo, true); }
};

TEST_F(LogTest, AHugeFieldValueIsCutAndSaysHowLongItWas) {
  ConfigureLogging(LogLevel::kInfo, true);
  const std::string type(900000, 't');
  std::string line = CaptureStderr([&] { LogWarn("event dead-lettered", {{"type", type}, {"offset", 7}}); });
  EXPECT_LT(line.size(), 2000u);
  EXPECT_EQ(JsonField(line, "type"), std::string(1024, 't') + "…(900000 bytes)");
  EXPECT_EQ(JsonField(line, "offset"), "7");
}

TEST_F(LogTest, EveryKindOfFieldValueIsCapped) {
  ConfigureLogging(LogLevel::kInfo, false);  // text lines too
  const std::string big(5000, 'v');
  const std::string expected = std::string(1024, 'v') + "…(5000 bytes)";
  EXPECT_EQ(LogField("k", big).value, expected);                     // std::string, copied
  EXPECT_EQ(LogField("k", std::string(big)).value, expected);        // std::string, moved
  EXPECT_EQ(LogField("k", std::string_view(big)).value, expected);   // view
  EXPECT_EQ(LogField("k", big.c_str()).value, expected);             // C string
  std::string line = CaptureStderr([&] { LogInfo("m", {{"k", big}}); });
  EXPECT_NE(line.find(" k=" + expected + "\n"), std::string::npos) << line.substr(0, 200);
}

TEST_F(LogTest, TheCutNeverSplitsACharacter) {
  std::string value = "x";
  for (int i = 0; i < 1000; ++i) value += "é";  // 2 bytes each: byte 1024 is inside one
  std::string capped = CapLogValue(value);
  EXPECT_EQ(capped, "x" + value.substr(1, 1022) + "…(2001 bytes)");
  ConfigureLogging(LogLevel::kInfo, true);
  std::string line = CaptureStderr([&] { LogInfo("m", {{"k", value}}); });
  EXPECT_EQ(JsonField(line, "k"), capped);
}

TEST_F(LogTest, ValuesUpToTheLimitAreKeptWhole) {
  const std::string exact(kMaxLogValueBytes, 'a');
  EXPECT_EQ(LogField("k", exact).value, exact);
  EXPECT_EQ(CapLogValue(""), "");
  EXPECT_EQ(LogField("k", static_cast<const char*>(nullptr)).value, "");
}

TEST_F(LogTest, RecordsOfABatchAreFormattedTogetherCappedAndWrittenAtOnce) {
  ConfigureLogging(LogLevel::kInfo, true);
  const std::string huge(5000, 'e');
  std::string lines;
  const std::string ts = LogTimestamp();
  AppendLogRecord(lines, LogLevel::kInfo, ts, "execution finished", {{"execution", "x1"}, {"error", huge}});
  AppendLogRecord(lines, LogLevel::kInfo, ts, "execution finished", {{"execution", "x2"}, {"error", ""}});
  const std::string out = CaptureStderr([&] { WriteLog(lines); });
  const size_t nl = out.find('\n');
  ASSERT_NE(nl, std::string::npos);
  EXPECT_EQ(JsonField(out.substr(0, nl), "execution"), "x1");
  EXPECT_EQ(JsonField(out.substr(0, nl), "error"), std::string(1024, 'e') + "…(5000 bytes)");
  EXPECT_EQ(JsonField(out.substr(nl + 1), "execution"), "x2");
  EXPECT_EQ(JsonField(out.substr(nl + 1), "ts"), ts);
}

}  // namespace
}  // namespace hub::common
