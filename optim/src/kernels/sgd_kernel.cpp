// The SGD update kernel. See sgd_kernel.h. Compiled once per instruction set (Note [ISA
// dispatch] in kernels/isa.h).
#include "kernels/sgd_kernel.h"

#include "kernels/simd.h"

#include <ember/core/parallel.h>

#include "kernels/isa.h"

namespace ember::optim::kernels {

EMBER_ISA_VARIANTS(sgd_update)

namespace EMBER_ISA {
namespace {

// One element or one batch: T is float or xsimd::batch<float>. Written once so the SIMD body
// and the scalar tail run the same operations in the same order (Note [SGD operation order]).
//
// Note [SGD operation order]: PyTorch computes d_p.add(param, alpha=wd), buf.mul_(momentum)
// then buf.add_(d_p, alpha=1-dampening), d_p.add(buf, alpha=momentum), param.add_(d_p,
// alpha=-lr): each a separately rounded float op. We keep that order; the only difference left
// is whether the compiler fuses a multiply and an add, which is within one rounding.
template <class T>
inline void update(T& p, T g, T* buf, const SgdScalars& s) {
  T d = s.maximize ? T(-g) : g;
  if (s.weight_decay != 0.0f) d = d + T(s.weight_decay) * p;
  if (s.momentum != 0.0f) {
    T b = s.first_step ? d : (*buf) * T(s.momentum) + T(s.one_minus_dampening) * d;
    *buf = b;
    d = s.nesterov ? d + T(s.momentum) * b : b;
  }
  p = p + T(-s.lr) * d;
}

void update_range(float* p, const float* g, float* buf, std::int64_t begin, std::int64_t end,
                  const SgdScalars& scalars) {
  const SgdScalars s = scalars;  // a local copy: the stores below cannot alias it
  using Vec = xsimd::batch<float>;
  constexpr std::int64_t lanes = static_cast<std::int64_t>(Vec::size);
  const bool has_buf = s.momentum != 0.0f;
  std::int64_t i = begin;
  for (; i + lanes <= end; i += lanes) {
    Vec pv = Vec::load_unaligned(p + i);
    Vec bv = has_buf && !s.first_step ? Vec::load_unaligned(buf + i) : Vec(0.0f);
    update(pv, Vec::load_unaligned(g + i), &bv, s);
    pv.store_unaligned(p + i);
    if (has_buf) bv.store_unaligned(buf + i);
  }
  for (; i < end; ++i) {
    float b = has_buf && !s.first_step ? buf[i] : 0.0f;
    update(p[i], g[i], &b, s);
    if (has_buf) buf[i] = b;
  }
}

}  // namespace

void sgd_update(float* p, const float* g, float* buf, std::int64_t n, const SgdScalars& s) {
  constexpr std::int64_t lanes = static_cast<std::int64_t>(xsimd::batch<float>::size);
  const std::int64_t blocks = n / lanes;
  // Threads take whole batches, at least 2^11 of them (32K floats: a 784x256 weight is split in
  // two, which took the MLP epoch at batch 64 from 380 to 334 ms at 2 threads); the tail after
  // the last whole batch is done here.
  parallel_for(0, blocks, std::int64_t{1} << 11, [&](std::int64_t b0, std::int64_t b1) {
    update_range(p, g, buf, b0 * lanes, b1 * lanes, s);
  });
  update_range(p, g, buf, blocks * lanes, n, s);
}

}  // namespace EMBER_ISA

#if EMBER_ISA_BASELINE
// The entry point: the build of this file for the CPU's instruction set.
void sgd_update(float* p, const float* g, float* buf, std::int64_t n, const SgdScalars& s) {
  EMBER_ISA_CALL(sgd_update, p, g, buf, n, s);
}

void sgd_update_reference(float* p, const float* g, float* buf, std::int64_t n,
                          const SgdScalars& s) {
  for (std::int64_t i = 0; i < n; ++i) {
    float d = s.maximize ? -g[i] : g[i];
    if (s.weight_decay != 0.0f) d = d + s.weight_decay * p[i];
    if (s.momentum != 0.0f) {
      buf[i] = s.first_step ? d : buf[i] * s.momentum + s.one_minus_dampening * d;
      d = s.nesterov ? d + s.momentum * buf[i] : buf[i];
    }
    p[i] = p[i] + (-s.lr) * d;
  }
}
#endif

}  // namespace ember::optim::kernels
