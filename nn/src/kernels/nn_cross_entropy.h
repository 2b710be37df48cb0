// Fused softmax + cross-entropy over logits x [N, C] (contiguous), with scalar references. Rows
// only: nn/src/functional/loss.cpp brings PyTorch's other layouts to rows (Note [loss layouts]).
//
// With p = softmax(x_i), eps the label smoothing, w the class weights (all ones when absent) and
// W = sum_c w_c, the loss of row i with target t is
//   loss_i = (1 - eps) w_t (-log p_t) + (eps / C) sum_c w_c (-log p_c)
// and its gradient, times the upstream scale s_i (which carries the reduction),
//   grad_x[i, c] = s_i ((1 - eps) w_t + (eps / C) W) p_c - s_i (eps / C) w_c
//                  - s_i (1 - eps) w_t [c == t].
// Rows whose target equals ignore_index get loss 0 and gradient 0. Targets must have been
// checked to lie in [0, C) (or equal ignore_index) before calling.
#pragma once

#include <cstdint>

namespace ember::nn::kernels {

struct CrossEntropyArgs {
  const float* x = nullptr;              // [N, C] logits
  const std::int64_t* target = nullptr;  // [N] class indices
  const float* weight = nullptr;         // [C] or null
  std::int64_t N = 0;
  std::int64_t C = 0;
  std::int64_t ignore_index = -100;
  float label_smoothing = 0.0f;
};

// loss[i] as above; row_max[i] = max_c x[i, c] and row_sum[i] = sum_c exp(x[i, c] - row_max[i])
// (saved for backward). -log p_c is formed as (max - x_c) + log(sum), never from a rounded p.
void cross_entropy_forward(const CrossEntropyArgs& args, float* loss, float* row_max,
                           float* row_sum);
// grad_x as above in one sweep per row; scale[i * scale_stride] is s_i (stride 0: one scale).
void cross_entropy_backward(const CrossEntropyArgs& args, const float* row_max,
                            const float* row_sum, const float* scale, std::int64_t scale_stride,
                            float* grad_x);

// Probability targets q [N, C]: with q' = (1 - eps) q + eps / C,
//   loss_i = -sum_c w_c q'_c log p_c,  grad_x[i, c] = s_i (p_c sum_k w_k q'_k - w_c q'_c),
//   grad_q[i, c] = -s_i w_c (1 - eps) log p_c.
// backward writes grad_x and grad_q only where the pointer is not null.
void cross_entropy_prob_forward(const CrossEntropyArgs& args, const float* q, float* loss,
                                float* row_max, float* row_sum);
void cross_entropy_prob_backward(const CrossEntropyArgs& args, const float* q, const float* row_max,
                                 const float* row_sum, const float* scale,
                                 std::int64_t scale_stride, float* grad_x, float* grad_q);

// Plain scalar references of the class-index kernels (float64 inside, no threads).
void cross_entropy_forward_reference(const CrossEntropyArgs& args, float* loss);
void cross_entropy_backward_reference(const CrossEntropyArgs& args, const float* scale,
                                      std::int64_t scale_stride, float* grad_x);

}  // namespace ember::nn::kernels
