// Max pooling's forward (max_pool.h): the 2x2 tiled kernel and the general one, compiled once
// per instruction set (Note [ISA dispatch] in kernels/isa.h), and the scalar reference (baseline
// build only).
//
// Note [Vectorized max pooling]
// Which tap of a window wins depends on the data, so a scalar loop's branch on it mispredicts
// about once per window: that was most of the time of the one loop there used to be (21 ns per
// output at LeNet's first pool, 27x the average pool). Scalar selects do not help: GCC turns
// them back into branches. So the kernels compare kLanes windows at a time, one vector per tap
// holding that tap of each window, with selects keeping the best value and its tap's offset
// from the window's first (int32 lanes), then widened to int64 indices in vector registers.
// - 2x2 windows with stride 2 and no padding (LeNet-style MaxPool2d(2) on 28x28 and 10x10, the
//   pools of VGG and its kin) tile the image: the four taps of kLanes windows are taken apart
//   from two image rows of 2 kLanes floats (deinterleave, as the fused sigmoid and average pool
//   does), with masked loads and stores at a row's end (LeNet's rows of 14 and 5 windows are
//   one AVX-512 vector each). The general kernel below loads each tap's pair of vectors
//   separately (twice the loads) and measured clearly slower on LeNet's pools.
// - Any other geometry: output row by output row (its window rows, clipped to the image, are
//   the same for all its windows), the columns whose windows lie inside the image horizontally
//   go kLanes at a time when stride_w is 1 (a tap's lanes are one load) or 2 (the even elements
//   of two loads: AlexNet's and ResNet's 3x3 stride 2); the windows cut by the left or right
//   padding, and other strides, go through the scalar loop.
// Bitwise the scalar reference (PyTorch's CPU rule): the same rule on the same taps in the same
// order, v replaces the best so far when v > best or v is NaN, starting from -inf at the
// window's first tap inside the image (so the first strict maximum wins, then the last NaN; a
// window of -inf keeps its first tap), and the index is that tap's ih W + iw. The 2x2 kernel
// starts from the first tap's value instead of -inf, which is what the rule gives after it: it
// replaces -inf unless it is -inf itself.
#include "kernels/max_pool.h"
#include "kernels/lanes.h"  // first: see the note on GCC 12 in kernels/simd.h

#include <ember/core/parallel.h>

#include <cmath>
#include <limits>

namespace ember::kernels {

EMBER_ISA_VARIANTS(max_pool2d_2x2)
EMBER_ISA_VARIANTS(max_pool2d_general)

namespace EMBER_ISA {
namespace {

// Output cells per piece of parallel work (whole planes; fixed by the problem size).
constexpr std::int64_t kGrainCells = 16384;

std::int64_t plane_grain(std::int64_t cells_per_plane) {
  return cells_per_plane >= kGrainCells ? 1 : kGrainCells / cells_per_plane;
}

// The rule of Note [Vectorized max pooling] for kLanes windows at once, with selects; `at` holds
// the winning taps' offsets (int32 lanes in float registers: a select copies bits).
inline void keep_max(Vec v, Vec offset, Vec& best, Vec& at) {
  const auto take = (v > best) | xsimd::isnan(v);
  best = xsimd::select(take, v, best);
  at = xsimd::select(take, offset, at);
}

// The even and odd elements of the m <= 2 kLanes floats at p (the other lanes 0), reading
// nothing past p + m.
inline void load_pairs(const float* p, std::int64_t m, Vec& even, Vec& odd) {
  const Vec lo = load_first(p, m < kLanes ? m : kLanes);
  const Vec hi = m > kLanes ? load_first(p + kLanes, m - kLanes) : Vec(0.0f);
  deinterleave(lo, hi, even, odd);
}

// The int32 offset o as the bits of a float's lanes.
inline Vec offset_lanes(std::int64_t o) {
  return xsimd::bitwise_cast<Vec>(xsimd::batch<std::int32_t>(static_cast<std::int32_t>(o)));
}

// indices[j] = base + step j + offset j for j < n, 0 < n <= kLanes, step 1 or 2: the flat
// indices of n windows from their winning taps' offsets (int32 lanes >= 0 in the bits of `at`),
// widened to int64 in vector registers (a scalar loop over the stored offsets was measurably
// slower).
inline void store_indices(std::int64_t* indices, std::int64_t n, std::int64_t base,
                          std::int64_t step, Vec at) {
#if XSIMD_WITH_AVX512F
  const __m512i offset = _mm512_castps_si512(at);
  const __m512i lo = _mm512_add_epi64(
      _mm512_set1_epi64(base),
      _mm512_mullo_epi64(_mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0), _mm512_set1_epi64(step)));
  const __m512i hi = _mm512_add_epi64(lo, _mm512_set1_epi64(8 * step));
  const unsigned mask = (1u << n) - 1u;
  _mm512_mask_storeu_epi64(
      indices, static_cast<__mmask8>(mask),
      _mm512_add_epi64(lo, _mm512_cvtepi32_epi64(_mm512_castsi512_si256(offset))));
  _mm512_mask_storeu_epi64(
      indices + 8, static_cast<__mmask8>(mask >> 8),
      _mm512_add_epi64(hi, _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(offset, 1))));
#elif XSIMD_WITH_AVX2
  const __m256i offset = _mm256_castps_si256(at);
  const __m256i lo =
      _mm256_add_epi64(_mm256_set1_epi64x(base), _mm256_set_epi64x(3 * step, 2 * step, step, 0));
  const __m256i hi = _mm256_add_epi64(lo, _mm256_set1_epi64x(4 * step));
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
  for (std::int64_t j = 0; j < n; ++j) indices[j] = base + step * j + offset[j];
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
    load_pairs(r0 + 2 * ow, 2 * n, t00, t01);
    load_pairs(r0 + W + 2 * ow, 2 * n, t10, t11);
    // The first tap as the best so far (Note [Vectorized max pooling]), at offset kh W + kw = 0.
    Vec best = t00, at = offset_lanes(0);
    keep_max(t01, right, best, at);
    keep_max(t10, below, best, at);
    keep_max(t11, diagonal, best, at);
    store_first(y + ow, n, best);
    store_indices(indices + ow, n, first + 2 * ow, 2, at);
  }
}

// The rows of output row oh's windows: ih0, ih0 + dilation_h, ... below ih_end, skipping the
// padding above (ih0 >= ih_end: none, a window wholly in the padding).
struct WindowRows {
  std::int64_t ih0, ih_end;
};
inline WindowRows window_rows(const PoolShape& s, std::int64_t oh) {
  std::int64_t ih0 = oh * s.stride_h - s.pad_h;
  const std::int64_t end = ih0 + (s.KH - 1) * s.dilation_h + 1;
  while (ih0 < 0) ih0 += s.dilation_h;
  return {ih0, end < s.H ? end : s.H};
}

// Window (oh, ow) tap by tap, as PyTorch's CPU kernel: the first strict maximum wins, and any
// NaN (the last one); the index of a window without a tap above -inf is its first tap's.
inline void window_max(const PoolShape& s, const float* plane, WindowRows r, std::int64_t ow,
                       float* y, std::int64_t* index) {
  std::int64_t iw0 = ow * s.stride_w - s.pad_w;
  const std::int64_t end = iw0 + (s.KW - 1) * s.dilation_w + 1, iw_end = end < s.W ? end : s.W;
  while (iw0 < 0) iw0 += s.dilation_w;
  float best = -std::numeric_limits<float>::infinity();
  std::int64_t at = r.ih0 * s.W + iw0;
  for (std::int64_t ih = r.ih0; ih < r.ih_end; ih += s.dilation_h) {
    for (std::int64_t iw = iw0; iw < iw_end; iw += s.dilation_w) {
      const float v = plane[ih * s.W + iw];
      if (v > best || std::isnan(v)) {
        best = v;
        at = ih * s.W + iw;
      }
    }
  }
  *y = best;
  *index = at;
}

// n <= kLanes windows ow.. of output row oh, stride_w 1 or 2, every tap column inside the image:
// the taps of all n in one vector each, in window order.
void windows_max(const PoolShape& s, const float* plane, WindowRows r, std::int64_t ow,
                 std::int64_t n, float* y, std::int64_t* indices) {
  const std::int64_t iw0 = ow * s.stride_w - s.pad_w;
  Vec best(-std::numeric_limits<float>::infinity()), at = offset_lanes(0);
  for (std::int64_t ih = r.ih0; ih < r.ih_end; ih += s.dilation_h) {
    for (std::int64_t kw = 0; kw < s.KW; ++kw) {
      const float* p = plane + ih * s.W + iw0 + kw * s.dilation_w;
      Vec v, odd;
      if (s.stride_w == 1)
        v = load_first(p, n);
      else
        load_pairs(p, 2 * n - 1, v, odd);  // lane j: p[2 j]
      keep_max(v, offset_lanes((ih - r.ih0) * s.W + kw * s.dilation_w), best, at);
    }
  }
  store_first(y, n, best);
  store_indices(indices, n, r.ih0 * s.W + iw0, s.stride_w, at);
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

void max_pool2d_general(const PoolShape& s, const float* x, float* y, std::int64_t* indices) {
  const std::int64_t HW = s.H * s.W, OHW = s.OH * s.OW;
  // Output columns [lo, hi) have every tap column inside the image (no padding left or right).
  const std::int64_t lo = (s.pad_w + s.stride_w - 1) / s.stride_w;
  const std::int64_t last = s.W - 1 + s.pad_w - (s.KW - 1) * s.dilation_w;  // hi's numerator
  std::int64_t hi = last < 0 ? 0 : last / s.stride_w + 1;
  hi = hi < s.OW ? hi : s.OW;
  // Vectors for the strides the loads take, when the taps' offsets fit the int32 lanes.
  const bool vector = (s.stride_w == 1 || s.stride_w == 2) && lo < hi &&
                      s.KH * s.dilation_h < (std::int64_t{1} << 30) / s.W;
  parallel_for(0, s.P, plane_grain(OHW), [&](std::int64_t p0, std::int64_t p1) {
    for (std::int64_t p = p0; p < p1; ++p) {
      const float* plane = x + p * HW;
      for (std::int64_t oh = 0; oh < s.OH; ++oh) {
        const WindowRows r = window_rows(s, oh);
        float* yr = y + p * OHW + oh * s.OW;
        std::int64_t* ir = indices + p * OHW + oh * s.OW;
        std::int64_t ow = 0;
        if (vector && r.ih0 < r.ih_end) {
          for (; ow < lo; ++ow) window_max(s, plane, r, ow, yr + ow, ir + ow);
          for (; ow < hi; ow += kLanes) {
            const std::int64_t n = hi - ow < kLanes ? hi - ow : kLanes;
            windows_max(s, plane, r, ow, n, yr + ow, ir + ow);
          }
          ow = hi;
        }
        for (; ow < s.OW; ++ow) window_max(s, plane, r, ow, yr + ow, ir + ow);
      }
    }
  });
}

}  // namespace EMBER_ISA

#if EMBER_ISA_BASELINE
void max_pool2d_2x2(const PoolShape& s, const float* x, float* y, std::int64_t* indices) {
  EMBER_ISA_CALL(max_pool2d_2x2, s, x, y, indices);
}
void max_pool2d_general(const PoolShape& s, const float* x, float* y, std::int64_t* indices) {
  EMBER_ISA_CALL(max_pool2d_general, s, x, y, indices);
}

void max_pool2d_reference(const PoolShape& s, const float* x, float* y, std::int64_t* indices) {
  const std::int64_t HW = s.H * s.W, OHW = s.OH * s.OW;
  for (std::int64_t p = 0; p < s.P; ++p)
    for (std::int64_t oh = 0; oh < s.OH; ++oh)
      for (std::int64_t ow = 0; ow < s.OW; ++ow)
        EMBER_ISA::window_max(s, x + p * HW, EMBER_ISA::window_rows(s, oh), ow,
                              y + p * OHW + oh * s.OW + ow, indices + p * OHW + oh * s.OW + ow);
}
#endif

}  // namespace ember::kernels
