// Vectorized exp, sigmoid, tanh and log1p over xsimd batches, accurate to a few ULP over every
// finite float32 (subnormal results included). Private to nn/src (xsimd never appears in a
// public header). Included by the kernel files, which are compiled once per instruction set: so
// everything here lives in that build's namespace (Note [ISA dispatch] in kernels/isa.h).
#pragma once

#include "kernels/lanes.h"  // first: see the note on GCC 12 in kernels/simd.h

#include <cstdint>

#include "kernels/isa.h"

namespace ember::nn::kernels::EMBER_ISA {

// The vector, its tail loads and stores and the 2x2-window deinterleave, shared with core's
// kernels (core/src/kernels/lanes.h).
using ::ember::kernels::EMBER_ISA::deinterleave;
using ::ember::kernels::EMBER_ISA::kLanes;
using ::ember::kernels::EMBER_ISA::load_first;
using ::ember::kernels::EMBER_ISA::load_tail;
using ::ember::kernels::EMBER_ISA::store_first;
using ::ember::kernels::EMBER_ISA::store_tail;
using ::ember::kernels::EMBER_ISA::Vec;
using VecInt = xsimd::batch<std::int32_t>;

// Note [exp over the whole float range]
// exp(x) = 2^k * exp(r) with k = round(x / ln2) and r = x - k*ln2 in [-ln2/2, ln2/2], where
// k*ln2 is subtracted in two pieces (Cody-Waite; the high piece has 9 significant bits, so
// k*ln2_hi is exact). exp(r) is Cephes' degree-6 polynomial (< 1 ULP). The 2^k scaling is done
// in two exact-then-rounding steps 2^(k - k/2) * 2^(k/2), so that results below FLT_MIN come out
// as correctly rounded subnormals instead of being flushed to zero (exp(-100) = 3.7e-44), and
// results above FLT_MAX become +inf. x is clamped to [-110, 90] first, which changes nothing
// (exp(-110) rounds to 0, exp(90) to inf), and NaN is passed through at the end.
// vexp_clamped is that for x already in [-110, 90], or NaN, which every step keeps: its callers
// clamp as they need (vsigmoid's arguments are never positive).
inline Vec vexp_clamped(Vec xc) {
#if XSIMD_WITH_AVX512F
  // AVX-512: vscalefps does the 2^k scaling in one instruction, with the same single rounding
  // into the subnormal range and overflow to inf as the two-step version below.
  const Vec kf = xsimd::nearbyint(xc * Vec(1.44269504088896341f));
#else
  const VecInt k = xsimd::nearbyint_as_int(xc * Vec(1.44269504088896341f));
  const Vec kf = xsimd::to_float(k);
#endif
  Vec r = xsimd::fnma(kf, Vec(0.693359375f), xc);
  r = xsimd::fnma(kf, Vec(-2.12194440e-4f), r);
  Vec p = Vec(1.9875691500e-4f);
  p = xsimd::fma(p, r, Vec(1.3981999507e-3f));
  p = xsimd::fma(p, r, Vec(8.3334519073e-3f));
  p = xsimd::fma(p, r, Vec(4.1665795894e-2f));
  p = xsimd::fma(p, r, Vec(1.6666665459e-1f));
  p = xsimd::fma(p, r, Vec(5.0000001201e-1f));
  p = xsimd::fma(p, r * r, r) + Vec(1.0f);
#if XSIMD_WITH_AVX512F
  return _mm512_scalef_ps(p, kf);
#else
  const VecInt k1 = k >> 1;
  const VecInt k2 = k - k1;
  const Vec s1 = xsimd::bitwise_cast<Vec>((k1 + VecInt(127)) << 23);
  const Vec s2 = xsimd::bitwise_cast<Vec>((k2 + VecInt(127)) << 23);
  return (p * s1) * s2;
#endif
}
inline Vec vexp(Vec x) {
  const Vec xc = xsimd::min(xsimd::max(x, Vec(-110.0f)), Vec(90.0f));
  return xsimd::select(xsimd::isnan(x), x, vexp_clamped(xc));
}

// sigmoid(x) = 1 / (1 + e^-x), written with e = exp(-|x|) <= 1 so that nothing overflows:
// x >= 0: 1 / (1 + e);  x < 0: e / (1 + e) (keeps sigmoid(-100) = 3.7e-44 instead of 0).
// -|x| is x with its sign bit set, and only vexp's lower clamp applies. maxps returns its second
// operand when either is NaN, so a NaN x passes through exp and the select keeps it (x >= 0 is
// false): 20 instructions a vector against 24 through vexp, whose clamps and NaN select give the
// same values here (sigmoid/fwd/64x32000 at 1 thread on Zen 4, median of 5 alternating rounds:
// 0.674 -> 0.602 ms, bench/results/lenet_kernels_zen4).
inline Vec vsigmoid(Vec x) {
  const Vec e = vexp_clamped(xsimd::max(Vec(-110.0f), x | Vec(-0.0f)));
  const Vec num = xsimd::select(x >= Vec(0.0f), Vec(1.0f), e);
  return num / (Vec(1.0f) + e);
}

// tanh on |x| with the sign put back (so tanh(-0) = -0):
// |x| < 0.625: Cephes' odd polynomial |x| + |x|^3 P(x^2);
// else (e - 1) / (e + 1) with e = exp(2 min(|x|, 10)) (tanh(10) rounds to 1). This form keeps the
// error near 0.625 at ~2 ULP, where 1 - 2/(e + 1) would reach ~4.
inline Vec vtanh(Vec x) {
  const Vec ax = xsimd::abs(x);
  const Vec x2 = ax * ax;
  Vec p = Vec(-5.70498872745e-3f);
  p = xsimd::fma(p, x2, Vec(2.06390887954e-2f));
  p = xsimd::fma(p, x2, Vec(-5.37397155531e-2f));
  p = xsimd::fma(p, x2, Vec(1.33314422036e-1f));
  p = xsimd::fma(p, x2, Vec(-3.33332819422e-1f));
  const Vec small = xsimd::fma(p * x2, ax, ax);
  const Vec e = vexp(Vec(2.0f) * xsimd::min(ax, Vec(10.0f)));
  const Vec large = (e - Vec(1.0f)) / (e + Vec(1.0f));
  const Vec t = xsimd::select(ax < Vec(0.625f), small, large);
  const Vec signed_t = t | (x & Vec(-0.0f));
  return xsimd::select(xsimd::isnan(x), x, signed_t);
}

// log(1 + u) for u in [0, 1] (what logsigmoid and softplus need; NaN passes through).
// w = 1 + u rounds, so log1p(u) = log(w) + (u - (w - 1)) / w. log(w) for w in [1, 2]: halve w
// above sqrt(2) (e = 1) so that f = m - 1 lies in [-0.29, 0.42] (exact by Sterbenz), then
// Cephes' logf: log(1 + f) = f - f^2/2 + f^3 P(f), plus e ln2 in two pieces (< 1 ULP).
inline Vec vlog1p(Vec u) {
  const Vec w = Vec(1.0f) + u;
  const Vec c = (u - (w - Vec(1.0f))) / w;
  const auto big = w > Vec(1.41421356f);
  const Vec e = xsimd::select(big, Vec(1.0f), Vec(0.0f));
  const Vec f = xsimd::select(big, w * Vec(0.5f), w) - Vec(1.0f);
  const Vec z = f * f;
  Vec p = Vec(7.0376836292e-2f);
  p = xsimd::fma(p, f, Vec(-1.1514610310e-1f));
  p = xsimd::fma(p, f, Vec(1.1676998740e-1f));
  p = xsimd::fma(p, f, Vec(-1.2420140846e-1f));
  p = xsimd::fma(p, f, Vec(1.4249322787e-1f));
  p = xsimd::fma(p, f, Vec(-1.6668057665e-1f));
  p = xsimd::fma(p, f, Vec(2.0000714765e-1f));
  p = xsimd::fma(p, f, Vec(-2.4999993993e-1f));
  p = xsimd::fma(p, f, Vec(3.3333331174e-1f));
  Vec y = f * z * p;
  y = xsimd::fma(e, Vec(-2.12194440e-4f), y + c);
  y = xsimd::fnma(Vec(0.5f), z, y);
  return xsimd::fma(e, Vec(0.693359375f), f + y);
}

// Scalar versions through one SIMD lane each, so that a scalar tail gives bit-identical results
// to the vector body (results never depend on where a thread's range starts).
inline float sexp(float x) {
  return vexp(Vec(x)).get(0);
}
inline float ssigmoid(float x) {
  return vsigmoid(Vec(x)).get(0);
}
inline float stanh(float x) {
  return vtanh(Vec(x)).get(0);
}

// Note [blocked sums]: a long row summed into one accumulator per lane adds ~K/16 terms one by
// one, and float32 rounding error grows with that count (visible at K = 32000). Each lane sums
// 32 terms into `partial`, which is then added to `total`: the error grows with K/512 instead,
// for one predictable branch per add. The order is fixed, so results stay deterministic.
struct BlockedSum {
  Vec partial = Vec(0.0f);
  Vec total = Vec(0.0f);
  int count = 0;
  void add(Vec v) {
    partial += v;
    bump();
  }
  void add(Vec a, Vec b) {  // a * b
    partial = xsimd::fma(a, b, partial);
    bump();
  }
  void bump() {
    if (++count == 32) {
      total += partial;
      partial = Vec(0.0f);
      count = 0;
    }
  }
  Vec result() const { return total + partial; }
};

// Horizontal reductions in a fixed lane order (deterministic).
inline float hmax(Vec v) {
  alignas(64) float buf[Vec::size];
  v.store_aligned(buf);
  float m = buf[0];
  for (std::int64_t i = 1; i < kLanes; ++i) m = buf[i] > m ? buf[i] : m;
  return m;
}
inline float hsum(Vec v) {
  alignas(64) float buf[Vec::size];
  v.store_aligned(buf);
  float s = 0.0f;
  for (std::int64_t i = 0; i < kLanes; ++i) s += buf[i];
  return s;
}

}  // namespace ember::nn::kernels::EMBER_ISA
