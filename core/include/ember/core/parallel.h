/// \file
/// ember's threads: one small pool (or, built with -DEMBER_THREADS=openmp, OpenMP) that every
/// kernel uses through parallel_for.
#pragma once

#include <cstdint>

namespace ember {

/// The number of threads ember's kernels use, the calling thread included.
///
/// The default is the OMP_NUM_THREADS environment variable when set (its first number, as OpenMP
/// reads it), else the cores this process may run on (sched_getaffinity).
int get_num_threads();
/// Sets the thread count for later parallel_for calls from any thread, as
/// `torch.set_num_threads`. Results do not depend on it (see parallel_for).
///
/// Any count from 1 up is accepted and returned by get_num_threads(); the threads actually run
/// are capped at what a job can use (4096) and at what the system lets the process create (the
/// first refused thread ends the growth, without an error).
/// \throws ember::Error when `threads < 1`.
void set_num_threads(int threads);

/// The backend parallel_for runs on, chosen when ember is built (-DEMBER_THREADS=pool|openmp):
/// "pool" (ember's own thread pool, the default) or "openmp". Results are the same with either.
const char* parallel_backend();

namespace detail {

// A piece of work: task(ctx, i) runs piece i.
using PieceFn = void (*)(const void* ctx, std::int64_t piece);

// Runs task(ctx, i) exactly once for each i in [0, pieces), on the calling thread and on whichever
// pool workers are free to help (see Note [How the pool runs a job] in parallel.cpp). Runs all of
// them on the calling thread, in order, at 1 thread, inside another parallel_for, or while
// another thread's job holds the pool. An exception thrown by a piece is rethrown here, after
// every claimed piece has finished.
void run_pieces(std::int64_t pieces, PieceFn task, const void* ctx);

// At most this many pieces per call: per-piece overhead stays negligible next to the work.
// Not `inline`: this header is also compiled into the per-ISA kernel objects, which may emit no
// weak symbol outside their own namespace (Note [ISA dispatch] in core/src/kernels/isa.h).
constexpr std::int64_t kMaxPieces = 4096;

}  // namespace detail

/// Calls `body(b, e)` on disjoint contiguous pieces `[b, e)` that cover `[begin, end)`, in
/// parallel when the range holds at least two grains.
///
/// The pieces depend only on (begin, end, grain), never on the thread count or on which thread
/// runs which: floor(n / grain) pieces (at most 4096) of near-equal size, each at least `grain`
/// long. Threads claim pieces as they come free, so a thread the OS deschedules on a busy machine
/// holds up one piece, not a share of the work. Use it where each output element is computed
/// within one call; then the result is bitwise the same at any thread count.
/// \tparam Body callable as `body(std::int64_t b, std::int64_t e)`.
/// \throws any exception `body` throws: body should not throw (check arguments before calling);
///         if it does, the first exception is rethrown here after the other claimed pieces have
///         finished.
template <class Body>
void parallel_for(std::int64_t begin, std::int64_t end, std::int64_t grain, const Body& body) {
  const std::int64_t n = end - begin;
  if (n <= 0) return;
  // Plain comparisons, not std::min/std::max: their out-of-line copies would be weak symbols
  // shared with the per-ISA kernel objects that include this header.
  const std::int64_t whole_grains = n / (grain > 1 ? grain : 1);
  const std::int64_t pieces = whole_grains < detail::kMaxPieces ? whole_grains : detail::kMaxPieces;
  if (pieces <= 1) {
    body(begin, end);
    return;
  }
  struct Context {
    const Body* body;
    std::int64_t begin, n, pieces;
  } ctx{&body, begin, n, pieces};
  detail::run_pieces(
      pieces,
      [](const void* p, std::int64_t i) {
        const auto& c = *static_cast<const Context*>(p);
        (*c.body)(c.begin + c.n * i / c.pieces, c.begin + c.n * (i + 1) / c.pieces);
      },
      &ctx);
}

}  // namespace ember
