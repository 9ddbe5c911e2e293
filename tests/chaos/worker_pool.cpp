#include "tests/chaos/worker_pool.hpp"

#include <signal.h>

#include <sstream>
#include <stdexcept>

#include "tests/support/metrics_scrape.hpp"

namespace hub::chaos {

using namespace std::chrono_literals;

WorkerPool::WorkerPool(std::string binary, std::map<std::string, std::string> env, int workers)
    : binary_(std::move(binary)), env_(std::move(env)), slots_(static_cast<size_t>(workers)) {
  for (auto& s : slots_) Start(s);
}

void WorkerPool::Start(Slot& s) {
  s.process = std::make_unique<testing::ChildProcess>(binary_, std::vector<std::string>{"run"}, env_);
  s.stopped = false;
  s.port = testing::WorkerHttpPort(*s.process, 60s);
  if (s.port.empty())
    throw std::runtime_error("a worker did not report its HTTP port within 60 s:\n" + s.process->StderrText());
}

void WorkerPool::KillAndReplace(int i) {
  Slot& s = slots_[i];
  s.process->Signal(SIGKILL);
  if (!s.process->WaitExit(20s)) throw std::runtime_error("a worker survived SIGKILL for 20 s");
  Start(s);
}

void WorkerPool::Stop(int i) {
  slots_[i].process->Signal(SIGSTOP);
  slots_[i].stopped = true;
}

void WorkerPool::Continue(int i) {
  slots_[i].process->Signal(SIGCONT);
  slots_[i].stopped = false;
}

int WorkerPool::ReplaceCrashed() {
  int n = 0;
  for (auto& s : slots_) {
    if (s.process->Running()) continue;
    const auto rc = s.process->WaitExit(0ms);
    crash_logs_.push_back("worker pid " + std::to_string(s.process->pid()) + " exited with " +
                          std::to_string(rc.value_or(-1)) + "; its last output:\n" + s.process->StderrText().substr(
                              s.process->StderrText().size() > 4000 ? s.process->StderrText().size() - 4000 : 0));
    Start(s);
    ++n;
  }
  return n;
}

int WorkerPool::HttpStatus(int i, const std::string& path) const {
  const auto r = testing::RunToCompletion(
      {"curl", {"-s", "-o", "/dev/null", "-m", "5", "-w", "%{http_code}", "http://127.0.0.1:" + slots_[i].port + path},
       {}, {}, {}},
      10s);
  try {
    return r.exit_code == 0 ? std::stoi(r.out) : 0;
  } catch (const std::exception&) {
    return 0;
  }
}

bool WorkerPool::WaitReady(std::chrono::milliseconds deadline) const {
  return testing::WaitFor(
      [&] {
        for (int i = 0; i < size(); ++i)
          if (HttpStatus(i, "/readyz") != 200) return false;
        return true;
      },
      deadline, 200ms);
}

std::vector<int> WorkerPool::StopAll(std::chrono::milliseconds deadline) {
  for (auto& s : slots_) {
    if (s.stopped) s.process->Signal(SIGCONT);
    s.process->Signal(SIGTERM);
  }
  std::vector<int> codes;
  for (auto& s : slots_) codes.push_back(s.process->WaitExit(deadline).value_or(-1));
  return codes;
}

std::string WorkerPool::Problems(int i, size_t max) const {
  std::istringstream in(slots_[i].process->StderrText());
  std::string line, out;
  size_t n = 0;
  while (std::getline(in, line) && n < max) {
    if (line.find("\"level\":\"warn\"") == std::string::npos && line.find("\"level\":\"error\"") == std::string::npos)
      continue;
    out += line.substr(0, 400) + "\n";
    ++n;
  }
  return out;
}

}  // namespace hub::chaos
