// The Adam / AdamW update kernel. See adam_kernel.h. Compiled once per instruction set (Note
// [ISA dispatch] in kernels/isa.h).
#include "kernels/adam_kernel.h"

#include "kernels/simd.h"

#include <cmath>

#include <ember/core/parallel.h>

#include "kernels/isa.h"

namespace ember::optim::kernels {

EMBER_ISA_VARIANTS(adam_update)

namespace EMBER_ISA {
namespace {

// Note [Adam operation order]
// PyTorch 1.13's _single_tensor_adam(w) runs, per parameter, one float32 op per line:
//   grad = -grad (maximize);  grad = grad.add(param, alpha=wd) (Adam);  param.mul_(1 - lr*wd)
//   (AdamW);  exp_avg.mul_(beta1).add_(grad, alpha=1-beta1);  exp_avg_sq.mul_(beta2)
//   .addcmul_(grad, grad, value=1-beta2);  torch.maximum(max_exp_avg_sq, exp_avg_sq)
//   (amsgrad);  denom = (v.sqrt() / bias_correction2_sqrt).add_(eps);
//   param.addcdiv_(exp_avg, denom, value=-step_size)
// ATen's addcmul computes `self + value * t1 * t2` ((value * t1) * t2) and addcdiv
// `self + value * t1 / t2` ((value * t1) / t2). We keep every op and its order; sqrt and
// division are correctly rounded in both SIMD and scalar code, so the only difference left is
// whether a compiler fuses a multiply and an add (ATen's add with alpha is an FMA in its AVX2
// build), within one rounding of a term.
//
// T is float or xsimd::batch<float>: the SIMD body and the scalar tail run the same code.
// torch.maximum: nan from either side propagates.
inline float maximum(float a, float b) {
  return std::isnan(a) || std::isnan(b) ? a + b : (a > b ? a : b);
}
inline xsimd::batch<float> maximum(xsimd::batch<float> a, xsimd::batch<float> b) {
  // Not a != a: xsimd's != on AVX is the ordered compare, false for nan.
  return xsimd::select(xsimd::isnan(a) || xsimd::isnan(b), a + b, xsimd::select(a > b, a, b));
}

// sqrt of a float, correctly rounded; the unqualified call below finds xsimd::sqrt for a batch.
inline float sqrt(float x) {
  return std::sqrt(x);
}

template <class T>
inline void update(T& p, T g, T& m, T& v, T* vmax, const AdamScalars& s) {
  T d = s.maximize ? T(-g) : g;
  if (s.weight_decay != 0.0f) d = d + T(s.weight_decay) * p;
  if (s.decay_factor != 1.0f) p = p * T(s.decay_factor);
  m = m * T(s.beta1);
  m = m + T(s.one_minus_beta1) * d;
  v = v * T(s.beta2);
  v = v + (T(s.one_minus_beta2) * d) * d;
  T second = v;
  if (s.amsgrad) {
    *vmax = maximum(*vmax, v);
    second = *vmax;
  }
  T denom = sqrt(second) / T(s.bias_correction2_sqrt);
  denom = denom + T(s.eps);
  p = p + (T(s.neg_step_size) * m) / denom;
}

void update_range(float* p, const float* g, float* m, float* v, float* vmax, std::int64_t begin,
                  std::int64_t end, const AdamScalars& scalars) {
  const AdamScalars s = scalars;  // a local copy: the stores below cannot alias it
  using Vec = xsimd::batch<float>;
  constexpr std::int64_t lanes = static_cast<std::int64_t>(Vec::size);
  std::int64_t i = begin;
  for (; i + lanes <= end; i += lanes) {
    Vec pv = Vec::load_unaligned(p + i);
    Vec mv = Vec::load_unaligned(m + i);
    Vec vv = Vec::load_unaligned(v + i);
    Vec xv = s.amsgrad ? Vec::load_unaligned(vmax + i) : Vec(0.0f);
    update(pv, Vec::load_unaligned(g + i), mv, vv, &xv, s);
    pv.store_unaligned(p + i);
    mv.store_unaligned(m + i);
    vv.store_unaligned(v + i);
    if (s.amsgrad) xv.store_unaligned(vmax + i);
  }
  for (; i < end; ++i) {
    float x = s.amsgrad ? vmax[i] : 0.0f;
    update(p[i], g[i], m[i], v[i], &x, s);
    if (s.amsgrad) vmax[i] = x;
  }
}

}  // namespace

void adam_update(float* p, const float* g, float* exp_avg, float* exp_avg_sq, float* max_exp_avg_sq,
                 std::int64_t n, const AdamScalars& s) {
  constexpr std::int64_t lanes = static_cast<std::int64_t>(xsimd::batch<float>::size);
  const std::int64_t blocks = n / lanes;
  // Threads take whole batches, at least 2^10 of them (Adam reads and writes four arrays where
  // SGD touches three: the pieces are half SGD's); the tail after the last whole batch is done
  // here.
  parallel_for(0, blocks, std::int64_t{1} << 10, [&](std::int64_t b0, std::int64_t b1) {
    update_range(p, g, exp_avg, exp_avg_sq, max_exp_avg_sq, b0 * lanes, b1 * lanes, s);
  });
  update_range(p, g, exp_avg, exp_avg_sq, max_exp_avg_sq, blocks * lanes, n, s);
}

}  // namespace EMBER_ISA

#if EMBER_ISA_BASELINE
// The entry point: the build of this file for the CPU's instruction set.
void adam_update(float* p, const float* g, float* exp_avg, float* exp_avg_sq, float* max_exp_avg_sq,
                 std::int64_t n, const AdamScalars& s) {
  EMBER_ISA_CALL(adam_update, p, g, exp_avg, exp_avg_sq, max_exp_avg_sq, n, s);
}

void adam_update_reference(float* p, const float* g, float* exp_avg, float* exp_avg_sq,
                           float* max_exp_avg_sq, std::int64_t n, const AdamScalars& s) {
  for (std::int64_t i = 0; i < n; ++i) {
    float d = s.maximize ? -g[i] : g[i];
    if (s.weight_decay != 0.0f) d = d + s.weight_decay * p[i];
    if (s.decay_factor != 1.0f) p[i] = p[i] * s.decay_factor;
    exp_avg[i] = exp_avg[i] * s.beta1;
    exp_avg[i] = exp_avg[i] + s.one_minus_beta1 * d;
    exp_avg_sq[i] = exp_avg_sq[i] * s.beta2;
    exp_avg_sq[i] = exp_avg_sq[i] + (s.one_minus_beta2 * d) * d;
    float second = exp_avg_sq[i];
    if (s.amsgrad) {
      const float a = max_exp_avg_sq[i], b = exp_avg_sq[i];
      max_exp_avg_sq[i] = std::isnan(a) || std::isnan(b) ? a + b : (a > b ? a : b);
      second = max_exp_avg_sq[i];
    }
    float denom = std::sqrt(second) / s.bias_correction2_sqrt;
    denom = denom + s.eps;
    p[i] = p[i] + (s.neg_step_size * exp_avg[i]) / denom;
  }
}
#endif

}  // namespace ember::optim::kernels
