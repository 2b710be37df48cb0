/// \file
/// ember::nn::AdaptiveLogSoftmaxWithLoss: the efficient softmax of Grave et al.\ for large output
/// spaces (torch.nn.AdaptiveLogSoftmaxWithLoss).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <ember/nn/linear.h>
#include <ember/nn/module.h>
#include <ember/nn/sequential.h>

namespace ember::nn {

/// What AdaptiveLogSoftmaxWithLoss::forward returns, as PyTorch's named tuple.
struct ASMoutput {
  /// float32 target log-probability of every row: [N], or 0-d for one unbatched row.
  Tensor output;
  Tensor loss;  ///< float32 0-d: mean(-output).
};

/// The adaptive softmax of Grave et al.\ 2017 ("Efficient softmax approximation for GPUs"), as
/// torch.nn.AdaptiveLogSoftmaxWithLoss.
///
/// Classes [0, cutoffs[0]) form the head's shortlist; each further range
/// [cutoffs[i], cutoffs[i+1]) (the last ending at n_classes) is a cluster with its own tail
/// Linear(in_features, in_features / div_value^(i+1), bias=false) -> Linear(., size, bias=false),
/// entered through one extra head logit. log p(c) = log_softmax(head)[c] for shortlist classes,
/// log_softmax(head)[cluster] + log_softmax(tail(x))[c - start] for the others.
/// Children as PyTorch: head (Linear) and tail (ModuleList of Sequential).
/// Shapes: N rows, D = in_features, C = n_classes; inputs are float32.
class AdaptiveLogSoftmaxWithLoss : public Module {
 public:
  /// A head of shortlist_size() + n_clusters() outputs (with a bias if `head_bias`) and one
  /// tail per cluster, initialized as Linear.
  /// \throws ember::Error if in_features or n_classes is not positive, if cutoffs are not
  ///   unique, increasing integers in [1, n_classes - 1] (PyTorch's rule), or if div_value is
  ///   not a positive finite number (or makes a cluster's hidden size overflow).
  AdaptiveLogSoftmaxWithLoss(std::int64_t in_features, std::int64_t n_classes,
                             std::vector<std::int64_t> cutoffs, double div_value = 4.0,
                             bool head_bias = false);

  using Module::forward;  // forward(input) stays Module's: it throws, naming this module
  /// The target log-probabilities and the loss: input [N, D] with target [N] int64 (or [D]
  /// with a 0-d target).
  /// \throws ember::Error naming the shapes when they do not fit (a target that is not int64,
  ///   not 0-d or 1-d, an input of the wrong rank, batch size or D), or naming the target range
  ///   when a target is outside [0, C).
  ASMoutput forward(const Tensor& input, const Tensor& target);
  /// forward(input, target).
  ASMoutput operator()(const Tensor& input, const Tensor& target) { return forward(input, target); }
  /// float32 [N, D] -> [N, C] log-probabilities of every class (differentiable).
  /// \throws ember::Error for an input that is undefined or not [N, D].
  Tensor log_prob(const Tensor& input);
  /// float32 [N, D] -> [N] int64: the most likely class of each row (no graph recorded).
  /// \throws ember::Error as log_prob().
  Tensor predict(const Tensor& input);

  /// Empty: the module prints its children only, as PyTorch.
  std::string extra_repr() const override { return ""; }
  std::int64_t in_features() const { return in_features_; }  ///< D
  std::int64_t n_classes() const { return n_classes_; }      ///< C
  /// The cutoffs with n_classes appended, as PyTorch's .cutoffs.
  const std::vector<std::int64_t>& cutoffs() const { return cutoffs_; }
  double div_value() const { return div_value_; }  ///< As given at construction.
  /// Classes the head predicts directly: cutoffs()[0].
  std::int64_t shortlist_size() const { return cutoffs_[0]; }
  /// Clusters, one tail each: cutoffs().size() - 1.
  std::int64_t n_clusters() const { return static_cast<std::int64_t>(cutoffs_.size()) - 1; }
  /// The head's outputs: shortlist_size() + n_clusters().
  std::int64_t head_size() const { return shortlist_size() + n_clusters(); }

  std::shared_ptr<Linear> head;  ///< D -> head_size(), registered as child "head".
  /// One projection per cluster, also registered as children "tail.0", ...
  std::vector<std::shared_ptr<Sequential>> tail;

 private:
  std::int64_t in_features_;
  std::int64_t n_classes_;
  std::vector<std::int64_t> cutoffs_;
  double div_value_;
};

}  // namespace ember::nn
