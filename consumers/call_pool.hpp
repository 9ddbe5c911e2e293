#pragma once
// A fixed set of threads that make the outside calls of a step runner's
// round (HUB_STEP_CONCURRENCY at most at once).  Started on first use, so a
// worker that never calls out has none; kept between rounds, so a round does
// not pay for starting threads.
#include <condition_variable>
#include <cstdint>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace hub::consumers {

class CallPool {
 public:
  explicit CallPool(size_t threads) : size_(threads == 0 ? 1 : threads) {}
  ~CallPool();
  CallPool(const CallPool&) = delete;
  CallPool& operator=(const CallPool&) = delete;
  // Runs work(i) for every i in [0, n) on the pool; returns when all ran.
  void RunAll(size_t n, const std::function<void(size_t)>& work);

 private:
  void Loop();

  const size_t size_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  const std::function<void(size_t)>* work_ = nullptr;
  size_t next_ = 0, total_ = 0, finished_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
};

}  // namespace hub::consumers
