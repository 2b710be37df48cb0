// Max pooling's forward (max_pool.h): the 2x2 tiled kernel, compiled once per instruction set
// (Note [ISA dispatch] in kernels/isa.h), and the loop for any geometry (baseline build only).
//
// Note [Tiled max pooling]
// 2x2 windows with stride 2 and no padding tile the image (LeNet-style MaxPool2d(2) on 28x28 and
// 10x10, the pools of VGG and its kin); the general loop spends most of its time on the
// comparison: which tap of a window wins depends on the data, so its branch mispredicts about
// once per window (21 ns per output at LeNet's first pool, 27x the average pool). The kernel
// compares without branches, kLanes windows at a time: their four taps, in row-major order, are
// taken apart from two image rows of 2 kLanes floats (deinterleave, as the fused sigmoid and
// average pool does; masked loads and stores at a row's end, so LeNet's rows of 14 and 5
// windows are one AVX-512 vector each), and a select keeps the best value and its tap's offset
// kh W + kw. The int64 indices are widened from those offsets in vector registers too.
// Bitwise the general loop's results: the same rule on the taps in the same order, v replaces
// the best so far when v > best or v is NaN, starting from -inf at the window's first tap (so
// the first strict maximum wins, then the last NaN; a window of -inf keeps its first tap), and
// the index is that tap's ih W + iw. The kernel starts from the first tap's value instead of
// -inf, which is what the rule gives after it: it replaces -inf unless it is -inf itself.
// Other kernel sizes run the general loop: the same selects on scalars measured no faster there,
// as GCC turns them back into branches.
#include "kernels/max_pool.h"
#include "kernels/lanes.h"  // first: see the note on GCC 12 in kernels/simd.h

#include <ember/core/parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace ember::kernels {

EMBER_ISA_VARIANTS(max_pool2d_2x2)

namespace EMBER_ISA {
namespace {

// Output cells per piece of parallel work (whole planes; fixed by the problem size).
constexpr std::int64_t kGrainCells = 16384;

std::int64_t plane_grain(std::int64_t cells_per_plane) {
  return cells_per_plane >= kGrainCells ? 1 : kGrainCells / cells_per_plane;
}

// The rule of Note [Tiled max pooling] for kLanes windows at once, with selects; `at` holds the
// winning taps' offsets (int32 lanes in float registers: a select copies bits).
inline void keep_max(Vec v, Vec offset, Vec& best, Vec& at) {
  const auto take = (v > best) | xsimd::isnan(v);
  best = xsimd::select(take, v, best);
  at = xsimd::select(take, offset, at);
}

// The left and right columns of n <= kLanes 2-wide windows starting at p (2 n floats).
inline void load_windows(const float* p, std::int64_t n, Vec& left, Vec& right) {
  const std::int64_t m = 2 * n;
  const Vec lo = load_first(p, m < kLanes ? m : kLanes);
  const Vec hi = m > kLanes ? load_first(p + kLanes, m - kLanes) : Vec(0.0f);
  deinterleave(lo, hi, left, right);
}

// The int32 offset o as the bits of a float's lanes.
inline Vec offset_lanes(std::int64_t o) {
  return xsimd::bitwise_cast<Vec>(xsimd::batch<std::int32_t>(static_cast<std::int32_t>(o)));
}

// indices[j] = base + 2 j + offset j for j < n, 0 < n <= kLanes: the flat indices of n 2-wide
// windows from their winning taps' offsets (int32 lanes >= 0 in the bits of `at`), widened to
// int64 in vector registers (a loop over the stored offsets added a third to the kernel's time).
inline void store_indices(std::int64_t* indices, std::int64_t n, std::int64_t base, Vec at) {
#if XSIMD_WITH_AVX512F
  const __m512i offset = _mm512_castps_si512(at);
  const __m512i lo =
      _mm512_add_epi64(_mm512_set1_epi64(base), _mm512_set_epi64(14, 12, 10, 8, 6, 4, 2, 0));
  const __m512i hi = _mm512_add_epi64(lo, _mm512_set1_epi64(16));
  const unsigned mask = (1u << n) - 1u;
  _mm512_mask_storeu_epi64(
      indices, static_cast<__mmask8>(mask),
      _mm512_add_epi64(lo, _mm512_cvtepi32_epi64(_mm512_castsi512_si256(offset))));
  _mm512_mask_storeu_epi64(
      indices + 8, static_cast<__mmask8>(mask >> 8),
      _mm512_add_epi64(hi, _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(offset, 1))));
#elif XSIMD_WITH_AVX2
  const __m256i offset = _mm256_castps_si256(at);
  const __m256i lo = _mm256_add_epi64(_mm256_set1_epi64x(base), _mm256_set_epi64x(6, 4, 2, 0));
  const __m256i hi = _mm256_add_epi64(lo, _mm256_set1_epi64x(8));
  const __m256i lane = _mm256_set_epi64x(3, 2, 1, 0);
  auto* p = reinterpret_cast<long long*>(indices);
  _mm256_maskstore_epi64(
      p, _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), lane),
      _mm256_add_epi64(lo, _mm256_cvtepi32_epi64(_mm256_castsi256_si128(offset))));
  _mm256_maskstore_epi64(
      p + 4, _mm256_cmpgt_epi64(_mm256_set1_epi64x(n - 4), lane),
      _mm256_add_epi64(hi, _mm256_cvtepi32_epi64(_mm256_extracti128_si256(offset, 1))));
#else
  alignas(16) std::int32_t offset[Vec::size];
  xsimd::bitwise_cast<xsimd::batch<std::int32_t> >(at).store_aligned(offset);
  for (std::int64_t j = 0; j < n; ++j) indices[j] = base + 2 * j + offset[j];
#endif
}

// One row of OW 2x2 windows over image rows r0 and r0 + W (W < 2^30), r0 the plane's element
// `first`.
void tiled_row_2x2(const float* r0, std::int64_t W, std::int64_t OW, std::int64_t first, float* y,
                   std::int64_t* indices) {
  const Vec right = offset_lanes(1), below = offset_lanes(W), diagonal = offset_lanes(W + 1);
  for (std::int64_t ow = 0; ow < OW; ow += kLanes) {
    const std::int64_t n = OW - ow < kLanes ? OW - ow : kLanes;
    Vec t00, t01, t10, t11;  // the taps (kh, kw) of n windows
    load_windows(r0 + 2 * ow, n, t00, t01);
    load_windows(r0 + W + 2 * ow, n, t10, t11);
    // The first tap as the best so far (Note [Tiled max pooling]), at offset kh W + kw = 0.
    Vec best = t00, at = offset_lanes(0);
    keep_max(t01, right, best, at);
    keep_max(t10, below, best, at);
    keep_max(t11, diagonal, best, at);
    store_first(y + ow, n, best);
    store_indices(indices + ow, n, first + 2 * ow, at);
  }
}

}  // namespace

void max_pool2d_2x2(const PoolShape& s, const float* x, float* y, std::int64_t* indices) {
  const std::int64_t HW = s.H * s.W, OHW = s.OH * s.OW;
  parallel_for(0, s.P, plane_grain(OHW), [&](std::int64_t p0, std::int64_t p1) {
    for (std::int64_t p = p0; p < p1; ++p)
      for (std::int64_t oh = 0; oh < s.OH; ++oh)
        tiled_row_2x2(x + p * HW + 2 * oh * s.W, s.W, s.OW, 2 * oh * s.W, y + p * OHW + oh * s.OW,
                      indices + p * OHW + oh * s.OW);
  });
}

}  // namespace EMBER_ISA

#if EMBER_ISA_BASELINE
void max_pool2d_2x2(const PoolShape& s, const float* x, float* y, std::int64_t* indices) {
  EMBER_ISA_CALL(max_pool2d_2x2, s, x, y, indices);
}

void max_pool2d_general(const PoolShape& s, const float* x, float* y, std::int64_t* indices) {
  const std::int64_t HW = s.H * s.W, OHW = s.OH * s.OW;
  parallel_for(0, s.P, EMBER_ISA::plane_grain(OHW), [&](std::int64_t p0, std::int64_t p1) {
    for (std::int64_t p = p0; p < p1; ++p) {
      const float* plane = x + p * HW;
      for (std::int64_t oh = 0; oh < s.OH; ++oh) {
        // The window's rows: ih0, ih0 + d, ... below ih_end, skipping the padding above.
        std::int64_t ih0 = oh * s.stride_h - s.pad_h;
        const std::int64_t ih_end = std::min(ih0 + (s.KH - 1) * s.dilation_h + 1, s.H);
        while (ih0 < 0) ih0 += s.dilation_h;
        for (std::int64_t ow = 0; ow < s.OW; ++ow) {
          std::int64_t iw0 = ow * s.stride_w - s.pad_w;
          const std::int64_t iw_end = std::min(iw0 + (s.KW - 1) * s.dilation_w + 1, s.W);
          while (iw0 < 0) iw0 += s.dilation_w;
          // As PyTorch's CPU kernel: the first strict maximum wins, and any nan (the last one).
          float best = -std::numeric_limits<float>::infinity();
          std::int64_t at = ih0 * s.W + iw0;
          for (std::int64_t ih = ih0; ih < ih_end; ih += s.dilation_h) {
            for (std::int64_t iw = iw0; iw < iw_end; iw += s.dilation_w) {
              const float v = plane[ih * s.W + iw];
              if (v > best || std::isnan(v)) {
                best = v;
                at = ih * s.W + iw;
              }
            }
          }
          y[p * OHW + oh * s.OW + ow] = best;
          indices[p * OHW + oh * s.OW + ow] = at;
        }
      }
    }
  });
}
#endif

}  // namespace ember::kernels
