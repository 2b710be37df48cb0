/// \file
/// ember::nn::functional::batch_norm and its options, the op behind nn::BatchNorm1d/2d.
#pragma once

#include <optional>

#include <ember/core/tensor.h>

namespace ember::nn::functional {

/// Options of batch_norm, as libtorch's BatchNormFuncOptions:
/// `BatchNormFuncOptions().weight(w).bias(b).training(true).momentum(0.1).eps(1e-5)`.
class BatchNormFuncOptions {
 public:
  /// The scale, float32 [C] (undefined: 1). Returns *this for chaining.
  BatchNormFuncOptions& weight(Tensor w) {
    weight_ = std::move(w);
    return *this;
  }
  /// The shift, float32 [C] (undefined: 0).
  BatchNormFuncOptions& bias(Tensor b) {
    bias_ = std::move(b);
    return *this;
  }
  /// Normalize with the batch's statistics (and update the running ones); default false.
  BatchNormFuncOptions& training(bool on) {
    training_ = on;
    return *this;
  }
  /// The running statistics' update factor (default 0.1). std::nullopt is refused by
  /// batch_norm, as in libtorch: nn::BatchNorm passes 1 / num_batches_tracked for momentum None.
  BatchNormFuncOptions& momentum(std::optional<double> m) {
    momentum_ = m;
    return *this;
  }
  /// Added to the variance under the square root (default 1e-5).
  BatchNormFuncOptions& eps(double e) {
    eps_ = e;
    return *this;
  }
  const Tensor& weight() const { return weight_; }                     ///< Undefined: none.
  const Tensor& bias() const { return bias_; }                         ///< Undefined: none.
  bool training() const { return training_; }                          ///< Default false.
  const std::optional<double>& momentum() const { return momentum_; }  ///< Default 0.1.
  double eps() const { return eps_; }                                  ///< Default 1e-5.

 private:
  Tensor weight_, bias_;
  bool training_ = false;
  std::optional<double> momentum_ = 0.1;
  double eps_ = 1e-5;
};

/// Batch normalization over dim 1, as torch.nn.functional.batch_norm: float32 input [N, C, *]
/// -> [N, C, *]; running_mean and running_var [C] (undefined: none, then training must be true).
///
///   y = (x - mean) / sqrt(var + eps) * weight + bias
///
/// In training, mean and var (biased) are the batch's, per channel over N and the trailing dims,
/// and the running statistics, when given, are updated in place with the unbiased variance; in
/// evaluation the running statistics normalize. See ember::batch_norm for the formulas and the
/// gradients (through the batch statistics in training).
/// \throws ember::Error for an input with fewer than 2 dims, [C] tensors of the wrong size,
///   training with one value per channel ("Expected more than 1 value per channel when training,
///   got input size [1, 3]"), evaluation without running statistics, momentum std::nullopt.
Tensor batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var,
                  const BatchNormFuncOptions& options = {});

}  // namespace ember::nn::functional
