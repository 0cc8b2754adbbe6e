#include "core/parallel.h"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace argus {
namespace {

constexpr int kMaxThreads = 256;
constexpr std::size_t kChunksPerThread = 4;  // some slack for threads that start late

thread_local bool t_inside_parallel = false;

// Workers sleep on a condition variable between jobs; one job runs at a time and the
// thread that submits it works on it too.
class ThreadPool {
 public:
  // Runs the job on `threads` threads (caller included); false if another job is running.
  bool try_run(std::size_t n, int threads, const ParallelBody& body) {
    std::unique_lock<std::mutex> run_lock(run_mutex_, std::try_to_lock);
    if (!run_lock.owns_lock()) return false;
    grow(threads - 1);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      body_ = &body;
      n_ = n;
      n_chunks_ = std::min(n, static_cast<std::size_t>(threads) * kChunksPerThread);
      chunk_ = (n + n_chunks_ - 1) / n_chunks_;
      next_.store(0);
      helpers_ = threads - 1;
      pending_ = helpers_;
      error_ = nullptr;
      ++generation_;
    }
    wake_.notify_all();
    work();
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return pending_ == 0; });
    body_ = nullptr;
    if (error_) std::rethrow_exception(error_);
    return true;
  }

 private:
  void grow(int count) {
    while (static_cast<int>(workers_.size()) < count) {
      const int index = static_cast<int>(workers_.size());
      workers_.emplace_back([this, index] { worker_loop(index); });
      workers_.back().detach();  // the pool lives as long as the process
    }
  }

  void worker_loop(int index) {
    std::uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return generation_ != seen; });
        seen = generation_;
        if (index >= helpers_) continue;
      }
      work();
      std::lock_guard<std::mutex> lock(mutex_);
      if (--pending_ == 0) done_.notify_one();
    }
  }

  void work() {
    t_inside_parallel = true;
    for (;;) {
      const std::size_t c = next_.fetch_add(1);
      if (c >= n_chunks_) break;
      const std::size_t begin = c * chunk_;
      const std::size_t end = std::min(n_, begin + chunk_);
      if (begin >= end) continue;
      try {
        (*body_)(begin, end);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!error_) error_ = std::current_exception();
      }
    }
    t_inside_parallel = false;
  }

  std::mutex run_mutex_;  // held by the submitting thread for the whole job
  std::mutex mutex_;      // guards the job description below and the counters
  std::condition_variable wake_, done_;
  std::vector<std::thread> workers_;
  const ParallelBody* body_ = nullptr;
  std::size_t n_ = 0, n_chunks_ = 0, chunk_ = 1;
  std::atomic<std::size_t> next_{0};
  int helpers_ = 0, pending_ = 0;
  std::uint64_t generation_ = 0;
  std::exception_ptr error_;
};

std::mutex g_pool_mutex;
ThreadPool* g_pool = nullptr;  // leaked on purpose: workers may outlive static destructors
std::atomic<ParallelRunner> g_runner{nullptr};

// A forked child has none of the parent's workers: forget the pool (leaking it).
void forget_pool_after_fork() { g_pool = nullptr; }

ThreadPool& pool() {
  std::lock_guard<std::mutex> lock(g_pool_mutex);
  if (g_pool == nullptr) {
    static const int registered = pthread_atfork(nullptr, nullptr, forget_pool_after_fork);
    (void)registered;
    g_pool = new ThreadPool();
  }
  return *g_pool;
}

int read_default_threads() {
  if (const char* env = std::getenv("ARGUS_NUM_THREADS")) {
    char* end = nullptr;
    const long v = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && v > 0) {
      return static_cast<int>(std::min<long>(v, kMaxThreads));
    }
  }
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(std::min<unsigned>(hw, kMaxThreads));
}

}  // namespace

int default_num_threads() {
  static const int threads = read_default_threads();
  return threads;
}

void parallel_for(std::size_t n, int num_threads, const ParallelBody& body) {
  if (n == 0) return;
  int threads = num_threads > 0 ? std::min(num_threads, kMaxThreads) : default_num_threads();
  threads = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(threads), n));
  if (const ParallelRunner runner = g_runner.load()) {
    runner(n, threads, body);
    return;
  }
  if (threads <= 1 || t_inside_parallel || !pool().try_run(n, threads, body)) body(0, n);
}

void set_parallel_runner(ParallelRunner runner) { g_runner.store(runner); }

}  // namespace argus
