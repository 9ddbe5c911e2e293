#include "consumers/call_pool.hpp"

namespace hub::consumers {

CallPool::~CallPool() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void CallPool::RunAll(size_t n, const std::function<void(size_t)>& work) {
  if (n == 0) return;
  std::unique_lock<std::mutex> l(mu_);
  while (threads_.size() < size_) threads_.emplace_back([this] { Loop(); });
  work_ = &work;
  next_ = 0;
  total_ = n;
  finished_ = 0;
  ++generation_;
  work_cv_.notify_all();
  done_cv_.wait(l, [&] { return finished_ == total_; });
  work_ = nullptr;
}

void CallPool::Loop() {
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    work_cv_.wait(l, [&] { return stop_ || (work_ && next_ < total_); });
    if (stop_) return;
    const size_t i = next_++;
    const auto* work = work_;
    l.unlock();
    (*work)(i);
    l.lock();
    if (++finished_ == total_) done_cv_.notify_all();
  }
}

}  // namespace hub::consumers
