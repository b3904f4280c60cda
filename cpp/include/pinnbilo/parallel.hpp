// A small fork-join thread pool for the layer products (header-only, no dependency).
//
// parallel_for(n, f) runs f(0) .. f(n-1), task 0 on the calling thread and the others on the
// pool's workers; it returns when all are done.  Kernels give each task a fixed, disjoint piece
// of the output whose arithmetic does not depend on which thread runs it, so results are the
// same for every thread count.  Workers spin briefly on a new job (a step has dozens of short
// parallel sections) and then sleep on a condition variable, so an idle pool costs no CPU.
// The default is one thread (the environment variable PINNBILO_NUM_THREADS sets another);
// set_num_threads changes it.  A nested call, or a call while another thread holds the pool,
// runs its tasks serially on the calling thread.
#pragma once
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "pinnbilo/error.hpp"

namespace pinnbilo {
namespace parallel_detail {

class Pool {
 public:
  static Pool& instance() {
    static Pool pool;
    return pool;
  }
  ~Pool() { stop_workers(); }
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  int size() const { return size_.load(std::memory_order_relaxed); }

  void resize(int n) {
    std::lock_guard<std::mutex> use(use_);  // no job may be running while workers change
    stop_workers();
    size_.store(n, std::memory_order_relaxed);
    for (int i = 1; i < n; ++i) workers_.emplace_back([this] { work(); });
  }

  // Runs fn(ctx, t) for t in [0, n).  Returns false (nothing run) when the pool is busy or the
  // caller is already inside a job.
  bool run(std::size_t n, void (*fn)(void*, std::size_t), void* ctx) {
    if (in_job() || size() <= 1) return false;
    std::unique_lock<std::mutex> use(use_, std::try_to_lock);
    if (!use.owns_lock()) return false;
    fn_ = fn;
    ctx_ = ctx;
    n_tasks_.store(n, std::memory_order_relaxed);
    pending_.store(n, std::memory_order_relaxed);
    const std::uint64_t gen = (claim_.load(std::memory_order_relaxed) >> 32) + 1;
    claim_.store(gen << 32, std::memory_order_release);  // generation in the high half, next task low
    {
      std::lock_guard<std::mutex> lock(m_);
      generation_.store(gen, std::memory_order_release);
    }
    cv_.notify_all();
    in_job() = true;
    drain(gen);
    in_job() = false;
    while (pending_.load(std::memory_order_acquire) != 0) std::this_thread::yield();
    return true;
  }

 private:
  Pool() {
    int n = 1;
    if (const char* env = std::getenv("PINNBILO_NUM_THREADS")) n = std::max(1, std::min(256, std::atoi(env)));
    if (n > 1) resize(n);
  }

  static bool& in_job() {
    thread_local bool flag = false;
    return flag;
  }

  // Claims and runs tasks of job `gen` until none is left; a claim only succeeds while the
  // counter still belongs to that job, so a late worker never runs a task twice.
  void drain(std::uint64_t gen) {
    std::uint64_t s = claim_.load(std::memory_order_acquire);
    for (;;) {
      if ((s >> 32) != gen || (s & 0xffffffffu) >= n_tasks_.load(std::memory_order_relaxed)) return;
      if (!claim_.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel, std::memory_order_acquire)) continue;
      fn_(ctx_, static_cast<std::size_t>(s & 0xffffffffu));
      pending_.fetch_sub(1, std::memory_order_acq_rel);
      s = claim_.load(std::memory_order_acquire);
    }
  }

  void work() {
    in_job() = true;  // a worker never starts a nested parallel section
    std::uint64_t seen = generation_.load(std::memory_order_acquire);
    auto ready = [&] { return generation_.load(std::memory_order_acquire) != seen || stop_.load(std::memory_order_acquire); };
    for (;;) {
      // Spin a little: the parallel sections of one step follow each other within microseconds.
      bool fresh = false;
      for (int i = 0; i < 4000 && !(fresh = ready()); ++i) std::this_thread::yield();
      if (!fresh) {
        std::unique_lock<std::mutex> lock(m_);
        cv_.wait(lock, ready);
      }
      if (stop_.load(std::memory_order_acquire)) return;
      seen = generation_.load(std::memory_order_acquire);
      drain(seen);
    }
  }

  void stop_workers() {
    {
      std::lock_guard<std::mutex> lock(m_);
      stop_.store(true, std::memory_order_release);
    }
    cv_.notify_all();
    for (auto& w : workers_) w.join();
    workers_.clear();
    stop_.store(false, std::memory_order_release);
    size_.store(1, std::memory_order_relaxed);
  }

  std::mutex use_;  // held by the thread running a job (and while resizing)
  std::mutex m_;
  std::condition_variable cv_;
  std::vector<std::thread> workers_;
  std::atomic<int> size_{1};
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<std::uint64_t> claim_{0};
  std::atomic<bool> stop_{false};
  void (*fn_)(void*, std::size_t) = nullptr;
  void* ctx_ = nullptr;
  std::atomic<std::size_t> n_tasks_{0};
  std::atomic<std::size_t> pending_{0};
};

}  // namespace parallel_detail

// Threads used by the kernels (1 = serial).
inline int num_threads() { return parallel_detail::Pool::instance().size(); }

// Sets the number of threads (1..256); results do not depend on it, only the time does.
inline void set_num_threads(int n) {
  require(n >= 1 && n <= 256, "the number of threads must be between 1 and 256, got " + std::to_string(n));
  auto& pool = parallel_detail::Pool::instance();
  if (pool.size() != n) pool.resize(n);
}

// f(0) .. f(n-1) in parallel (see the top of this file); f must not throw.
template <class F>
void parallel_for(std::size_t n, F&& f) {
  if (n == 0) return;
  if (n > 1) {
    auto call = [](void* ctx, std::size_t t) { (*static_cast<std::remove_reference_t<F>*>(ctx))(t); };
    if (parallel_detail::Pool::instance().run(n, call, const_cast<void*>(static_cast<const void*>(&f)))) return;
  }
  for (std::size_t t = 0; t < n; ++t) f(t);
}

}  // namespace pinnbilo
