// The float vector of a kernel build, loads and stores of a row's first n floats, and the
// deinterleave that takes 2x2 windows apart: shared by the kernels of core (max pooling, the
// convolutions through conv_support.h) and nn (nn_math.h, the fused sigmoid and average pooling).
// Compiled into each kernel file's per-instruction-set build, so everything is in that build's
// namespace (Note [ISA dispatch] in kernels/isa.h).
#pragma once

#include "kernels/simd.h"  // first: see the note on GCC 12 there

#include <immintrin.h>

#include <cstdint>

#include "kernels/isa.h"

namespace ember::kernels::EMBER_ISA {

using Vec = xsimd::batch<float>;
inline constexpr std::int64_t kLanes = static_cast<std::int64_t>(Vec::size);

// Loads/stores of the last n < kLanes elements through a padded buffer.
inline Vec load_tail(const float* p, std::int64_t n, float pad) {
  alignas(64) float buf[Vec::size];
  for (std::int64_t i = 0; i < kLanes; ++i) buf[i] = i < n ? p[i] : pad;
  return Vec::load_aligned(buf);
}
inline void store_tail(float* p, std::int64_t n, Vec v) {
  alignas(64) float buf[Vec::size];
  v.store_aligned(buf);
  for (std::int64_t i = 0; i < n; ++i) p[i] = buf[i];
}

// Stores the first n lanes of v at p, 0 < n <= V::size, touching nothing past p + n: a masked
// store where the instruction set has one. V is this build's Vec or a narrower vector (the
// convolutions' HalfBatch, conv_support.h).
template <class V>
inline void store_first(float* p, std::int64_t n, V v) {
  constexpr std::int64_t B = static_cast<std::int64_t>(V::size);
  if (n == B) {
    v.store_unaligned(p);
    return;
  }
#if XSIMD_WITH_AVX512F
  if constexpr (B == 16) {
    _mm512_mask_storeu_ps(p, static_cast<__mmask16>((1u << n) - 1u), v);
    return;
  } else if constexpr (B == 8) {
    _mm256_mask_storeu_ps(p, static_cast<__mmask8>((1u << n) - 1u), v);
    return;
  }
#elif XSIMD_WITH_AVX2
  if constexpr (B == 8) {
    const __m256i lane = _mm256_set_epi32(7, 6, 5, 4, 3, 2, 1, 0);
    _mm256_maskstore_ps(p, _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), lane), v);
    return;
  }
#endif
  alignas(64) float buf[V::size];
  v.store_aligned(buf);
  for (std::int64_t i = 0; i < n; ++i) p[i] = buf[i];
}

// The first n floats at p, 0 < n <= kLanes, the other lanes 0, reading nothing past p + n.
inline Vec load_first(const float* p, std::int64_t n) {
  if (n == kLanes) return Vec::load_unaligned(p);
#if XSIMD_WITH_AVX512F
  return Vec(_mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << n) - 1u), p));
#elif XSIMD_WITH_AVX2
  const __m256i lane = _mm256_set_epi32(7, 6, 5, 4, 3, 2, 1, 0);
  return Vec(
      _mm256_maskload_ps(p, _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), lane)));
#else
  return load_tail(p, n, 0.0f);
#endif
}

// The even and odd elements of the 2 kLanes floats a then b: a0 a2 .. b0 b2 .. and a1 a3 ..
// (the left and right columns of kLanes 2-wide windows).
inline void deinterleave(Vec a, Vec b, Vec& even, Vec& odd) {
#if XSIMD_WITH_AVX512F
  const __m512i ie = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
  const __m512i io = _mm512_add_epi32(ie, _mm512_set1_epi32(1));
  even = Vec(_mm512_permutex2var_ps(a, ie, b));
  odd = Vec(_mm512_permutex2var_ps(a, io, b));
#elif XSIMD_WITH_AVX2
  // Within each 128-bit half: a0 a2 b0 b2 | a4 a6 b4 b6; then the 64-bit quarters 0 2 1 3.
  const __m256 e = _mm256_shuffle_ps(a, b, 0x88), o = _mm256_shuffle_ps(a, b, 0xDD);
  even = Vec(_mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e), 0xD8)));
  odd = Vec(_mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(o), 0xD8)));
#else
  static_assert(Vec::size == 4, "deinterleave: an instruction set without a deinterleave");
  even = Vec(_mm_shuffle_ps(a, b, 0x88));
  odd = Vec(_mm_shuffle_ps(a, b, 0xDD));
#endif
}

}  // namespace ember::kernels::EMBER_ISA
