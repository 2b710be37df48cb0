// Elementwise activations: one vector body per op, the tail run through the same vector code on
// a padded copy so every element gets bit-identical math wherever a thread's range starts.
// Compiled once per instruction set (Note [ISA dispatch] in kernels/isa.h).
#include "kernels/nn_activation.h"
#include "kernels/nn_math.h"  // first: see the note on GCC 12 there

#include <algorithm>
#include <cmath>

#include <ember/core/parallel.h>

namespace ember::nn::kernels {

EMBER_ISA_VARIANTS(exp_forward)
EMBER_ISA_VARIANTS(sigmoid_forward)
EMBER_ISA_VARIANTS(sigmoid_backward)
EMBER_ISA_VARIANTS(tanh_forward)
EMBER_ISA_VARIANTS(tanh_backward)
EMBER_ISA_VARIANTS(relu_forward)
EMBER_ISA_VARIANTS(relu_backward)
EMBER_ISA_VARIANTS(silu_forward)
EMBER_ISA_VARIANTS(silu_backward)
EMBER_ISA_VARIANTS(logsigmoid_forward)
EMBER_ISA_VARIANTS(logsigmoid_backward)

namespace EMBER_ISA {
namespace {

// Elements per thread below which threads cost more than they save.
constexpr std::int64_t kGrain = 16384;

// y[i] = f(x[i]) over [0, n), in parallel.
template <class F>
void map1(const float* x, float* y, std::int64_t n, F f) {
  parallel_for(0, n, kGrain, [&](std::int64_t begin, std::int64_t end) {
    std::int64_t i = begin;
    for (; i + kLanes <= end; i += kLanes) f(Vec::load_unaligned(x + i)).store_unaligned(y + i);
    if (i < end) store_tail(y + i, end - i, f(load_tail(x + i, end - i, 0.0f)));
  });
}

// out[i] = f(a[i], b[i]) over [0, n), in parallel.
template <class F>
void map2(const float* a, const float* b, float* out, std::int64_t n, F f) {
  parallel_for(0, n, kGrain, [&](std::int64_t begin, std::int64_t end) {
    std::int64_t i = begin;
    for (; i + kLanes <= end; i += kLanes) {
      f(Vec::load_unaligned(a + i), Vec::load_unaligned(b + i)).store_unaligned(out + i);
    }
    if (i < end) {
      store_tail(out + i, end - i,
                 f(load_tail(a + i, end - i, 0.0f), load_tail(b + i, end - i, 0.0f)));
    }
  });
}

}  // namespace

void exp_forward(const float* x, float* y, std::int64_t n) {
  map1(x, y, n, [](Vec v) { return vexp(v); });
}

void sigmoid_forward(const float* x, float* y, std::int64_t n) {
  map1(x, y, n, [](Vec v) { return vsigmoid(v); });
}

// sigmoid' = y (1 - y), from the saved output as PyTorch.
void sigmoid_backward(const float* y, const float* grad_out, float* grad_x, std::int64_t n) {
  map2(y, grad_out, grad_x, n, [](Vec yv, Vec g) { return g * (Vec(1.0f) - yv) * yv; });
}

void tanh_forward(const float* x, float* y, std::int64_t n) {
  map1(x, y, n, [](Vec v) { return vtanh(v); });
}

// tanh' = 1 - y^2.
void tanh_backward(const float* y, const float* grad_out, float* grad_x, std::int64_t n) {
  map2(y, grad_out, grad_x, n, [](Vec yv, Vec g) { return g * xsimd::fnma(yv, yv, Vec(1.0f)); });
}

// relu(x) = x > 0 ? x : 0, with NaN passed through (PyTorch's clamp_min).
void relu_forward(const float* x, float* y, std::int64_t n) {
  map1(x, y, n, [](Vec v) { return xsimd::select(v <= Vec(0.0f), Vec(0.0f), v); });
}

// relu' = [!(y <= 0)]: relu'(0) = 0, and a NaN output passes the gradient through, as PyTorch.
void relu_backward(const float* y, const float* grad_out, float* grad_x, std::int64_t n) {
  map2(y, grad_out, grad_x, n,
       [](Vec yv, Vec g) { return xsimd::select(yv <= Vec(0.0f), Vec(0.0f), g); });
}

void silu_forward(const float* x, float* y, std::int64_t n) {
  map1(x, y, n, [](Vec v) { return v * vsigmoid(v); });
}

// silu = x s with s = sigmoid(x): silu' = s + x s (1 - s) = s (1 + x (1 - s)).
void silu_backward(const float* x, const float* grad_out, float* grad_x, std::int64_t n) {
  map2(x, grad_out, grad_x, n, [](Vec xv, Vec g) {
    const Vec s = vsigmoid(xv);
    return g * s * xsimd::fma(xv, Vec(1.0f) - s, Vec(1.0f));
  });
}

// logsigmoid(x) = -log(1 + e^-x) = min(x, 0) - log1p(exp(-|x|)): the log argument is in [1, 2],
// so nothing overflows and log never sees a rounded-to-zero sigmoid. NaN passes through.
void logsigmoid_forward(const float* x, float* y, std::int64_t n) {
  map1(x, y, n, [](Vec v) {
    const Vec r = xsimd::min(v, Vec(0.0f)) - vlog1p(vexp(-xsimd::abs(v)));
    return xsimd::select(xsimd::isnan(v), v, r);
  });
}

// logsigmoid' = 1 - sigmoid(x) = sigmoid(-x); with e = exp(-|x|):
// x < 0: 1 / (1 + e);  x >= 0: e / (1 + e).
void logsigmoid_backward(const float* x, const float* grad_out, float* grad_x, std::int64_t n) {
  map2(x, grad_out, grad_x, n, [](Vec xv, Vec g) {
    const Vec e = vexp(-xsimd::abs(xv));
    const Vec num = xsimd::select(xv < Vec(0.0f), Vec(1.0f), e);
    return g * (num / (Vec(1.0f) + e));
  });
}

}  // namespace EMBER_ISA

#if EMBER_ISA_BASELINE
// The entry points: the build of this file for the CPU's instruction set.
void exp_forward(const float* x, float* y, std::int64_t n) {
  EMBER_ISA_CALL(exp_forward, x, y, n);
}
void sigmoid_forward(const float* x, float* y, std::int64_t n) {
  EMBER_ISA_CALL(sigmoid_forward, x, y, n);
}
void sigmoid_backward(const float* y, const float* grad_out, float* grad_x, std::int64_t n) {
  EMBER_ISA_CALL(sigmoid_backward, y, grad_out, grad_x, n);
}
void tanh_forward(const float* x, float* y, std::int64_t n) {
  EMBER_ISA_CALL(tanh_forward, x, y, n);
}
void tanh_backward(const float* y, const float* grad_out, float* grad_x, std::int64_t n) {
  EMBER_ISA_CALL(tanh_backward, y, grad_out, grad_x, n);
}
void relu_forward(const float* x, float* y, std::int64_t n) {
  EMBER_ISA_CALL(relu_forward, x, y, n);
}
void relu_backward(const float* y, const float* grad_out, float* grad_x, std::int64_t n) {
  EMBER_ISA_CALL(relu_backward, y, grad_out, grad_x, n);
}
void silu_forward(const float* x, float* y, std::int64_t n) {
  EMBER_ISA_CALL(silu_forward, x, y, n);
}
void silu_backward(const float* x, const float* grad_out, float* grad_x, std::int64_t n) {
  EMBER_ISA_CALL(silu_backward, x, grad_out, grad_x, n);
}
void logsigmoid_forward(const float* x, float* y, std::int64_t n) {
  EMBER_ISA_CALL(logsigmoid_forward, x, y, n);
}
void logsigmoid_backward(const float* x, const float* grad_out, float* grad_x, std::int64_t n) {
  EMBER_ISA_CALL(logsigmoid_backward, x, grad_out, grad_x, n);
}

// --- Scalar references ---
namespace {
template <class F>
void ref1(const float* x, float* y, std::int64_t n, F f) {
  for (std::int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(f(static_cast<double>(x[i])));
}
template <class F>
void ref2(const float* a, const float* b, float* out, std::int64_t n, F f) {
  for (std::int64_t i = 0; i < n; ++i) {
    out[i] = static_cast<float>(f(static_cast<double>(a[i]), static_cast<double>(b[i])));
  }
}
double sig(double x) {
  return 1.0 / (1.0 + std::exp(-x));
}
}  // namespace

void sigmoid_forward_reference(const float* x, float* y, std::int64_t n) {
  ref1(x, y, n, sig);
}
void sigmoid_backward_reference(const float* y, const float* grad_out, float* grad_x,
                                std::int64_t n) {
  ref2(y, grad_out, grad_x, n, [](double yv, double g) { return g * yv * (1.0 - yv); });
}
void tanh_forward_reference(const float* x, float* y, std::int64_t n) {
  ref1(x, y, n, [](double v) { return std::tanh(v); });
}
void tanh_backward_reference(const float* y, const float* grad_out, float* grad_x, std::int64_t n) {
  ref2(y, grad_out, grad_x, n, [](double yv, double g) { return g * (1.0 - yv * yv); });
}
void relu_forward_reference(const float* x, float* y, std::int64_t n) {
  ref1(x, y, n, [](double v) { return v > 0.0 || std::isnan(v) ? v : 0.0; });
}
void relu_backward_reference(const float* y, const float* grad_out, float* grad_x, std::int64_t n) {
  ref2(y, grad_out, grad_x, n, [](double yv, double g) { return yv <= 0.0 ? 0.0 : g; });
}
void silu_forward_reference(const float* x, float* y, std::int64_t n) {
  ref1(x, y, n, [](double v) { return v * sig(v); });
}
void silu_backward_reference(const float* x, const float* grad_out, float* grad_x, std::int64_t n) {
  ref2(x, grad_out, grad_x, n, [](double v, double g) {
    const double s = sig(v);
    return g * s * (1.0 + v * (1.0 - s));
  });
}
void logsigmoid_forward_reference(const float* x, float* y, std::int64_t n) {
  ref1(x, y, n, [](double v) { return std::min(v, 0.0) - std::log1p(std::exp(-std::fabs(v))); });
}
void logsigmoid_backward_reference(const float* x, const float* grad_out, float* grad_x,
                                   std::int64_t n) {
  ref2(x, grad_out, grad_x, n, [](double v, double g) { return g * sig(-v); });
}
#endif

}  // namespace ember::nn::kernels
