#pragma once
// SIGTERM/SIGINT handling without global flags: the signals are blocked in
// every thread (call BlockStopSignals() before starting any thread) and one
// watcher thread waits for them with sigwait and runs a callback.
#include <functional>
#include <thread>

namespace hub::worker {

void BlockStopSignals();

class StopSignalWatcher {
 public:
  // `on_stop` runs on the watcher thread for the first SIGTERM/SIGINT.
  explicit StopSignalWatcher(std::function<void(int)> on_stop);
  ~StopSignalWatcher();  // wakes the watcher (with SIGUSR2 to itself) and joins

 private:
  std::thread thread_;
};

}  // namespace hub::worker
