/// \file
/// Loss functions (torch.nn.functional), each differentiable with respect to its input (and, for
/// binary_cross_entropy_with_logits, mse_loss and cross_entropy with probability targets, its
/// target). Semantics follow PyTorch 1.13.
#pragma once

#include <cstdint>

#include <ember/core/tensor.h>

namespace ember::nn::functional {

/// How per-element losses are combined: kept (in the target's shape, see each loss), averaged,
/// or summed.
enum class Reduction {
  None,  ///< Keep every element's loss.
  Mean,  ///< Average them (each loss says over what); a 0-d result.
  Sum    ///< Add them up; a 0-d result.
};

/// Options of cross_entropy() (torch.nn.CrossEntropyLoss's arguments).
struct CrossEntropyOptions {
  Tensor weight;                     ///< [K] float32 class weights, or undefined for all ones.
  std::int64_t ignore_index = -100;  ///< Elements with this target add 0 loss and get 0 gradient.
  Reduction reduction = Reduction::Mean;  ///< How the elements' losses are combined.
  double label_smoothing = 0.0;           ///< eps in [0, 1] (Szegedy et al.\ 2016).
};

/// Cross-entropy of logits, fused with softmax (no softmax or log tensor is ever built).
///
/// Layouts, as PyTorch's (K classes, in dim 1 of a batch):
/// \code{.unparsed}
///   input [N, K]               target [N] int64 or [N, K] float32         None gives [N]
///   input [K] (one sample)     target [] int64 or [K] float32             None gives []
///   input [N, K, d1, ..., dm]  target [N, d1, ..., dm] int64 or the       None gives
///                              input's shape float32                      [N, d1, ..., dm]
/// \endcode
/// input is float32. Each element (K logits x, p = softmax(x)) has a loss against either
///  - a class index t in [0, K) (or ignore_index):
///      loss = (1 - eps) w[t] (-log p[t]) + (eps / K) sum_k w[k] (-log p[k]);
///    Mean divides the sum by sum w[t] over the elements not ignored (NaN if all are ignored,
///    with zero gradient), or
///  - class probabilities q: loss = -sum_k w[k] q'[k] log p[k] with q' = (1 - eps) q + eps / K;
///    Mean divides by the number of elements (N d1 ... dm). A q that requires grad gets
///    d loss / d q[k] = -w[k] (1 - eps) log p[k] (times the reduction's scale).
///
/// The formula is torch.nn.CrossEntropyLoss's (PyTorch 1.13 documentation), label smoothing
/// that of Szegedy et al.\ 2016 ("Rethinking the Inception Architecture").
/// \return the losses for Reduction::None, else a 0-d float32 tensor.
/// \throws ember::Error naming the op for a wrong rank or dtype, a label_smoothing outside
///   [0, 1], a target shape that does not fit the input's (both shapes named), a weight that is
///   not [K], and a target out of range (its value and position: the index in a 1-d target, the
///   multi-index and flat position otherwise).
Tensor cross_entropy(const Tensor& input, const Tensor& target,
                     const CrossEntropyOptions& options = {});

/// Options of nll_loss() (torch.nn.NLLLoss's arguments).
struct NLLLossOptions {
  Tensor weight;                     ///< [K] float32 class weights, or undefined for all ones.
  std::int64_t ignore_index = -100;  ///< Elements with this target add 0 loss and get 0 gradient.
  Reduction reduction = Reduction::Mean;  ///< How the elements' losses are combined.
};

/// Negative log-likelihood of log-probabilities, in cross_entropy's layouts with int64 targets.
///
/// input float32 [N, K], [K] or [N, K, d1, ..., dm], class dim 1 (0 for [K]); target int64 of
/// the input's shape without the class dim; per element loss = -w[t] input[.., t, ..]. Mean
/// divides by sum w[t] over the elements not ignored. As torch.nn.NLLLoss.
/// \return the losses for Reduction::None (the target's shape), else a 0-d float32 tensor.
/// \throws ember::Error like cross_entropy().
Tensor nll_loss(const Tensor& input, const Tensor& target, const NLLLossOptions& options = {});

/// Options of binary_cross_entropy_with_logits() (torch.nn.BCEWithLogitsLoss's arguments).
struct BCEWithLogitsOptions {
  Tensor weight;      ///< Broadcastable to the input: multiplies each element's loss.
  Tensor pos_weight;  ///< Broadcastable to the input (usually [K], over the last dim).
  Reduction reduction = Reduction::Mean;  ///< How the elements' losses are combined.
};

/// Binary cross-entropy of logits x against targets y of the same shape, computed stably.
///
///   loss = (1 - y) x + (1 + (pw - 1) y) (log1p(exp(-|x|)) + max(-x, 0))   (times weight),
///
/// which is torch.nn.BCEWithLogitsLoss's -[pw y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))]
/// rewritten so that nothing overflows. input, target, weight and pos_weight are float32 of any
/// shape [*] (weight and pos_weight broadcast to it). Mean divides by the number of elements.
/// \return the losses for Reduction::None ([*]), else a 0-d float32 tensor.
/// \throws ember::Error if a tensor is undefined or not float32, the shapes differ, weight or
///   pos_weight does not broadcast to the input, and (as PyTorch 1.13, which has no derivative
///   for them) if weight or pos_weight requires grad while grad mode is on.
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                        const BCEWithLogitsOptions& options = {});

/// Mean squared error: (input - target)^2 elementwise, reduced, as torch.nn.MSELoss.
///
/// input and target are float32 and broadcast together like PyTorch's; Mean divides by the
/// number of elements of the broadcast shape.
/// \return the losses for Reduction::None (the broadcast shape), else a 0-d float32 tensor.
/// \throws ember::Error if a tensor is undefined or not float32, or the shapes do not broadcast.
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);

}  // namespace ember::nn::functional
