// The Adam / AdamW update over raw float arrays: one pass per parameter tensor. Private to
// optim/src.
#pragma once

#include <cstdint>

namespace ember::optim::kernels {

// The scalars of one step of one parameter, rounded to float where PyTorch passes a Python float
// to a float32 op (the scalar of mul_, the alpha of add_, the value of addcmul_ / addcdiv_, the
// divisor and addend of `/` and add_). The doubles are computed as PyTorch computes them.
struct AdamScalars {
  float beta1 = 0.9f;               // exp_avg.mul_(beta1)
  float one_minus_beta1 = 0.1f;     // .add_(grad, alpha=1 - beta1)
  float beta2 = 0.999f;             // exp_avg_sq.mul_(beta2)
  float one_minus_beta2 = 0.001f;   // .addcmul_(grad, grad, value=1 - beta2)
  float weight_decay = 0;           // Adam: grad.add(param, alpha=wd); 0: skipped
  float decay_factor = 1;           // AdamW: param.mul_(1 - lr * wd); 1: skipped
  float bias_correction2_sqrt = 1;  // sqrt(1 - beta2^t)
  float eps = 1e-8f;                // .add_(eps)
  float neg_step_size = -1e-3f;     // value=-lr / (1 - beta1^t)
  bool amsgrad = false;             // max_exp_avg_sq is read and written
  bool maximize = false;            // the gradient is negated first
};

// For i in [0, n), as torch.optim.Adam / AdamW (_single_tensor_adam / _single_tensor_adamw),
// in float32, each line one rounded op (Note [Adam operation order] in adam_kernel.cpp):
//   d = maximize ? -g : g;  if (weight_decay) d = d + weight_decay * p;  p = p * decay_factor
//   m = m * beta1;  m = m + (1 - beta1) * d
//   v = v * beta2;  v = v + ((1 - beta2) * d) * d
//   if (amsgrad) vmax = max(vmax, v) (nan propagates), and vmax replaces v below
//   denom = sqrt(v) / bias_correction2_sqrt;  denom = denom + eps
//   p = p + (neg_step_size * m) / denom
// exp_avg, exp_avg_sq (and max_exp_avg_sq with amsgrad; else it may be null) are read and
// written. xsimd batches with a scalar tail; split across threads on batch boundaries, so every
// element takes the same path whatever the thread count.
void adam_update(float* p, const float* g, float* exp_avg, float* exp_avg_sq, float* max_exp_avg_sq,
                 std::int64_t n, const AdamScalars& s);

// The same, one element at a time: what the tests compare adam_update against.
void adam_update_reference(float* p, const float* g, float* exp_avg, float* exp_avg_sq,
                           float* max_exp_avg_sq, std::int64_t n, const AdamScalars& s);

}  // namespace ember::optim::kernels
