// Batch normalization's passes over the data (batch_norm.h), compiled once per instruction set
// (Note [ISA dispatch] in kernels/isa.h).
//
// Note [Batch normalization in double lanes]
// As PyTorch's CPU kernel, batch normalization computes in double: the per-channel sums, and each
// output element (x - mean) scale + offset, rounded once to float. Compiled for the baseline,
// every element was a scalar float-to-double conversion and a few scalar double operations. Here
// the elements go a vector of doubles at a time (8 with AVX-512, 4 with AVX2, 2 with SSE2):
// floats widened on load, narrowed on store, with masked loads and stores at a row's end. Each
// lane does the scalar expression's operations in its order; the AVX2 and AVX-512 builds may
// fuse a multiply and an add, so instruction sets agree to rounding.
//
// Note [Batch statistics in partial sums]
// A channel's sums (forward: of x, then of (x - mean)^2; backward: of g and of g xhat) run over
// its M = N L values. As one running sum they are one chain of dependent additions, a few cycles
// each. So each sum is kept in kParts partial sums, element l of every row going to part
// l mod kParts (rows n in order), and the parts are added at the end in a fixed tree. The parts
// are the lanes of kParts / lanes vectors, so the order is the same for every instruction set,
// and it depends only on N and L, never on the thread count (threads take whole channels): the
// results are bitwise the same on any CPU at any thread count.
#include "kernels/batch_norm.h"
#include "kernels/simd.h"  // first: see the note on GCC 12 there

#include <immintrin.h>

#include <cmath>

#include <ember/core/parallel.h>

#include "kernels/isa.h"

namespace ember::kernels {

EMBER_ISA_VARIANTS(batch_norm_train_forward)
EMBER_ISA_VARIANTS(batch_norm_affine)
EMBER_ISA_VARIANTS(batch_norm_backward_sums)

namespace EMBER_ISA {
namespace {

using Dvec = xsimd::batch<double>;
constexpr std::int64_t kD = static_cast<std::int64_t>(Dvec::size);
constexpr std::int64_t kParts = 8;
static_assert(kParts % kD == 0, "the partial sums must fill whole vectors");
constexpr std::int64_t kPartVecs = kParts / kD;

// The first n floats at p (0 < n <= kD) as doubles, the other lanes 0; reads nothing past p + n.
inline Dvec widen_first(const float* p, std::int64_t n) {
#if XSIMD_WITH_AVX512F
  if (n == kD) return Dvec(_mm512_cvtps_pd(_mm256_loadu_ps(p)));
  return Dvec(_mm512_cvtps_pd(_mm256_maskz_loadu_ps(static_cast<__mmask8>((1u << n) - 1u), p)));
#elif XSIMD_WITH_AVX
  if (n == kD) return Dvec(_mm256_cvtps_pd(_mm_loadu_ps(p)));
  const __m128i mask =
      _mm_cmpgt_epi32(_mm_set1_epi32(static_cast<int>(n)), _mm_set_epi32(3, 2, 1, 0));
  return Dvec(_mm256_cvtps_pd(_mm_maskload_ps(p, mask)));
#else
  if (n == kD)
    return Dvec(
        _mm_cvtps_pd(_mm_castsi128_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)))));
  return Dvec(_mm_cvtps_pd(_mm_load_ss(p)));  // n == 1
#endif
}

// Stores the first n lanes of v (0 < n <= kD) at p, rounded to floats (to nearest, as a cast);
// writes nothing past p + n.
inline void narrow_store_first(float* p, std::int64_t n, Dvec v) {
#if XSIMD_WITH_AVX512F
  if (n == kD) return _mm256_storeu_ps(p, _mm512_cvtpd_ps(v));
  _mm256_mask_storeu_ps(p, static_cast<__mmask8>((1u << n) - 1u), _mm512_cvtpd_ps(v));
#elif XSIMD_WITH_AVX
  if (n == kD) return _mm_storeu_ps(p, _mm256_cvtpd_ps(v));
  const __m128i mask =
      _mm_cmpgt_epi32(_mm_set1_epi32(static_cast<int>(n)), _mm_set_epi32(3, 2, 1, 0));
  _mm_maskstore_ps(p, mask, _mm256_cvtpd_ps(v));
#else
  if (n == kD)
    return _mm_storel_epi64(reinterpret_cast<__m128i*>(p), _mm_castps_si128(_mm_cvtpd_ps(v)));
  _mm_store_ss(p, _mm_cvtpd_ps(v));  // n == 1
#endif
}

// v with the lanes from n on set to 0 (0 < n < kD).
inline Dvec keep_first(Dvec v, std::int64_t n) {
  alignas(64) double lane[kD];
  for (std::int64_t i = 0; i < kD; ++i) lane[i] = static_cast<double>(i);
  return xsimd::select(Dvec::load_aligned(lane) < Dvec(static_cast<double>(n)), v, Dvec(0.0));
}

// The K sums over channel c's values of the terms that term(i, n, t) puts in t[0..K) for the n
// values from flat index i on (the other lanes are discarded), in the order of Note [Batch
// statistics in partial sums]: the parts' vectors take kParts values of a row at a time, then
// its last L mod kParts values.
template <int K, class Term>
void channel_sums(const ChannelShape& s, std::int64_t c, Term term, double* sums) {
  Dvec part[K][kPartVecs];
  for (int k = 0; k < K; ++k)
    for (std::int64_t v = 0; v < kPartVecs; ++v) part[k][v] = Dvec(0.0);
  Dvec t[K];
  for (std::int64_t n = 0; n < s.N; ++n) {
    const std::int64_t row = (n * s.C + c) * s.L;
    std::int64_t l = 0;
    for (; l + kParts <= s.L; l += kParts)
      for (std::int64_t v = 0; v < kPartVecs; ++v) {
        term(row + l + v * kD, kD, t);
        for (int k = 0; k < K; ++k) part[k][v] += t[k];
      }
    for (std::int64_t v = 0; l + v * kD < s.L; ++v) {
      const std::int64_t count = s.L - l - v * kD < kD ? s.L - l - v * kD : kD;
      term(row + l + v * kD, count, t);
      for (int k = 0; k < K; ++k) part[k][v] += count == kD ? t[k] : keep_first(t[k], count);
    }
  }
  for (int k = 0; k < K; ++k) {
    alignas(64) double p[kParts];
    for (std::int64_t v = 0; v < kPartVecs; ++v) part[k][v].store_aligned(p + v * kD);
    sums[k] = ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]));
  }
}

// Calls f(i, n) over rows [r0, r1) of the data, kD values at a time (n of them, fewer at a row's
// end) from flat index i; rows of `stride` rows (1: all rows, C: one channel's rows).
template <class F>
void for_rows(const ChannelShape& s, std::int64_t r0, std::int64_t r1, std::int64_t stride, F f) {
  for (std::int64_t r = r0; r < r1; r += stride) {
    const std::int64_t row = r * s.L;
    std::int64_t l = 0;
    for (; l + kD <= s.L; l += kD) f(row + l, kD);
    if (l < s.L) f(row + l, s.L - l);
  }
}

// Rows of L elements per parallel piece: about 32K elements, and at least one row.
std::int64_t row_grain(std::int64_t L) {
  return L >= (1 << 15) ? 1 : (1 << 15) / (L > 0 ? L : 1);
}

}  // namespace

// Note [Batch normalization by channel]: one channel's statistics, then its output, so that the
// output pass reads x from the core's cache (a LeNet-BN channel is 800 KB) rather than memory,
// where the op's passes had made it bound by memory bandwidth.
void batch_norm_train_forward(const ChannelShape& s, const float* x, const float* weight,
                              const float* bias, double eps, double* mean, double* invstd,
                              double* var_sum, float* y) {
  const auto M = static_cast<double>(s.N * s.L);
  parallel_for(0, s.C, 1, [&](std::int64_t c0, std::int64_t c1) {
    for (std::int64_t c = c0; c < c1; ++c) {
      double sum = 0.0;
      channel_sums<1>(
          s, c, [&](std::int64_t i, std::int64_t n, Dvec* t) { t[0] = widen_first(x + i, n); },
          &sum);
      const double mu = sum / M;
      const Dvec mu_v(mu);
      channel_sums<1>(
          s, c,
          [&](std::int64_t i, std::int64_t n, Dvec* t) {
            const Dvec d = widen_first(x + i, n) - mu_v;
            t[0] = d * d;
          },
          var_sum + c);
      mean[c] = mu;
      invstd[c] = 1.0 / std::sqrt(var_sum[c] / M + eps);
      const Dvec scale(invstd[c] * (weight ? static_cast<double>(weight[c]) : 1.0));
      const Dvec offset(bias ? static_cast<double>(bias[c]) : 0.0);
      for_rows(s, c, s.N * s.C, s.C, [&](std::int64_t i, std::int64_t n) {
        narrow_store_first(y + i, n, (widen_first(x + i, n) - mu_v) * scale + offset);
      });
    }
  });
}

void batch_norm_affine(const ChannelShape& s, const float* x, const double* shift,
                       const double* scale, const double* offset, float* y) {
  parallel_for(0, s.N * s.C, row_grain(s.L), [&](std::int64_t r0, std::int64_t r1) {
    for (std::int64_t r = r0; r < r1; ++r) {
      const std::int64_t c = r % s.C;
      const Dvec sh(shift[c]), sc(scale[c]), of(offset[c]);
      for_rows(s, r, r + 1, 1, [&](std::int64_t i, std::int64_t n) {
        narrow_store_first(y + i, n, (widen_first(x + i, n) - sh) * sc + of);
      });
    }
  });
}

// Note [Batch normalization by channel] too: the input gradient of a channel follows its sums.
void batch_norm_backward_sums(const ChannelShape& s, const float* g, const float* x,
                              const double* mean, const double* invstd, const double* k,
                              double* sum_g, double* sum_g_xhat, float* grad_x) {
  const double inv_m = 1.0 / static_cast<double>(s.N * s.L);
  parallel_for(0, s.C, 1, [&](std::int64_t c0, std::int64_t c1) {
    for (std::int64_t c = c0; c < c1; ++c) {
      const Dvec mu(mean[c]), is(invstd[c]);
      double sums[2];
      channel_sums<2>(
          s, c,
          [&](std::int64_t i, std::int64_t n, Dvec* t) {
            t[0] = widen_first(g + i, n);
            t[1] = t[0] * ((widen_first(x + i, n) - mu) * is);
          },
          sums);
      sum_g[c] = sums[0];
      sum_g_xhat[c] = sums[1];
      if (!grad_x) continue;
      const Dvec kc(k[c]), mg(sums[0] * inv_m), mgx(sums[1] * inv_m);
      for_rows(s, c, s.N * s.C, s.C, [&](std::int64_t i, std::int64_t n) {
        const Dvec xhat = (widen_first(x + i, n) - mu) * is;
        narrow_store_first(grad_x + i, n, kc * ((widen_first(g + i, n) - mg) - xhat * mgx));
      });
    }
  });
}

}  // namespace EMBER_ISA

#if EMBER_ISA_BASELINE
void batch_norm_train_forward(const ChannelShape& s, const float* x, const float* weight,
                              const float* bias, double eps, double* mean, double* invstd,
                              double* var_sum, float* y) {
  EMBER_ISA_CALL(batch_norm_train_forward, s, x, weight, bias, eps, mean, invstd, var_sum, y);
}
void batch_norm_affine(const ChannelShape& s, const float* x, const double* shift,
                       const double* scale, const double* offset, float* y) {
  EMBER_ISA_CALL(batch_norm_affine, s, x, shift, scale, offset, y);
}
void batch_norm_backward_sums(const ChannelShape& s, const float* g, const float* x,
                              const double* mean, const double* invstd, const double* k,
                              double* sum_g, double* sum_g_xhat, float* grad_x) {
  EMBER_ISA_CALL(batch_norm_backward_sums, s, g, x, mean, invstd, k, sum_g, sum_g_xhat, grad_x);
}
#endif

}  // namespace ember::kernels
