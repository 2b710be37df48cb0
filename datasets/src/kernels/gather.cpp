// The DataLoader's gather: compiled once per instruction set (Note [ISA dispatch] in
// kernels/isa.h), for the width the compiler vectorizes to.
#include "kernels/gather.h"

#include <cmath>

#include <ember/core/parallel.h>

#include "kernels/isa.h"

namespace ember::datasets::kernels {

EMBER_ISA_VARIANTS(gather_scale)

namespace EMBER_ISA {

// Note [uint8 -> float without xsimd]: xsimd 8.1 has no uint8 -> float widening; its converting
// load (batch<float>::load_unaligned(const uint8_t*)) goes element by element through a buffer
// and measured 2.8x slower than the plain loop below, which GCC and Clang vectorize at -O3
// (vpmovzxbd, vcvtdq2ps, FMAs) for whatever SIMD width the build targets.
// Note [Exact x / 255]: torchvision's ToTensor divides by 255, and x * (1/255) differs from that
// in the last bit for 126 of the 256 bytes. Division is slow (a vdivps per 16 pixels dominated the
// softmax-regression epoch), so we multiply and then correct once, as in Markstein's division:
// q = x r, e = x - 255 q (exact, by FMA), q' = q + e r. For every byte q' equals x / 255.0f
// exactly; test_dataloader checks all 256 against the division. Without FMA instructions
// (the SSE2 build) std::fma is a slow library call, and the division itself is faster there.
namespace {
inline void scale_row(const std::uint8_t* __restrict src, std::int64_t n, float* __restrict dst) {
#if defined(__FMA__)
  constexpr float r = 1.0f / 255.0f;
  for (std::int64_t j = 0; j < n; ++j) {
    const float x = static_cast<float>(src[j]);
    const float q = x * r;
    dst[j] = std::fma(std::fma(-q, 255.0f, x), r, q);
  }
#else
  for (std::int64_t j = 0; j < n; ++j) dst[j] = static_cast<float>(src[j]) / 255.0f;
#endif
}
}  // namespace

void gather_scale(const std::uint8_t* images, std::int64_t row_size, const std::int64_t* index,
                  std::int64_t count, float* out) {
  // Rows are split over the threads in contiguous pieces, as parallel_for splits the rows of
  // Linear's forward product: each core then multiplies the rows it gathered, from its own cache
  // (the softmax-regression epoch at 2 threads went from 40 to 28 ms with this split).
  // Shuffled rows sit at random places in the dataset, where the hardware prefetcher cannot
  // guess them: while converting a row, ask for the row kAhead further on, one cache line per
  // 64 pixels converted. Spreading the requests this way keeps the core's few line-fill buffers
  // from filling up (a burst of a whole row's prefetches stalled the loop: 12% slower).
  // A piece is at least 32 rows (25 KB of pixels, about 10 us of work on one core): a batch of
  // 64 is then shared by two threads instead of gathered on one (at 64 rows a piece, the
  // gather was a quarter of what did not scale in the MLP epoch at batch 64: perf, 1 thread).
  constexpr std::int64_t kMinRowsPerThread = 32;
  constexpr std::int64_t kAhead = 4;
  constexpr std::int64_t kLine = 64;
  parallel_for(0, count, kMinRowsPerThread, [&](std::int64_t b0, std::int64_t b1) {
    for (std::int64_t b = b0; b < b1; ++b) {
      const std::uint8_t* row = images + index[b] * row_size;
      const std::uint8_t* ahead = b + kAhead < b1 ? images + index[b + kAhead] * row_size : nullptr;
      float* dst = out + b * row_size;
      std::int64_t j = 0;
      for (; j + kLine <= row_size; j += kLine) {
        if (ahead != nullptr) __builtin_prefetch(ahead + j);
        scale_row(row + j, kLine, dst + j);
      }
      // The last, partial line of this row, and the line the next row ends in (rows need not
      // start on a line boundary).
      if (ahead != nullptr) {
        __builtin_prefetch(ahead + j);
        __builtin_prefetch(ahead + row_size - 1);
      }
      scale_row(row + j, row_size - j, dst + j);
    }
  });
}

}  // namespace EMBER_ISA

#if EMBER_ISA_BASELINE
// The entry point: the build of this file for the CPU's instruction set.
void gather_scale(const std::uint8_t* images, std::int64_t row_size, const std::int64_t* index,
                  std::int64_t count, float* out) {
  EMBER_ISA_CALL(gather_scale, images, row_size, index, count, out);
}

void gather_scale_reference(const std::uint8_t* images, std::int64_t row_size,
                            const std::int64_t* index, std::int64_t count, float* out) {
  for (std::int64_t b = 0; b < count; ++b) {
    for (std::int64_t j = 0; j < row_size; ++j) {
      out[b * row_size + j] = static_cast<float>(images[index[b] * row_size + j]) / 255.0f;
    }
  }
}
#endif

}  // namespace ember::datasets::kernels
