// ember::nn::AdaptiveLogSoftmaxWithLoss: the efficient softmax of Grave et al. for large output
// spaces (torch.nn.AdaptiveLogSoftmaxWithLoss).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <ember/nn/linear.h>
#include <ember/nn/module.h>
#include <ember/nn/sequential.h>

namespace ember::nn {

// What forward returns: the target log-probability of every row ([N], or 0-d for one
// unbatched row) and the loss, mean(-output) (0-d).
struct ASMoutput {
  Tensor output;
  Tensor loss;
};

// Classes [0, cutoffs[0]) form the head's shortlist; each further range
// [cutoffs[i], cutoffs[i+1]) (the last ending at n_classes) is a cluster with its own tail
// Linear(in_features, in_features / div_value^(i+1), bias=false) -> Linear(., size, bias=false),
// entered through one extra head logit. log p(c) = log_softmax(head)[c] for shortlist classes,
// log_softmax(head)[cluster] + log_softmax(tail(x))[c - start] for the others.
// Children as PyTorch: head (Linear) and tail (ModuleList of Sequential).
// Throws if cutoffs are not unique, increasing integers in [1, n_classes - 1] (PyTorch's rule).
class AdaptiveLogSoftmaxWithLoss : public Module {
 public:
  AdaptiveLogSoftmaxWithLoss(std::int64_t in_features, std::int64_t n_classes,
                             std::vector<std::int64_t> cutoffs, double div_value = 4.0,
                             bool head_bias = false);

  // input [N, in_features] with target [N] int64 (or [in_features] with a 0-d target).
  // Throws naming the shapes, or the target range, when they do not fit.
  ASMoutput forward(const Tensor& input, const Tensor& target);
  ASMoutput operator()(const Tensor& input, const Tensor& target) { return forward(input, target); }
  // [N, in_features] -> [N, n_classes] log-probabilities of every class (differentiable).
  Tensor log_prob(const Tensor& input);
  // [N, in_features] -> [N] int64: the most likely class of each row.
  Tensor predict(const Tensor& input);

  std::string extra_repr() const override { return ""; }
  std::int64_t in_features() const { return in_features_; }
  std::int64_t n_classes() const { return n_classes_; }
  // The cutoffs with n_classes appended, as PyTorch's .cutoffs.
  const std::vector<std::int64_t>& cutoffs() const { return cutoffs_; }
  double div_value() const { return div_value_; }
  std::int64_t shortlist_size() const { return cutoffs_[0]; }
  std::int64_t n_clusters() const { return static_cast<std::int64_t>(cutoffs_.size()) - 1; }
  std::int64_t head_size() const { return shortlist_size() + n_clusters(); }

  std::shared_ptr<Linear> head;
  std::vector<std::shared_ptr<Sequential>> tail;  // also registered as children "tail.0", ...

 private:
  std::int64_t in_features_;
  std::int64_t n_classes_;
  std::vector<std::int64_t> cutoffs_;
  double div_value_;
};

}  // namespace ember::nn
