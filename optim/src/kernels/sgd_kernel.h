// The SGD update over raw float arrays: one pass per parameter tensor. Private to optim/src.
#pragma once

#include <cstdint>

namespace ember::optim::kernels {

// The scalars of one step, already cast to float as PyTorch casts them (alpha of add_).
struct SgdScalars {
  float lr = 0;
  float momentum = 0;             // 0: no buffer (buf may be null)
  float one_minus_dampening = 1;  // (1 - dampening), rounded once in double then to float
  float weight_decay = 0;
  bool nesterov = false;
  bool maximize = false;
  bool first_step = false;  // buf is written with d (no dampening), not read
};

// For i in [0, n), as torch.optim.SGD (_single_tensor_sgd), in float32:
//   d = maximize ? -g : g;  if (weight_decay) d = d + weight_decay * p
//   if (momentum) { buf = first_step ? d : buf * momentum + (1 - dampening) * d;
//                   d = nesterov ? d + momentum * buf : buf; }
//   p = p + (-lr) * d
// xsimd batches with a scalar tail; split across threads on batch boundaries, so every element
// takes the same path (and gives the same bits) whatever the thread count.
void sgd_update(float* p, const float* g, float* buf, std::int64_t n, const SgdScalars& s);

// The same, one element at a time: what the tests compare sgd_update against.
void sgd_update_reference(float* p, const float* g, float* buf, std::int64_t n,
                          const SgdScalars& s);

}  // namespace ember::optim::kernels
