// parallel_for and the thread pool behind it: every piece runs exactly once, the pieces depend on
// the range and grain only (never on the thread count), nested calls run inline, exceptions reach
// the caller, and set_num_threads takes effect on the next call.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <ember/core/error.h>
#include <ember/core/ops.h>
#include <ember/core/parallel.h>
#include <ember/core/tensor.h>

#include "parallel_testing.h"

#if defined(_OPENMP)  // built with -DEMBER_THREADS=openmp: tests/CMakeLists.txt adds -fopenmp
#include <omp.h>
#endif

namespace {

using Piece = std::pair<std::int64_t, std::int64_t>;

// Restores the thread count a test changed.
struct ThreadsGuard {
  int saved = ember::get_num_threads();
  ~ThreadsGuard() { ember::set_num_threads(saved); }
};

// The pieces parallel_for(begin, end, grain) hands to its body, and how often each index ran.
struct Record {
  std::set<Piece> pieces;
  std::vector<int> runs;
  std::int64_t calls = 0;
};

Record record(std::int64_t begin, std::int64_t end, std::int64_t grain) {
  Record r;
  std::mutex m;
  r.runs.assign(static_cast<std::size_t>(std::max<std::int64_t>(end - begin, 0)), 0);
  ember::parallel_for(begin, end, grain, [&](std::int64_t b, std::int64_t e) {
    const std::lock_guard lock(m);
    r.pieces.insert({b, e});
    ++r.calls;
    for (std::int64_t i = b; i < e; ++i) ++r.runs[static_cast<std::size_t>(i - begin)];
  });
  return r;
}

}  // namespace

TEST_CASE("parallel_for runs every index exactly once, in pieces fixed by range and grain",
          "[parallel]") {
  ThreadsGuard guard;
  const std::int64_t cases[][3] = {
      // begin, end, grain
      {0, 1000, 1}, {5, 1005, 7}, {0, 100000, 64}, {-50, 50, 10}, {0, 3, 1}, {0, 10, 4},
  };
  for (const auto& c : cases) {
    INFO("parallel_for(" << c[0] << ", " << c[1] << ", " << c[2] << ")");
    ember::set_num_threads(1);
    const Record want = record(c[0], c[1], c[2]);
    // floor(n / grain) pieces (at most kMaxPieces), each at least `grain` long, covering the range.
    const std::int64_t n = c[1] - c[0];
    CHECK(want.calls == std::min(n / c[2], ember::detail::kMaxPieces));
    std::int64_t at = c[0];
    for (const auto& [b, e] : want.pieces) {
      CHECK(b == at);
      CHECK(e - b >= c[2]);
      at = e;
    }
    CHECK(at == c[1]);
    for (int threads : {1, 2, 3, 8}) {
      CAPTURE(threads);
      ember::set_num_threads(threads);
      for (int rep = 0; rep < 20; ++rep) {  // different interleavings each time
        const Record got = record(c[0], c[1], c[2]);
        CHECK(got.pieces == want.pieces);
        CHECK(got.calls == want.calls);
        CHECK(got.runs == std::vector<int>(static_cast<std::size_t>(n), 1));
      }
    }
  }
}

TEST_CASE("parallel_for with zero or one piece calls the body inline or not at all", "[parallel]") {
  ThreadsGuard guard;
  ember::set_num_threads(4);
  SECTION("an empty or reversed range: no call") {
    CHECK(record(0, 0, 1).calls == 0);
    CHECK(record(10, 3, 1).calls == 0);
  }
  SECTION("fewer than two grains: one call with the whole range, on the calling thread") {
    std::vector<std::thread::id> ids;
    std::vector<Piece> pieces;
    ember::parallel_for(3, 12, 5, [&](std::int64_t b, std::int64_t e) {
      ids.push_back(std::this_thread::get_id());
      pieces.emplace_back(b, e);
    });
    CHECK(pieces == std::vector<Piece>{{3, 12}});
    CHECK(ids == std::vector<std::thread::id>{std::this_thread::get_id()});
  }
  SECTION("a grain of 0 or less counts as 1") {
    CHECK(record(0, 5, 0).calls == 5);
    CHECK(record(0, 5, -3).calls == 5);
  }
}

TEST_CASE("parallel_for inside parallel_for runs inline on the same thread", "[parallel]") {
  ThreadsGuard guard;
  for (int threads : {1, 2, 8}) {
    CAPTURE(threads);
    ember::set_num_threads(threads);
    std::atomic<int> inner_elsewhere{0}, inner_total{0};
    std::vector<int> cells(64 * 64, 0);
    ember::parallel_for(0, 64, 1, [&](std::int64_t b, std::int64_t e) {
      const auto outer = std::this_thread::get_id();
      for (std::int64_t i = b; i < e; ++i) {
        ember::parallel_for(0, 64, 1, [&](std::int64_t ib, std::int64_t ie) {
          if (std::this_thread::get_id() != outer) ++inner_elsewhere;
          for (std::int64_t j = ib; j < ie; ++j) {
            ++cells[static_cast<std::size_t>(i * 64 + j)];
            ++inner_total;
          }
        });
      }
    });
    CHECK(inner_elsewhere == 0);
    CHECK(inner_total == 64 * 64);
    CHECK(cells == std::vector<int>(64 * 64, 1));
  }
}

TEST_CASE("set_num_threads takes effect on the next parallel_for", "[parallel]") {
  ThreadsGuard guard;
  for (int threads : {3, 1, 8, 2, 2, 5}) {
    ember::set_num_threads(threads);
    CHECK(ember::get_num_threads() == threads);
    // Distinct threads that ran pieces: never more than the setting.
    std::mutex m;
    std::set<std::thread::id> ids;
    std::atomic<int> sum{0};
    ember::parallel_for(0, 4000, 1, [&](std::int64_t b, std::int64_t e) {
      {
        const std::lock_guard lock(m);
        ids.insert(std::this_thread::get_id());
      }
      for (std::int64_t i = b; i < e; ++i) sum += static_cast<int>(i);
    });
    CAPTURE(threads);
    CHECK(ids.size() <= static_cast<std::size_t>(threads));
    CHECK(sum == 4000 * 3999 / 2);
  }
  CHECK_THROWS_AS(ember::set_num_threads(0), ember::Error);
  CHECK_THROWS_WITH(ember::set_num_threads(-2),
                    "set_num_threads: expected at least 1 thread, got -2");
}

TEST_CASE("an exception thrown by a piece reaches the caller; the pool keeps working",
          "[parallel]") {
  ThreadsGuard guard;
  for (int threads : {1, 2, 8}) {
    CAPTURE(threads);
    ember::set_num_threads(threads);
    std::atomic<int> ran{0};
    CHECK_THROWS_WITH(ember::parallel_for(0, 100, 1,
                                          [&](std::int64_t b, std::int64_t) {
                                            ++ran;
                                            if (b == 37) throw std::runtime_error("piece 37");
                                          }),
                      "piece 37");
    CHECK(ran >= 1);
    CHECK(record(0, 1000, 3).runs == std::vector<int>(1000, 1));
  }
}

TEST_CASE("parallel_for called from several threads at once: each call completes", "[parallel]") {
  ThreadsGuard guard;
  ember::set_num_threads(2);
  // One caller holds the pool; the others run their pieces inline. Every call still sees each of
  // its indices exactly once.
  std::vector<int> ok(4, 0);
  std::vector<std::thread> callers;
  for (std::size_t t = 0; t < ok.size(); ++t) {
    callers.emplace_back([&ok, t] {
      bool all = true;
      for (int rep = 0; rep < 50; ++rep)
        all = all && record(0, 5000, 10).runs == std::vector<int>(5000, 1);
      ok[t] = all ? 1 : 0;
    });
  }
  for (auto& c : callers) c.join();
  CHECK(ok == std::vector<int>(ok.size(), 1));
}

TEST_CASE("set_num_threads(10000): accepted, and a matmul runs on the threads the system gives",
          "[parallel]") {
  // Note [A thread count the system cannot give] in core/src/parallel.cpp. As
  // torch.set_num_threads(10000), the call is accepted and get_num_threads returns it; here the
  // system refuses a fourth worker (as a pids cgroup or ulimit -u would), and the matmul still
  // runs, on the caller and 3 workers, with the 1-thread result bit for bit.
  ThreadsGuard guard;
  std::vector<float> values(64 * 300);
  for (std::size_t i = 0; i < values.size(); ++i)
    values[i] = static_cast<float>(i % 17) * 0.25f - 2;
  const ember::Tensor a = ember::from_vector(values, {64, 300});
  const ember::Tensor b = a.transpose(0, 1).contiguous();
  ember::set_num_threads(1);
  const std::vector<float> want = a.matmul(b).to_vector<float>();

  // Built with -DEMBER_THREADS=openmp, OpenMP's runtime creates the team (Note [parallel_for on
  // OpenMP]): only the acceptance and the result are checked.
  const bool pool = std::string(ember::parallel_backend()) == "pool";
  if (pool) ember::detail::fail_thread_creation_after(3);
  ember::set_num_threads(10000);
  CHECK(ember::get_num_threads() == 10000);
  std::vector<float> got;
  CHECK_NOTHROW(got = a.matmul(b).to_vector<float>());
  CHECK(got == want);
  if (pool) {
    CHECK(ember::detail::pool_workers() == 3);
    CHECK(record(0, 10000, 1).runs == std::vector<int>(10000, 1));  // and every later job
    CHECK(ember::detail::pool_workers() == 3);
    ember::detail::fail_thread_creation_after(-1);  // no limit again; restarts on demand
  }
  ember::set_num_threads(2);
  CHECK(a.matmul(b).to_vector<float>() == want);
}

#if defined(_OPENMP)
TEST_CASE("on OpenMP: set_num_threads is omp_set_num_threads; inside the user's region, inline",
          "[parallel][openmp]") {
  // Note [parallel_for on OpenMP] in core/src/parallel.cpp: one runtime, one thread count, and
  // ember called from the user's own `omp parallel` runs on the calling thread, every piece.
  ThreadsGuard guard;
  REQUIRE(std::string(ember::parallel_backend()) == "openmp");
  ember::set_num_threads(3);
  CHECK(omp_get_max_threads() == 3);
  std::atomic<int> elsewhere{0};
  std::vector<int> cells(2 * 100, 0);
#pragma omp parallel num_threads(2)
  {
    const auto me = std::this_thread::get_id();
    const auto row = static_cast<std::size_t>(omp_get_thread_num()) * 100;
    ember::parallel_for(0, 100, 1, [&](std::int64_t b, std::int64_t e) {
      if (std::this_thread::get_id() != me) ++elsewhere;
      for (std::int64_t i = b; i < e; ++i) ++cells[row + static_cast<std::size_t>(i)];
    });
  }
  CHECK(elsewhere == 0);
  CHECK(cells == std::vector<int>(2 * 100, 1));
  // Outside any region: a team of min(threads, pieces), every index once.
  CHECK(record(0, 1000, 1).runs == std::vector<int>(1000, 1));
}
#endif

#if !defined(_OPENMP)
namespace {

// Note [A worker the machine stops running] (core/src/parallel.cpp). Job: 2 pieces. Piece 0 (the
// caller's) waits until piece 1 has started elsewhere (100 ms at most), so a woken worker surely
// takes it; piece 1 on a worker then sleeps for `stall`, as a worker descheduled with a claimed
// piece would. True if a worker took piece 1.
bool job_with_stalled_worker(std::chrono::milliseconds stall) {
  const auto caller = std::this_thread::get_id();
  std::atomic<bool> worker_took{false};
  ember::parallel_for(0, 2, 1, [&](std::int64_t b, std::int64_t) {
    if (b == 1 && std::this_thread::get_id() != caller) {
      worker_took = true;
      std::this_thread::sleep_for(stall);
    } else if (b == 0) {
      const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(100);
      while (!worker_took && std::chrono::steady_clock::now() < until) std::this_thread::yield();
    }
  });
  return worker_took;
}

}  // namespace

TEST_CASE("workers stalled on pieces: the next jobs run on the caller, later ones in parallel",
          "[parallel]") {
  ThreadsGuard guard;
  ember::set_num_threads(2);
  // Two stalls of 30 ms in a row (far beyond 4 pieces of the caller's plus the slack, and within
  // 100 ms of each other).
  int stalls = 0;
  for (int attempt = 0; attempt < 40 && stalls < 2; ++attempt) {
    if (job_with_stalled_worker(std::chrono::milliseconds(30))) {
      ++stalls;
    } else {
      stalls = 0;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // a solo period
    }
  }
  REQUIRE(stalls == 2);
  // Right after them, a job runs inline: no worker takes piece 1 though piece 0 waits for one.
  CHECK_FALSE(job_with_stalled_worker(std::chrono::milliseconds(0)));
  // The solo period ends (at most kSoloMax, 1.28 s): a worker takes pieces again.
  bool parallel_again = false;
  for (int attempt = 0; attempt < 40 && !parallel_again; ++attempt) {
    parallel_again = job_with_stalled_worker(std::chrono::milliseconds(0));
    if (!parallel_again) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(parallel_again);
}
#endif
