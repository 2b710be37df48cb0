/// \file
/// ember::nn::Dropout: inverted dropout in training, the identity in evaluation.
#pragma once

#include <string>

#include <ember/core/tensor.h>
#include <ember/nn/module.h>

namespace ember::nn {

/// Options of Dropout, as libtorch's DropoutOptions: `Dropout(DropoutOptions().p(0.2))`, or
/// `Dropout(0.2)` (a number converts).
class DropoutOptions {
 public:
  /// Drop probability p (default 0.5); checked by Dropout.
  DropoutOptions(double p = 0.5) : p_(p) {}  // NOLINT: implicit, as libtorch's
  /// Sets p; returns *this for chaining.
  DropoutOptions& p(double value) {
    p_ = value;
    return *this;
  }
  double p() const { return p_; }  ///< The drop probability.

 private:
  double p_;
};

/// Inverted dropout, as torch.nn.Dropout: float32 [*] -> [*].
///
/// In training mode (the default, Module::train()) each element is zeroed with probability p
/// and the others are scaled by 1 / (1 - p), with a fresh mask from default_generator() at each
/// call (manual_seed reproduces it, at any thread count); in evaluation mode (Module::eval()) it
/// is the identity. See functional::dropout. Prints as "Dropout(p=0.5)".
class Dropout : public Module {
 public:
  /// \throws ember::Error when p is not in [0, 1] ("Dropout: dropout probability has to be
  ///   between 0 and 1, but got 1.5").
  explicit Dropout(const DropoutOptions& options = {});
  /// An empty holder, to be assigned later.
  explicit Dropout(std::nullptr_t) : Module(nullptr) {}

  /// functional::dropout(x, p, is_training()).
  /// \throws ember::Error for a non-float32 x.
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;  ///< "p=0.5"

  DropoutOptions options;  ///< As constructed.
};

}  // namespace ember::nn
