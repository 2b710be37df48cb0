// Loss functions (torch.nn.functional), each differentiable with respect to its input (and, for
// binary_cross_entropy_with_logits and mse_loss, its target). Semantics follow PyTorch 1.13.
#pragma once

#include <cstdint>

#include <ember/core/tensor.h>

namespace ember::nn::functional {

// How per-element losses are combined: kept ([N] or the input's shape), averaged, or summed.
enum class Reduction { None, Mean, Sum };

struct CrossEntropyOptions {
  Tensor weight;                     // [K] float32 class weights, or undefined for all ones
  std::int64_t ignore_index = -100;  // rows with this target add 0 loss and get 0 gradient
  Reduction reduction = Reduction::Mean;
  double label_smoothing = 0.0;  // eps in [0, 1]
};

// Cross-entropy of logits, fused with softmax (no softmax or log tensor is ever built).
// input [N, K] float32 logits; target either
//  - [N] int64 class indices in [0, K) (or ignore_index):
//      loss_i = (1 - eps) w[t_i] (-log p_i[t_i]) + (eps / K) sum_k w[k] (-log p_i[k]),
//    Mean divides the sum by sum_i w[t_i] over the rows not ignored (NaN if all are ignored,
//    with zero gradient), or
//  - [N, K] float32 class probabilities q: loss_i = -sum_k w[k] q'_ik log p_ik with
//    q' = (1 - eps) q + eps / K; Mean divides by N; no gradient flows to q.
// Returns [N] for Reduction::None, else a 0-d tensor. Throws naming the op for a wrong rank,
// dtype or shape, a weight that is not [K], and a target out of range (its value and row).
Tensor cross_entropy(const Tensor& input, const Tensor& target,
                     const CrossEntropyOptions& options = {});

struct NLLLossOptions {
  Tensor weight;  // [K] or undefined
  std::int64_t ignore_index = -100;
  Reduction reduction = Reduction::Mean;
};

// Negative log-likelihood of log-probabilities: input [N, K], target [N] int64;
// loss_i = -w[t_i] input[i, t_i]. Mean divides by sum_i w[t_i] over the rows not ignored.
// Throws like cross_entropy.
Tensor nll_loss(const Tensor& input, const Tensor& target, const NLLLossOptions& options = {});

struct BCEWithLogitsOptions {
  Tensor weight;      // broadcastable to the input: multiplies each element's loss
  Tensor pos_weight;  // broadcastable to the input (usually [K], over the last dim)
  Reduction reduction = Reduction::Mean;
};

// Binary cross-entropy of logits x against targets y of the same shape, computed stably:
//   loss = (1 - y) x + (1 + (pw - 1) y) (log1p(exp(-|x|)) + max(-x, 0))   (times weight).
// Mean divides by the number of elements. Throws if the shapes differ.
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                        const BCEWithLogitsOptions& options = {});

// Mean squared error: (input - target)^2 elementwise (broadcasting like PyTorch), reduced.
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);

}  // namespace ember::nn::functional
