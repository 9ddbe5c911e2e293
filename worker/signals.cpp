#include "worker/signals.hpp"

#include <pthread.h>
#include <signal.h>

namespace hub::worker {
namespace {
sigset_t StopSet() {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGTERM);
  sigaddset(&s, SIGINT);
  sigaddset(&s, SIGUSR2);  // internal: wakes the watcher when it is destroyed
  return s;
}
}  // namespace

void BlockStopSignals() {
  sigset_t s = StopSet();
  pthread_sigmask(SIG_BLOCK, &s, nullptr);
}

int WaitForStopSignal(std::chrono::milliseconds timeout) {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGTERM);
  sigaddset(&s, SIGINT);
  timespec ts{static_cast<time_t>(timeout.count() / 1000), static_cast<long>(timeout.count() % 1000) * 1000000};
  const int sig = sigtimedwait(&s, nullptr, &ts);
  return sig > 0 ? sig : 0;
}

StopSignalWatcher::StopSignalWatcher(std::function<void(int)> on_stop) {
  thread_ = std::thread([cb = std::move(on_stop)] {
    sigset_t s = StopSet();
    for (;;) {
      int sig = 0;
      if (sigwait(&s, &sig) != 0) continue;
      if (sig == SIGUSR2) return;
      cb(sig);
      // A second SIGTERM/SIGINT changes nothing: the drain has a deadline.
    }
  });
}

StopSignalWatcher::~StopSignalWatcher() {
  if (thread_.joinable()) {
    pthread_kill(thread_.native_handle(), SIGUSR2);
    thread_.join();
  }
}

}  // namespace hub::worker
