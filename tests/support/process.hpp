#pragma once
// Child processes for end-to-end tests: start `hubworker broker`, `hubworker
// run`, kcat, ... with extra environment variables, read their output, signal
// them and wait for them with deadlines.  No fixed sleeps: every wait polls a
// condition with a short interval and gives up at a deadline.
//
//   hub::testing::ChildProcess broker({HUB_BINARY, {"broker"}});
//   std::string addr = broker.ReadLine(std::chrono::seconds(10));
//   ...
//   broker.Signal(SIGTERM);
//   EXPECT_EQ(broker.WaitExit(std::chrono::seconds(10)), 0) << broker.StderrText();
//
// stdout and stderr of the child go to files in a private temporary folder
// (so a chatty child can never block on a full pipe); they are removed with the
// ChildProcess unless HUB_TEST_KEEP_OUTPUT is set in the test's environment.
//
// Threading: a ChildProcess is used from one thread at a time.
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace hub::testing {

struct ProcessOptions {
  std::string program;             // a path, or a name looked up in PATH
  std::vector<std::string> args;   // argv[1..]; argv[0] is `program`
  // Added to the test's own environment, replacing variables of the same name.
  std::map<std::string, std::string> env;
  // Removed from the inherited environment (e.g. a HUB_* variable of the shell).
  std::vector<std::string> unset_env;
  // If set, the child's stdin reads these bytes; otherwise stdin is /dev/null.
  std::optional<std::string> stdin_data;
};

class ChildProcess {
 public:
  // Starts the process at once; throws std::runtime_error if it cannot be
  // spawned (e.g. the program does not exist).  The child gets default signal
  // dispositions and an empty signal mask, whatever the test process has.
  explicit ChildProcess(const ProcessOptions& options);
  ChildProcess(std::string program, std::vector<std::string> args, std::map<std::string, std::string> env = {});
  // If the child still runs: SIGKILL and reap.  A sanitizer report on the
  // child's stderr fails the current test (ADD_FAILURE).  Then removes the
  // output files.
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }

  // The next line of stdout, without its '\n'.  Waits up to `deadline` for it.
  // Returns "" if no complete line arrives in time; if the child exits, its
  // final unterminated output (possibly "") is returned at once.
  std::string ReadLine(std::chrono::milliseconds deadline);

  // All output so far (independent of ReadLine's position).
  std::string StdoutText() const;
  std::string StderrText() const;
  const std::string& stdout_path() const { return stdout_path_; }
  const std::string& stderr_path() const { return stderr_path_; }

  // Sends `signo` if the child has not been reaped yet; otherwise does nothing
  // (so a recycled pid is never signalled).
  void Signal(int signo);

  // Waits for the child to exit.  Returns its exit status (0..255), or
  // 128 + signal number if a signal ended it (the shell's convention);
  // std::nullopt if it still runs at the deadline.  Can be called again after
  // it returned a value; the same value comes back.
  std::optional<int> WaitExit(std::chrono::milliseconds deadline);

  // True until the child has exited (reaps it if it has).
  bool Running();

 private:
  bool Reap(bool block);
  void RemoveFiles();

  std::string program_;
  pid_t pid_ = -1;
  std::optional<int> status_;  // set once reaped
  std::string dir_, stdout_path_, stderr_path_;
  int stdout_fd_ = -1;     // our read end of the stdout file, for ReadLine
  std::string pending_;    // bytes read by ReadLine, not yet returned
};

// Polls `cond` every `interval` until it returns true (-> true) or `deadline`
// has passed (-> the result of one last call).
// Peak resident set of a process (VmHWM from /proc), in kB; -1 when unreadable.
int64_t PeakRssKb(pid_t pid);

bool WaitFor(const std::function<bool()>& cond, std::chrono::milliseconds deadline,
             std::chrono::milliseconds interval = std::chrono::milliseconds(10));

// Runs a program to completion (e.g. kcat) and returns what it printed.
// (Not called Run: inside a TEST body that name is ::testing::Test::Run.)
// exit_code is std::nullopt if it did not finish within `deadline` (it is then
// killed).
struct RunResult {
  std::optional<int> exit_code;
  std::string out;
  std::string err;
};
RunResult RunToCompletion(const ProcessOptions& options, std::chrono::milliseconds deadline);

}  // namespace hub::testing
