#pragma once
// Reading a `hubworker run` child's /metrics in end-to-end tests: the port it
// logged ("http server listening"), one scrape (curl), and the samples of a
// family by their label sets.
#include <chrono>
#include <map>
#include <sstream>
#include <string>

#include "tests/support/process.hpp"

namespace hub::testing {

// The ephemeral port a worker started with HUB_HTTP_ADDR=127.0.0.1:0 logged;
// "" if it has not logged it within `deadline`.
inline std::string WorkerHttpPort(ChildProcess& worker, std::chrono::milliseconds deadline) {
  std::string port;
  WaitFor(
      [&] {
        const std::string err = worker.StderrText();
        const auto at = err.find("\"http server listening\"");
        if (at == std::string::npos) return false;
        const auto p = err.find("\"port\":\"", at);
        if (p == std::string::npos) return false;
        port = err.substr(p + 8, err.find('"', p + 8) - p - 8);
        return true;
      },
      deadline, std::chrono::milliseconds(20));
  return port;
}

// The body of GET http://127.0.0.1:<port><path> ("" when it cannot be read).
inline std::string HttpGetLocal(const std::string& port, const std::string& path) {
  RunResult r = RunToCompletion({"curl", {"-sf", "http://127.0.0.1:" + port + path}, {}, {}, {}},
                                std::chrono::seconds(10));
  return r.exit_code == 0 ? r.out : std::string();
}

// Samples of `family` in an exposition: label set ("{...}" or "") -> value.
inline std::map<std::string, double> Samples(const std::string& text, const std::string& family) {
  std::map<std::string, double> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(family, 0) != 0) continue;
    const std::string rest = line.substr(family.size());
    if (rest.empty() || (rest[0] != '{' && rest[0] != ' ')) continue;  // a longer name
    const auto space = rest.rfind(' ');
    out[rest.substr(0, space)] = std::stod(rest.substr(space + 1));
  }
  return out;
}

inline double SumOf(const std::map<std::string, double>& samples) {
  double s = 0;
  for (const auto& [labels, v] : samples) s += v;
  return s;
}

}  // namespace hub::testing
