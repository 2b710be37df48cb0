/// \file
/// ember::nn::Linear: a fully connected layer, y = x W^T + b.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include <ember/core/generator.h>
#include <ember/core/tensor.h>
#include <ember/nn/module.h>

namespace ember::nn {

/// Builder options of Linear, as libtorch's: LinearOptions(784, 10).bias(false).
class LinearOptions {
 public:
  /// Sizes D = in_features and K = out_features, with a bias (checked by Linear).
  LinearOptions(std::int64_t in_features, std::int64_t out_features)
      : in_features_(in_features), out_features_(out_features) {}
  /// With (`on`) or without a bias; returns *this for chaining.
  LinearOptions& bias(bool on) {
    bias_ = on;
    return *this;
  }
  std::int64_t in_features() const { return in_features_; }    ///< D
  std::int64_t out_features() const { return out_features_; }  ///< K
  bool bias() const { return bias_; }                          ///< With a bias (default true).

 private:
  std::int64_t in_features_, out_features_;
  bool bias_ = true;
};

/// y = x W^T + b, as torch.nn.Linear: float32 [..., D] -> [..., K], D = in_features,
/// K = out_features.
///
/// weight is [K, D] (PyTorch's layout), bias is [K] and is undefined when bias = false, both
/// float32. Initialized as PyTorch does (torch.nn.Linear's documented init), drawing from `gen`:
///   weight ~ kaiming_uniform_(a = sqrt(5)), i.e. U(-1/sqrt(D), 1/sqrt(D));
///   bias   ~ U(-1/sqrt(D), 1/sqrt(D)) (zero when D == 0).
/// Prints as "Linear(in_features=784, out_features=10, bias=true)".
class Linear : public Module {
 public:
  /// A layer D -> K, with a bias unless `has_bias` is false, initialized from `gen`.
  /// \throws ember::Error for a negative size.
  Linear(std::int64_t in_features, std::int64_t out_features, bool has_bias = true,
         Generator& gen = default_generator());
  /// \overload
  /// As libtorch's LinearOptions(784, 10).bias(false): Linear(LinearOptions(784, 10).bias(false)).
  explicit Linear(const LinearOptions& options, Generator& gen = default_generator());
  /// An empty holder, to be assigned later: `Linear fc{nullptr}; fc = register_module(...)`.
  explicit Linear(std::nullptr_t) : Module(nullptr) {}

  /// An independent copy: new parameter tensors holding the same values (a plain copy shares
  /// the module, see Note [Modules are handles] in module.h).
  Linear clone() const;

  /// functional::linear(x, weight, bias): float32 [..., D] -> [..., K].
  /// \throws ember::Error for a non-float32 x, a 0-d x, or a last dim other than D.
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;  ///< "in_features=784, out_features=10, bias=true"
  /// Re-draws weight and bias from `gen` with the default init above.
  void reset_parameters(Generator& gen = default_generator());

  std::int64_t in_features() const { return in_features_; }    ///< D
  std::int64_t out_features() const { return out_features_; }  ///< K

  Tensor weight;  ///< float32 [K, D]
  Tensor bias;    ///< float32 [K], undefined if constructed with bias = false

 private:
  std::int64_t in_features_ = 0;
  std::int64_t out_features_ = 0;
};

}  // namespace ember::nn
