#include "common/log.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <regex>

#include "common/json_text.hpp"

namespace hub::common {
namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::atomic<bool> g_json{true};

const char* LevelName(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "info";
}

std::string Timestamp() {
  auto now = std::chrono::system_clock::now();
  auto t = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms));
  return buf;
}
}  // namespace

std::string CapLogValue(std::string_view v) {
  if (v.size() <= kMaxLogValueBytes) return std::string(v);
  size_t cut = kMaxLogValueBytes;
  while (cut > 0 && (static_cast<unsigned char>(v[cut]) & 0xC0) == 0x80) --cut;  // not inside a character
  std::string out(v.substr(0, cut));
  out += "…(";
  out += std::to_string(v.size());
  out += " bytes)";
  return out;
}

void ConfigureLogging(LogLevel level, bool json) {
  g_level = static_cast<int>(level);
  g_json = json;
}

bool LogEnabled(LogLevel level) { return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed); }

void Log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields) {
  if (!LogEnabled(level)) return;
  std::string line;
  line.reserve(128 + msg.size());
  if (g_json) {
    line += "{\"ts\":\"";
    line += Timestamp();
    line += "\",\"level\":\"";
    line += LevelName(level);
    line += "\",\"msg\":";
    AppendJsonString(line, msg);
    for (const auto& f : fields) {
      line += ',';
      AppendJsonString(line, f.key);
      line += ':';
      AppendJsonString(line, f.value);
    }
    line += "}\n";
  } else {
    line += Timestamp();
    line += ' ';
    line += LevelName(level);
    line += ' ';
    line += msg;
    for (const auto& f : fields) {
      line += ' ';
      line += f.key;
      line += '=';
      line += f.value;
    }
    line += '\n';
  }
  // One write per record so that lines from different threads never interleave.
  ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
}

std::string RedactUrl(std::string_view url) {
  static const std::regex uri_password(R"(^([a-zA-Z][a-zA-Z0-9+.-]*://[^:/@]*:)[^@]*@)");
  static const std::regex kv_password(R"((password\s*=\s*)('[^']*'|\S+))");
  std::string s(url);
  s = std::regex_replace(s, uri_password, "$1***@");
  s = std::regex_replace(s, kv_password, "$1***");
  return s;
}

}  // namespace hub::common
