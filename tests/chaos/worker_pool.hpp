#pragma once
// The `hubworker run` processes of a chaos run: started with the same
// settings, killed (-9) and replaced, stopped and continued, and asked for
// their health.  A worker that exits without being killed is a crash: it is
// counted, its log kept for the report, and a new one takes its place.
//
// Threading: used from the chaos driver's one thread.
#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/process.hpp"

namespace hub::chaos {

class WorkerPool {
 public:
  WorkerPool(std::string binary, std::map<std::string, std::string> env, int workers);

  int size() const { return static_cast<int>(slots_.size()); }
  pid_t pid(int i) const { return slots_[i].process->pid(); }
  bool stopped(int i) const { return slots_[i].stopped; }

  // kill -9, reap, start a new one in the slot.
  void KillAndReplace(int i);
  void Stop(int i);      // SIGSTOP
  void Continue(int i);  // SIGCONT
  // Replaces workers that exited on their own; returns how many did.
  int ReplaceCrashed();
  int crashes() const { return static_cast<int>(crash_logs_.size()); }
  const std::vector<std::string>& crash_logs() const { return crash_logs_; }

  // HTTP status of GET <path> on worker i (0 when it does not answer).
  int HttpStatus(int i, const std::string& path) const;
  // Waits until every worker answers 200 on /readyz.
  bool WaitReady(std::chrono::milliseconds deadline) const;
  // SIGTERM to all; returns the exit codes (-1: did not exit in time).
  std::vector<int> StopAll(std::chrono::milliseconds deadline);
  // Lines of worker i's log at level warn or error (at most `max`).
  std::string Problems(int i, size_t max) const;

 private:
  struct Slot {
    std::unique_ptr<testing::ChildProcess> process;
    std::string port;
    bool stopped = false;
  };
  void Start(Slot& s);

  std::string binary_;
  std::map<std::string, std::string> env_;
  std::vector<Slot> slots_;
  std::vector<std::string> crash_logs_;
};

}  // namespace hub::chaos
