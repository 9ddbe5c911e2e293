#pragma once
// Structured logging to stderr, one line per record, `json` or `text`.
// Thread-safe: a record is formatted on the caller's thread and written with a
// single write(2).  Values passed as fields are escaped (in `json`) and capped
// (kMaxLogValueBytes); callers must never pass secrets (use RedactUrl for
// connection strings).
#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace hub::common {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// Field values can come from events of any size (an attribute, a reason that
// quotes one): longer ones are cut to this many bytes, on a UTF-8 character
// boundary, and marked with their length, e.g. "abc…(901234 bytes)".
inline constexpr size_t kMaxLogValueBytes = 1024;
std::string CapLogValue(std::string_view v);

struct LogField {
  std::string_view key;
  std::string value;  // at most kMaxLogValueBytes plus the length mark
  LogField(std::string_view k, std::string v)
      : key(k), value(v.size() > kMaxLogValueBytes ? CapLogValue(v) : std::move(v)) {}
  LogField(std::string_view k, const char* v) : LogField(k, std::string_view(v ? v : "")) {}
  LogField(std::string_view k, std::string_view v)
      : key(k), value(v.size() > kMaxLogValueBytes ? CapLogValue(v) : std::string(v)) {}
  template <typename N, typename = std::enable_if_t<std::is_arithmetic_v<N>>>
  LogField(std::string_view k, N n) : key(k), value(std::to_string(n)) {}
};

void ConfigureLogging(LogLevel level, bool json);
bool LogEnabled(LogLevel level);
void Log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields = {});

inline void LogDebug(std::string_view m, std::initializer_list<LogField> f = {}) { Log(LogLevel::kDebug, m, f); }
inline void LogInfo(std::string_view m, std::initializer_list<LogField> f = {}) { Log(LogLevel::kInfo, m, f); }
inline void LogWarn(std::string_view m, std::initializer_list<LogField> f = {}) { Log(LogLevel::kWarn, m, f); }
inline void LogError(std::string_view m, std::initializer_list<LogField> f = {}) { Log(LogLevel::kError, m, f); }

// For callers that log many records at once (one per execution of a batch):
// format each into one buffer with AppendLogRecord, under one timestamp, and
// write the buffer with one WriteLog (a single write(2), so the batch's lines
// stay together and cost one system call).  Values are capped like LogField's.
std::string LogTimestamp();
void AppendLogRecord(std::string& out, LogLevel level, std::string_view ts, std::string_view msg,
                     std::initializer_list<std::pair<std::string_view, std::string_view>> fields);
void WriteLog(std::string_view lines);

// "postgresql://hub:secret@host/db" -> "postgresql://hub:***@host/db"; also masks
// password=... in key/value connection strings.
std::string RedactUrl(std::string_view url);

}  // namespace hub::common
