/// \file
/// ember::nn::functional::dropout: inverted dropout, the op behind nn::Dropout.
#pragma once

#include <ember/core/generator.h>
#include <ember/core/tensor.h>

namespace ember::nn::functional {

/// Inverted dropout, as torch.nn.functional.dropout(x, p, training): float32 [*] -> [*].
///
/// In training each element is zeroed with probability p and the others are scaled by
/// 1 / (1 - p) (the expected value is unchanged); the mask is drawn from `gen`, so a seed
/// reproduces it bitwise at any thread count (Note [Dropout masks at any thread count] in
/// <ember/core/dropout.h>). p = 0 and training = false return x itself; p = 1 gives zeros and a
/// zero gradient. The gradient is grad_output times the same mask. See ember::dropout.
/// \throws ember::Error when p is not in [0, 1] or x is not float32.
Tensor dropout(const Tensor& x, double p = 0.5, bool training = true,
               Generator& gen = default_generator());

/// Options of dropout, as libtorch's DropoutFuncOptions:
/// `dropout(x, DropoutFuncOptions().p(0.2).training(false))`.
class DropoutFuncOptions {
 public:
  /// The drop probability (default 0.5). Returns *this for chaining.
  DropoutFuncOptions& p(double value) {
    p_ = value;
    return *this;
  }
  /// Drop (true, the default) or pass x through (false).
  DropoutFuncOptions& training(bool on) {
    training_ = on;
    return *this;
  }
  double p() const { return p_; }              ///< Default 0.5.
  bool training() const { return training_; }  ///< Default true.

 private:
  double p_ = 0.5;
  bool training_ = true;
};

/// \overload
/// dropout(x, options.p(), options.training()), drawing from default_generator().
Tensor dropout(const Tensor& x, const DropoutFuncOptions& options);

}  // namespace ember::nn::functional
