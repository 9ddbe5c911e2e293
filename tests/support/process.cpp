#include "tests/support/process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>

#include <gtest/gtest.h>

#include "tests/support/sanitizer_report.hpp"

extern char** environ;

namespace hub::testing {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kPoll = std::chrono::milliseconds(5);

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::string MakeTempDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/hub-child-XXXXXX";
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp " + tmpl + ": " + std::strerror(errno));
  return tmpl;
}

// The child's environment: ours, minus unset_env, with env applied on top.
std::vector<std::string> ChildEnv(const ProcessOptions& o) {
  std::vector<std::string> out;
  for (char** e = environ; *e; ++e) {
    const std::string kv = *e;
    const std::string name = kv.substr(0, kv.find('='));
    bool drop = o.env.count(name) > 0;
    for (const auto& u : o.unset_env) drop = drop || u == name;
    if (!drop) out.push_back(kv);
  }
  for (const auto& [k, v] : o.env) out.push_back(k + "=" + v);
  return out;
}

std::vector<char*> CStrings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

void Check(int rc, const char* what) {
  if (rc != 0) throw std::runtime_error(std::string(what) + ": " + std::strerror(rc));
}

}  // namespace

ChildProcess::ChildProcess(std::string program, std::vector<std::string> args, std::map<std::string, std::string> env)
    : ChildProcess(ProcessOptions{std::move(program), std::move(args), std::move(env), {}, std::nullopt}) {}

ChildProcess::ChildProcess(const ProcessOptions& o) : program_(o.program) {
  dir_ = MakeTempDir();
  stdout_path_ = dir_ + "/stdout";
  stderr_path_ = dir_ + "/stderr";
  // Create the output file first, so ReadLine has something to read at once.
  WriteFile(stdout_path_, "");
  stdout_fd_ = open(stdout_path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (stdout_fd_ < 0) throw std::runtime_error("cannot open " + stdout_path_ + ": " + std::strerror(errno));
  std::string stdin_path = "/dev/null";
  if (o.stdin_data) {
    stdin_path = dir_ + "/stdin";
    WriteFile(stdin_path, *o.stdin_data);
  }

  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  Check(posix_spawn_file_actions_init(&fa), "posix_spawn_file_actions_init");
  Check(posix_spawnattr_init(&attr), "posix_spawnattr_init");
  int rc = posix_spawn_file_actions_addopen(&fa, 0, stdin_path.c_str(), O_RDONLY, 0);
  if (!rc) rc = posix_spawn_file_actions_addopen(&fa, 1, stdout_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (!rc) rc = posix_spawn_file_actions_addopen(&fa, 2, stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  // Tests (and test runners) may block or ignore signals; the child must not inherit that.
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  if (!rc) rc = posix_spawnattr_setsigmask(&attr, &none);
  if (!rc) rc = posix_spawnattr_setsigdefault(&attr, &all);
  if (!rc) rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<std::string> argv_s{o.program};
  argv_s.insert(argv_s.end(), o.args.begin(), o.args.end());
  std::vector<std::string> env_s = ChildEnv(o);
  auto argv = CStrings(argv_s);
  auto envp = CStrings(env_s);
  if (!rc) rc = posix_spawnp(&pid_, o.program.c_str(), &fa, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    pid_ = -1;
    RemoveFiles();
    throw std::runtime_error("cannot start " + o.program + ": " + std::strerror(rc));
  }
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !status_) {
    kill(pid_, SIGKILL);
    Reap(/*block=*/true);
  }
  // In a sanitizer build the child is sanitized too; its report fails the
  // test whatever the test expected of the child.
  if (pid_ > 0) {
    if (std::string report = SanitizerReport(StderrText()); !report.empty())
      ADD_FAILURE() << program_ << " (pid " << pid_ << ") printed a sanitizer report:\n" << report;
  }
  if (!std::getenv("HUB_TEST_KEEP_OUTPUT")) RemoveFiles();
  else if (stdout_fd_ >= 0) close(stdout_fd_);
}

void ChildProcess::RemoveFiles() {
  if (stdout_fd_ >= 0) close(stdout_fd_);
  stdout_fd_ = -1;
  for (const char* f : {"/stdout", "/stderr", "/stdin"}) unlink((dir_ + f).c_str());
  rmdir(dir_.c_str());
}

bool ChildProcess::Reap(bool block) {
  if (status_) return true;
  int st = 0;
  pid_t r;
  do {
    r = waitpid(pid_, &st, block ? 0 : WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid_) {
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return true;
  }
  if (r < 0) {  // ECHILD: someone else reaped it; treat as gone with an unknown status
    status_ = -1;
    return true;
  }
  return false;
}

bool ChildProcess::Running() { return !Reap(false); }

void ChildProcess::Signal(int signo) {
  if (pid_ > 0 && !Reap(false)) kill(pid_, signo);
}

std::optional<int> ChildProcess::WaitExit(std::chrono::milliseconds deadline) {
  WaitFor([&] { return Reap(false); }, deadline, kPoll);
  return status_;
}

std::string ChildProcess::ReadLine(std::chrono::milliseconds deadline) {
  const auto end = Clock::now() + deadline;
  char buf[4096];
  while (true) {
    if (auto nl = pending_.find('\n'); nl != std::string::npos) {
      std::string line = pending_.substr(0, nl);
      pending_.erase(0, nl + 1);
      return line;
    }
    // Note whether the child is gone before reading, so nothing written just
    // before it exited can be missed.
    const bool exited = !Running();
    bool got = false;
    if (stdout_fd_ >= 0) {
      ssize_t n;
      while ((n = read(stdout_fd_, buf, sizeof buf)) > 0) {
        pending_.append(buf, static_cast<size_t>(n));
        got = true;
      }
    }
    if (got) continue;
    if (exited) return std::exchange(pending_, std::string());
    if (Clock::now() >= end) return "";
    std::this_thread::sleep_for(kPoll);
  }
}

std::string ChildProcess::StdoutText() const { return ReadFile(stdout_path_); }
std::string ChildProcess::StderrText() const { return ReadFile(stderr_path_); }

bool WaitFor(const std::function<bool()>& cond, std::chrono::milliseconds deadline,
             std::chrono::milliseconds interval) {
  const auto end = Clock::now() + deadline;
  while (Clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(interval);
  }
  return cond();
}

RunResult RunToCompletion(const ProcessOptions& options, std::chrono::milliseconds deadline) {
  ChildProcess p(options);
  RunResult r;
  r.exit_code = p.WaitExit(deadline);
  r.out = p.StdoutText();
  r.err = p.StderrText();
  return r;  // ~ChildProcess kills it if it is still running
}

int64_t PeakRssKb(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6));
  return -1;
}

}  // namespace hub::testing
