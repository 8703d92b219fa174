#pragma once
// Runs fn(worker, index) for index in [0, n) on `jobs` threads. Work is handed out by an
// atomic counter (no lock per item); each worker has its own index so callers can keep
// per-thread results and merge them at the end. The first exception is rethrown.
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace regsweep::util {

inline unsigned default_jobs() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : n;
}

template <typename Fn>
void parallel_for(std::size_t n, unsigned jobs, Fn&& fn) {
  jobs = std::max(1u, std::min<unsigned>(jobs, static_cast<unsigned>(std::max<std::size_t>(n, 1))));
  std::atomic<std::size_t> next{0};
  std::exception_ptr first_error;
  std::mutex error_mutex;
  auto run = [&](unsigned worker) {
    try {
      for (std::size_t i; (i = next.fetch_add(1, std::memory_order_relaxed)) < n;) fn(worker, i);
    } catch (...) {
      std::lock_guard lock(error_mutex);
      if (!first_error) first_error = std::current_exception();
      next.store(n);  // stop handing out work
    }
  };
  if (jobs == 1) {
    run(0);
  } else {
    std::vector<std::thread> threads;
    threads.reserve(jobs - 1);
    for (unsigned w = 1; w < jobs; ++w) threads.emplace_back(run, w);
    run(0);
    for (auto& t : threads) t.join();
  }
  if (first_error) std::rethrow_exception(first_error);
}

}  // namespace regsweep::util
