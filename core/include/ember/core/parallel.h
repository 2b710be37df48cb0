// The one wrapper over OpenMP that every kernel uses.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstdint>

namespace ember {

// Threads used by ember's kernels (OpenMP's default: the core count, or OMP_NUM_THREADS).
int get_num_threads();
void set_num_threads(int threads);

// Calls body(begin_i, end_i) on disjoint contiguous pieces of [begin, end), in parallel when the
// range holds at least two grains. Use it only where each output element is computed within one
// call, so the result does not depend on the thread count. body must not throw: check arguments
// before calling.
template <class Body>
void parallel_for(std::int64_t begin, std::int64_t end, std::int64_t grain, const Body& body) {
  const std::int64_t n = end - begin;
  if (n <= 0) return;
  const std::int64_t pieces =
      std::min<std::int64_t>(get_num_threads(), n / std::max<std::int64_t>(grain, 1));
  if (pieces <= 1 || omp_in_parallel()) {
    body(begin, end);
    return;
  }
#pragma omp parallel for num_threads(static_cast <int>(pieces)) schedule(static, 1)
  for (std::int64_t piece = 0; piece < pieces; ++piece) {
    body(begin + n * piece / pieces, begin + n * (piece + 1) / pieces);
  }
}

}  // namespace ember
