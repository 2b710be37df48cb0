/// \file
/// Loss modules (torch.nn.CrossEntropyLoss, ...): each holds its options and calls the function of
/// the same name in <ember/nn/functional/loss.h>, where the math, shapes and errors are documented.
#pragma once

#include <ember/nn/functional/loss.h>
#include <ember/nn/module.h>

namespace ember::nn {

/// Cross-entropy of logits, as torch.nn.CrossEntropyLoss: functional::cross_entropy().
///
/// input float32 [N, K] logits, target [N] int64 classes (or [N, K] float32 probabilities) ->
/// loss; also one sample [K] and K-dim [N, K, d1, ..., dm] inputs, as functional::cross_entropy.
/// Fused with softmax: no softmax or log tensor enters the graph. Prints "CrossEntropyLoss()".
class CrossEntropyLoss : public Module {
 public:
  /// A loss with these options (weight, ignore_index, reduction, label_smoothing).
  explicit CrossEntropyLoss(functional::CrossEntropyOptions options = {});
  using Module::forward;  // forward(input) stays Module's: it throws, naming this loss
  /// functional::cross_entropy(input, target, options()).
  /// \throws ember::Error as functional::cross_entropy().
  Tensor forward(const Tensor& input, const Tensor& target);
  /// forward(input, target).
  Tensor operator()(const Tensor& input, const Tensor& target) { return forward(input, target); }
  /// The options given at construction.
  const functional::CrossEntropyOptions& options() const { return options_; }

 private:
  functional::CrossEntropyOptions options_;
};

/// Negative log-likelihood, as torch.nn.NLLLoss: functional::nll_loss().
///
/// input float32 [N, K] log-probabilities, target [N] int64 -> loss (also [K] and
/// [N, K, d1, ..., dm], as functional::nll_loss). Prints "NLLLoss()".
class NLLLoss : public Module {
 public:
  /// A loss with these options (weight, ignore_index, reduction).
  explicit NLLLoss(functional::NLLLossOptions options = {});
  using Module::forward;  // forward(input) stays Module's: it throws, naming this loss
  /// functional::nll_loss(input, target, options()).
  /// \throws ember::Error as functional::nll_loss().
  Tensor forward(const Tensor& input, const Tensor& target);
  /// forward(input, target).
  Tensor operator()(const Tensor& input, const Tensor& target) { return forward(input, target); }
  /// The options given at construction.
  const functional::NLLLossOptions& options() const { return options_; }

 private:
  functional::NLLLossOptions options_;
};

/// Binary cross-entropy of logits, as torch.nn.BCEWithLogitsLoss:
/// functional::binary_cross_entropy_with_logits().
///
/// input (logits) and target (probabilities) float32 of one shape [*] -> loss.
/// Prints "BCEWithLogitsLoss()".
class BCEWithLogitsLoss : public Module {
 public:
  /// A loss with these options (weight, pos_weight, reduction).
  explicit BCEWithLogitsLoss(functional::BCEWithLogitsOptions options = {});
  using Module::forward;  // forward(input) stays Module's: it throws, naming this loss
  /// functional::binary_cross_entropy_with_logits(input, target, options()).
  /// \throws ember::Error as functional::binary_cross_entropy_with_logits().
  Tensor forward(const Tensor& input, const Tensor& target);
  /// forward(input, target).
  Tensor operator()(const Tensor& input, const Tensor& target) { return forward(input, target); }
  /// The options given at construction.
  const functional::BCEWithLogitsOptions& options() const { return options_; }

 private:
  functional::BCEWithLogitsOptions options_;
};

/// Mean (or sum, or none) of (input - target)^2, as torch.nn.MSELoss: functional::mse_loss().
///
/// input and target float32, broadcast together -> loss. Prints "MSELoss()".
class MSELoss : public Module {
 public:
  /// A loss with this reduction.
  explicit MSELoss(functional::Reduction reduction = functional::Reduction::Mean);
  using Module::forward;  // forward(input) stays Module's: it throws, naming this loss
  /// functional::mse_loss(input, target, reduction()).
  /// \throws ember::Error as functional::mse_loss().
  Tensor forward(const Tensor& input, const Tensor& target);
  /// forward(input, target).
  Tensor operator()(const Tensor& input, const Tensor& target) { return forward(input, target); }
  /// The reduction given at construction.
  functional::Reduction reduction() const { return reduction_; }

 private:
  functional::Reduction reduction_;
};

}  // namespace ember::nn
