// A small parallel_for over a process-wide std::thread pool.
//
// Kernels split their work into independent tasks (e.g. batch x query blocks) and call
// parallel_for; the calling thread takes part, so one thread means no synchronisation at
// all. A host that already owns a thread pool (OpenVINO's TBB arena) installs its own
// runner with set_parallel_runner so that kernels do not oversubscribe its cores.
#pragma once

#include <cstddef>
#include <functional>

namespace argus {

// fn(begin, end) handles tasks [begin, end); it may be called from any thread.
using ParallelBody = std::function<void(std::size_t begin, std::size_t end)>;

// Runs body over [0, n) split into chunks on at most num_threads threads; returns when
// every chunk is done. num_threads is already resolved (>= 1).
using ParallelRunner = void (*)(std::size_t n, int num_threads, const ParallelBody& body);

// The thread count used when a caller asks for 0: the environment variable
// ARGUS_NUM_THREADS if it holds a positive integer, else std::thread::hardware_concurrency()
// (at least 1). Read once.
int default_num_threads();

// Runs body(begin, end) over disjoint chunks covering [0, n) on at most num_threads
// threads (0: default_num_threads()). Every chunk is a contiguous range; chunks and
// their order across threads are unspecified, so results must not depend on them.
// The first exception a chunk throws is rethrown here after all chunks finished.
// Thread safety: may be called from several threads at once and from inside a body (a
// call that finds the pool busy, or a nested call, runs its chunks on the calling thread).
void parallel_for(std::size_t n, int num_threads, const ParallelBody& body);

// Replaces the built-in pool for this copy of libargus (nullptr restores it). Not
// thread-safe against concurrent parallel_for calls: install it once at load time.
void set_parallel_runner(ParallelRunner runner);

}  // namespace argus
