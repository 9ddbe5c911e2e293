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

namespace {

std::string_view Key(const LogField& f) { return f.key; }
std::string_view Key(const std::pair<std::string_view, std::string_view>& f) { return f.first; }
// A LogField's value was capped when it was made; a view is capped here.
std::string_view Value(const LogField& f, std::string&) { return f.value; }
std::string_view Value(const std::pair<std::string_view, std::string_view>& f, std::string& capped) {
  if (f.second.size() <= kMaxLogValueBytes) return f.second;
  capped = CapLogValue(f.second);
  return capped;
}

template <class Fields>
void AppendRecord(std::string& line, LogLevel level, std::string_view ts, std::string_view msg, const Fields& fields) {
  std::string capped;
  if (g_json) {
    line += "{\"ts\":\"";
    line += ts;
    line += "\",\"level\":\"";
    line += LevelName(level);
    line += "\",\"msg\":";
    AppendJsonString(line, msg);
    for (const auto& f : fields) {
      line += ',';
      AppendJsonString(line, Key(f));
      line += ':';
      AppendJsonString(line, Value(f, capped));
    }
    line += "}\n";
  } else {
    line += ts;
    line += ' ';
    line += LevelName(level);
    line += ' ';
    line += msg;
    for (const auto& f : fields) {
      line += ' ';
      line += Key(f);
      line += '=';
      line += Value(f, capped);
    }
    line += '\n';
  }
}

}  // namespace

void Log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields) {
  if (!LogEnabled(level)) return;
  std::string line;
  line.reserve(128 + msg.size());
  AppendRecord(line, level, Timestamp(), msg, fields);
  // One write per record so that lines from different threads never interleave.
  WriteLog(line);
}

std::string LogTimestamp() { return Timestamp(); }

void AppendLogRecord(std::string& out, LogLevel level, std::string_view ts, std::string_view msg,
                     std::initializer_list<std::pair<std::string_view, std::string_view>> fields) {
  AppendRecord(out, level, ts, msg, fields);
}

void WriteLog(std::string_view lines) {
  ssize_t ignored = ::write(STDERR_FILENO, lines.data(), lines.size());
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
