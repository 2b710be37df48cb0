// ember's thread pool: the caller and a few persistent workers claim the pieces of one job.
#include <ember/core/parallel.h>

#include <ember/core/error.h>

#include <sched.h>

#include <atomic>
#include <cassert>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <limits>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#if defined(EMBER_THREADS_OPENMP)
#include <omp.h>
#endif

#include "parallel_testing.h"

namespace ember {
namespace {

// Note [How the pool runs a job]
// The caller publishes a job (a piece function, its context and a piece count) and then claims
// pieces itself, one at a time, from a shared counter; every free worker does the same. When no
// piece is left unclaimed, the caller waits only for pieces that a worker has claimed and not yet
// finished. It never waits for a worker to wake up or to arrive: on a busy machine, where a
// worker may not run for a whole scheduler slice, the caller then does all the work itself, at
// the speed of one thread, instead of stalling on a barrier (what OpenMP's one-piece-per-thread
// split did: 6.2 s instead of 0.09 s per softmax-regression epoch with two other busy processes).
// The pieces are fixed by the problem (parallel_for), so which thread runs which changes nothing
// in the results.
//
// One 64-bit word holds the job's identity and its unclaimed pieces, [generation:32 | front:16 |
// back:16]: pieces [front, back) are unclaimed. The caller claims from the front (front + 1), the
// workers from the back (back - 1), each by a compare-and-swap. A worker that wakes late, after
// its job ended and maybe another began, can only claim a piece of the job the word names at
// that instant; while it holds that piece the job cannot end, so the function, context and piece
// count it then reads are that job's.
// Why two ends: consecutive jobs on the same rows (the DataLoader gathers a batch, Linear
// multiplies it, the backward multiplies it again) then mostly give each thread the same rows,
// which its core's cache still holds; with one counter the rows landed on either core at random.
//
// Waiting: an idle worker spins (with pause) for kIdleSpin and then sleeps on a futex
// (std::atomic::wait) until the next job; the caller, waiting for claimed pieces, spins for
// kCallerSpin and then sleeps until the last piece's finisher wakes it. 50 us covers the gaps
// between the jobs of one training step. Measured with bench/busy.py on the 2-core machine (then
// also loaded by other work), idle spins of 0, 50, 200 and 1000 us: the longer spins made the
// default slower than 1 thread (1.1-1.5x) with and without busy processes, as a spinning worker
// takes CPU time the caller's own process could use; 0 and 50 kept it within 0.7-1.3x.
constexpr auto kIdleSpin = std::chrono::microseconds(50);
constexpr auto kCallerSpin = std::chrono::microseconds(50);

// Note [A worker the machine stops running]
// On a busy machine a worker can be descheduled while it holds a claimed piece; the caller, out of
// pieces, then waits for it a whole scheduler slice (milliseconds), many times the job. That wait
// was the tail of bench/busy.py's rounds (2 busy processes: up to 1.4x the 1-thread time). So the
// caller times its own part of the job and the wait after it: a wait longer than kStallPieces of
// its average piece time plus kStallSlack is such a stall (or pieces far more uneven than
// parallel_for makes them). A stall costs a scheduler tick (4 ms here, measured: 4.0 ms in 10 of
// 11 with 1 busy process, one every 50 ms of a softmax-regression epoch). A quiet machine has
// them too, but rarely (LeNet: 0.4-3.5 ms once every 0.6 s, from the VM or the kernel's own
// threads), and there the workers are worth far more than the stalls cost. So only a stall
// within kStallGap of the previous one starts a solo period, in which jobs run inline on the
// caller, at the speed of one thread: kSoloMin if the last period ended kCleanRun or more ago,
// else twice the last one (up to kSoloMax). A busy machine then mostly runs solo, and tries the
// workers again now and then. Which thread runs a piece changes nothing in the results.
constexpr int kStallPieces = 4;
constexpr auto kStallSlack = std::chrono::microseconds(300);
constexpr auto kSoloMin = std::chrono::milliseconds(20);
constexpr auto kSoloMax = std::chrono::milliseconds(1280);
constexpr auto kCleanRun = std::chrono::seconds(2);
constexpr auto kStallGap = std::chrono::milliseconds(100);

// Note [A thread count the system cannot give]
// set_num_threads accepts any count from 1 up, as torch.set_num_threads does, and
// get_num_threads returns it. The pool then starts count - 1 workers, but never more than a job
// has pieces for (kMaxPieces - 1), and stops at the first thread the system refuses to create
// (std::system_error, "Resource temporarily unavailable": a pids cgroup, ulimit -u, memory for
// the stacks): it keeps the workers it has and asks for no more until the process ends, so
// set_num_threads(10000) followed by a matmul computes the matmul (on what could be started)
// instead of throwing from thread creation. The results are the same at any worker count
// (parallel_for's pieces do not depend on it).
// A test can make creation fail after n workers, as the system would (parallel_testing.h).
#if !defined(EMBER_THREADS_OPENMP)
int g_spawn_limit = std::numeric_limits<int>::max();
#endif

// True on a pool worker, and on a caller while it runs its job's pieces: a parallel_for there
// runs inline.
thread_local bool t_in_parallel = false;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Spins until pred() or `limit` has passed; returns pred()'s last value.
template <class Pred>
bool spin_until(Pred pred, std::chrono::microseconds limit) {
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (pred()) return true;
      cpu_relax();
    }
    if (std::chrono::steady_clock::now() - start > limit) return pred();
  }
}

int default_threads() {
  // OMP_NUM_THREADS, as OpenMP reads it: the first number of the list.
  if (const char* env = std::getenv("OMP_NUM_THREADS")) {
    char* stop = nullptr;
    const long n = std::strtol(env, &stop, 10);
    if (stop != env && n >= 1) return static_cast<int>(std::min<long>(n, 1024));
  }
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(CPU_COUNT(&set), 1);
  return static_cast<int>(std::max(std::thread::hardware_concurrency(), 1u));
}

std::atomic<int>& thread_setting() {
  static std::atomic<int> threads{default_threads()};
  return threads;
}

#if !defined(EMBER_THREADS_OPENMP)
class Pool {
 public:
  ~Pool() { resize(0); }

  // Stops the workers and forgets what creation allowed; creation then fails after `limit`.
  void restart_with_spawn_limit(int limit) {
    const std::lock_guard lock(run_mutex_);
    resize(0);
    g_spawn_limit = limit;
    max_workers_ = static_cast<int>(detail::kMaxPieces) - 1;
  }

  // The workers running now (tests).
  int workers() {
    const std::lock_guard lock(run_mutex_);
    return static_cast<int>(workers_.size());
  }

  // Runs pieces [0, pieces) of task; false if the pool is busy with another thread's job (the
  // caller then runs them inline).
  bool try_run(std::int64_t pieces, detail::PieceFn task, const void* ctx, int threads) {
    std::unique_lock lock(run_mutex_, std::try_to_lock);
    if (!lock.owns_lock()) return false;
    using Clock = std::chrono::steady_clock;
    resize(threads - 1);
    const Clock::time_point start = Clock::now();
    if (start < solo_until_) return false;  // Note [A worker the machine stops running]
    const std::uint32_t generation = ++generation_;
    task_.store(task, std::memory_order_relaxed);
    ctx_.store(ctx, std::memory_order_relaxed);
    done_.store(0, std::memory_order_relaxed);
    failed_.store(false, std::memory_order_relaxed);
    error_ = nullptr;
    pieces_.store(static_cast<std::uint32_t>(pieces), std::memory_order_relaxed);
    job_.store(std::uint64_t{generation} << 32 | static_cast<std::uint64_t>(pieces),
               std::memory_order_release);
    wake_.fetch_add(1, std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) > 0) wake_.notify_all();

    t_in_parallel = true;
    const std::uint32_t own = work(/*from_front=*/true);
    t_in_parallel = false;
    const Clock::time_point own_done = Clock::now();

    const auto all_done = [&] {
      return done_.load(std::memory_order_acquire) == static_cast<std::uint32_t>(pieces);
    };
    if (!spin_until(all_done, kCallerSpin)) {
      for (std::uint32_t d = done_.load(std::memory_order_acquire);
           d != static_cast<std::uint32_t>(pieces); d = done_.load(std::memory_order_acquire)) {
        done_.wait(d, std::memory_order_acquire);
      }
    }
    note_wait(start, own_done, own);
    if (error_) std::rethrow_exception(error_);
    return true;
  }

 private:
  // Note [A worker the machine stops running]: the caller ran `own` pieces from `start` to
  // `own_done`, then waited for the workers' until now.
  void note_wait(std::chrono::steady_clock::time_point start,
                 std::chrono::steady_clock::time_point own_done, std::uint32_t own) {
    if (own == 0) return;  // no piece time to compare with
    const auto now = std::chrono::steady_clock::now();
    const auto piece = (own_done - start) / own;
    if (now - own_done <= kStallPieces * piece + kStallSlack) return;
    const bool again = now - last_stall_ < kStallGap;
    last_stall_ = now;
    if (!again) return;
    if (now - solo_until_ >= kCleanRun)
      solo_for_ = kSoloMin;
    else
      solo_for_ = solo_for_ * 2 < kSoloMax ? solo_for_ * 2 : kSoloMax;
    solo_until_ = now + solo_for_;
  }

  // Claims and runs pieces of the current job, from the front or the back, until none is left;
  // returns how many it ran.
  std::uint32_t work(bool from_front) {
    std::uint32_t ran = 0;
    std::uint64_t word = job_.load(std::memory_order_acquire);
    for (;;) {
      const std::uint32_t front = (word >> 16) & 0xffff, back = word & 0xffff;
      if (front >= back) return ran;
      const std::uint32_t next = from_front ? front : back - 1;
      const std::uint64_t claimed = from_front ? word + (std::uint64_t{1} << 16) : word - 1;
      if (!job_.compare_exchange_weak(word, claimed, std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
        continue;
      }
      const std::uint32_t pieces = pieces_.load(std::memory_order_relaxed);
      if (!failed_.load(std::memory_order_relaxed)) {
        try {
          task_.load(std::memory_order_relaxed)(ctx_.load(std::memory_order_relaxed), next);
        } catch (...) {
          const std::lock_guard guard(error_mutex_);
          if (!error_) error_ = std::current_exception();
          failed_.store(true, std::memory_order_relaxed);
        }
      }
      if (done_.fetch_add(1, std::memory_order_acq_rel) + 1 == pieces) done_.notify_one();
      ++ran;
      word = job_.load(std::memory_order_acquire);
    }
  }

  void worker_main() {
    t_in_parallel = true;
    std::uint32_t seen = wake_.load(std::memory_order_acquire);
    // stop_ is set before wake_ changes: a worker started after that change (seen is already
    // the new value) still sees stop_.
    const auto woken = [&] {
      return wake_.load(std::memory_order_acquire) != seen || stop_.load(std::memory_order_acquire);
    };
    for (;;) {
      if (!spin_until(woken, kIdleSpin)) {
        sleepers_.fetch_add(1, std::memory_order_seq_cst);
        while (!woken()) wake_.wait(seen, std::memory_order_seq_cst);
        sleepers_.fetch_sub(1, std::memory_order_relaxed);
      }
      if (stop_.load(std::memory_order_acquire)) return;
      seen = wake_.load(std::memory_order_acquire);
      work(/*from_front=*/false);
    }
  }

  // Keeps `workers` workers, or as many as the system lets us create (Note [A thread count the
  // system cannot give]); called with run_mutex_ held, so no job is running.
  void resize(int workers) {
    if (workers > max_workers_) workers = max_workers_;
    if (static_cast<std::size_t>(workers) == workers_.size()) return;
    if (!workers_.empty()) {
      stop_.store(true, std::memory_order_seq_cst);
      wake_.fetch_add(1, std::memory_order_seq_cst);
      wake_.notify_all();
      for (auto& w : workers_) w.join();
      workers_.clear();
      stop_.store(false, std::memory_order_relaxed);
    }
    for (int i = 0; i < workers; ++i) {
      try {
        if (i >= g_spawn_limit) throw std::system_error(EAGAIN, std::generic_category());
        workers_.emplace_back([this] { worker_main(); });
      } catch (const std::system_error&) {
        max_workers_ = i;  // what this process can have; later jobs ask for no more
        return;
      }
    }
  }

  std::mutex run_mutex_;  // one job at a time
  std::vector<std::thread> workers_;
  // A job has at most kMaxPieces pieces, the caller claims at least one: more workers never help.
  int max_workers_ = static_cast<int>(detail::kMaxPieces) - 1;
  std::uint32_t generation_ = 0;
  std::atomic<std::uint64_t> job_{0};  // [generation:32 | front:16 | back:16]
  std::atomic<std::uint32_t> pieces_{0};
  std::atomic<detail::PieceFn> task_{nullptr};
  std::atomic<const void*> ctx_{nullptr};
  std::atomic<std::uint32_t> done_{0};      // pieces of the job finished (the caller waits on it)
  std::atomic<std::uint32_t> wake_{0};      // changes for every job and at stop (workers wait)
  std::atomic<std::uint32_t> sleepers_{0};  // workers asleep on wake_
  std::atomic<bool> stop_{false};
  std::atomic<bool> failed_{false};  // a piece threw: skip the rest
  std::mutex error_mutex_;
  std::exception_ptr error_;
  // Note [A worker the machine stops running]; read and written under run_mutex_.
  std::chrono::steady_clock::time_point last_stall_{};
  std::chrono::steady_clock::time_point solo_until_{};  // the last solo period's end
  std::chrono::steady_clock::duration solo_for_{kSoloMin};
};

Pool& pool() {
  static Pool instance;
  return instance;
}
#endif

void run_inline(std::int64_t pieces, detail::PieceFn task, const void* ctx) {
  for (std::int64_t i = 0; i < pieces; ++i) task(ctx, i);
}

}  // namespace

int get_num_threads() {
  return thread_setting().load(std::memory_order_relaxed);
}

void set_num_threads(int threads) {
  EMBER_CHECK(threads >= 1, "set_num_threads: expected at least 1 thread, got ", threads);
  thread_setting().store(threads, std::memory_order_relaxed);
#if defined(EMBER_THREADS_OPENMP)
  omp_set_num_threads(threads);  // the user's own `omp parallel` regions on this thread follow
#endif
}

const char* parallel_backend() {
#if defined(EMBER_THREADS_OPENMP)
  return "openmp";
#else
  return "pool";
#endif
}

namespace detail {

#if !defined(EMBER_THREADS_OPENMP)

int pool_workers() {
  return pool().workers();
}

void fail_thread_creation_after(int workers) {
  pool().restart_with_spawn_limit(workers < 0 ? std::numeric_limits<int>::max() : workers);
}

void run_pieces(std::int64_t pieces, PieceFn task, const void* ctx) {
  assert(pieces <= kMaxPieces);
  const int threads = get_num_threads();
  if (pieces <= 1 || threads <= 1 || t_in_parallel || !pool().try_run(pieces, task, ctx, threads))
    run_inline(pieces, task, ctx);
}

#else  // EMBER_THREADS_OPENMP

// Note [parallel_for on OpenMP]
// -DEMBER_THREADS=openmp runs the same pieces (fixed by parallel_for from the range and grain) on
// an OpenMP team instead of the pool: each team thread claims the next unclaimed piece from one
// shared counter, as schedule(dynamic, 1) would, so which thread runs which piece changes nothing
// in the results, which are bitwise the pool's at any thread count. The team has
// min(get_num_threads(), pieces) threads: OpenMP keeps them between regions (its own pool), and
// OMP_WAIT_POLICY / GOMP_SPINCOUNT tune how they wait. A call made inside an active parallel
// region (the user's own `omp parallel`, or a piece of ours) runs inline on the calling thread:
// one runtime and one thread count, no second team competing for the cores. Unlike the pool,
// the region ends at OpenMP's barrier, which waits for every team thread (Note [How the pool
// runs a job]): on a machine busy with other work that is what the pool avoids. No exception
// leaves the region: the first one is kept and rethrown after it, and the other pieces skipped.

int pool_workers() {
  return 0;
}

void fail_thread_creation_after(int) {}

void run_pieces(std::int64_t pieces, PieceFn task, const void* ctx) {
  assert(pieces <= kMaxPieces);
  const int threads = get_num_threads();
  if (pieces <= 1 || threads <= 1 || t_in_parallel || omp_in_parallel()) {
    run_inline(pieces, task, ctx);
    return;
  }
  const int team = pieces < threads ? static_cast<int>(pieces) : threads;
  std::atomic<std::int64_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex error_mutex;
  std::exception_ptr error;
#pragma omp parallel num_threads(team)
  {
    const bool outer = t_in_parallel;
    t_in_parallel = true;
    for (std::int64_t i = next.fetch_add(1, std::memory_order_relaxed); i < pieces;
         i = next.fetch_add(1, std::memory_order_relaxed)) {
      if (failed.load(std::memory_order_relaxed)) continue;
      try {
        task(ctx, i);
      } catch (...) {
        const std::lock_guard guard(error_mutex);
        if (!error) error = std::current_exception();
        failed.store(true, std::memory_order_relaxed);
      }
    }
    t_in_parallel = outer;
  }
  if (error) std::rethrow_exception(error);
}

#endif

}  // namespace detail
}  // namespace ember
