// Loss modules (torch.nn.CrossEntropyLoss, ...): each holds its options and calls the function of
// the same name in <ember/nn/functional/loss.h>, where the math, shapes and errors are documented.
#pragma once

#include <ember/nn/functional/loss.h>
#include <ember/nn/module.h>

namespace ember::nn {

// input [N, K] logits, target [N] int64 classes (or [N, K] probabilities) -> loss; also one
// sample [K] and K-dim [N, K, d1, ..., dm] inputs, as functional::cross_entropy.
// Fused with softmax: no softmax or log tensor enters the graph. Prints "CrossEntropyLoss()".
class CrossEntropyLoss : public Module {
 public:
  explicit CrossEntropyLoss(functional::CrossEntropyOptions options = {});
  Tensor forward(const Tensor& input, const Tensor& target);
  Tensor operator()(const Tensor& input, const Tensor& target) { return forward(input, target); }
  const functional::CrossEntropyOptions& options() const { return options_; }

 private:
  functional::CrossEntropyOptions options_;
};

// input [N, K] log-probabilities, target [N] int64 -> loss (also [K] and [N, K, d1, ..., dm],
// as functional::nll_loss). Prints "NLLLoss()".
class NLLLoss : public Module {
 public:
  explicit NLLLoss(functional::NLLLossOptions options = {});
  Tensor forward(const Tensor& input, const Tensor& target);
  Tensor operator()(const Tensor& input, const Tensor& target) { return forward(input, target); }
  const functional::NLLLossOptions& options() const { return options_; }

 private:
  functional::NLLLossOptions options_;
};

// input and target of one shape (logits, probabilities) -> loss. Prints "BCEWithLogitsLoss()".
class BCEWithLogitsLoss : public Module {
 public:
  explicit BCEWithLogitsLoss(functional::BCEWithLogitsOptions options = {});
  Tensor forward(const Tensor& input, const Tensor& target);
  Tensor operator()(const Tensor& input, const Tensor& target) { return forward(input, target); }
  const functional::BCEWithLogitsOptions& options() const { return options_; }

 private:
  functional::BCEWithLogitsOptions options_;
};

// mean (or sum, or none) of (input - target)^2. Prints "MSELoss()".
class MSELoss : public Module {
 public:
  explicit MSELoss(functional::Reduction reduction = functional::Reduction::Mean);
  Tensor forward(const Tensor& input, const Tensor& target);
  Tensor operator()(const Tensor& input, const Tensor& target) { return forward(input, target); }
  functional::Reduction reduction() const { return reduction_; }

 private:
  functional::Reduction reduction_;
};

}  // namespace ember::nn
