#pragma once
// SIGTERM/SIGINT handling without global flags: the signals are blocked in
// every thread (call BlockStopSignals() before starting any thread) and one
// watcher thread waits for them with sigwait and runs a callback.
#include <chrono>
#include <functional>
#include <thread>

namespace hub::worker {

void BlockStopSignals();

// Before the watcher exists (start-up waits): waits up to `timeout` for a
// SIGTERM/SIGINT, which must be blocked; returns it, or 0 when none came.
int WaitForStopSignal(std::chrono::milliseconds timeout);

class StopSignalWatcher {
 public:
  // `on_stop` runs on the watcher thread for the first SIGTERM/SIGINT.
  explicit StopSignalWatcher(std::function<void(int)> on_stop);
  ~StopSignalWatcher();  // wakes the watcher (with SIGUSR2 to itself) and joins

 private:
  std::thread thread_;
};

}  // namespace hub::worker
