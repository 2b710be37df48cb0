// ember::nn::Linear: a fully connected layer, y = x W^T + b.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include <ember/core/generator.h>
#include <ember/core/tensor.h>
#include <ember/nn/module.h>

namespace ember::nn {

// Builder options, as libtorch: LinearOptions(784, 10).bias(false).
class LinearOptions {
 public:
  LinearOptions(std::int64_t in_features, std::int64_t out_features)
      : in_features_(in_features), out_features_(out_features) {}
  LinearOptions& bias(bool on) {
    bias_ = on;
    return *this;
  }
  std::int64_t in_features() const { return in_features_; }
  std::int64_t out_features() const { return out_features_; }
  bool bias() const { return bias_; }

 private:
  std::int64_t in_features_, out_features_;
  bool bias_ = true;
};

// y = x W^T + b, as torch.nn.Linear: [..., in_features] -> [..., out_features].
// weight is [out_features, in_features] (PyTorch's layout), bias is [out_features] and is
// undefined when bias = false. Initialized as PyTorch does, drawing from `gen`:
//   weight ~ kaiming_uniform_(a = sqrt(5)), i.e. U(-1/sqrt(in), 1/sqrt(in));
//   bias   ~ U(-1/sqrt(in), 1/sqrt(in)) (zero when in_features == 0).
// Prints as "Linear(in_features=784, out_features=10, bias=true)".
// Throws ember::Error for negative sizes, and in forward for a last dim other than in_features.
class Linear : public Module {
 public:
  Linear(std::int64_t in_features, std::int64_t out_features, bool has_bias = true,
         Generator& gen = default_generator());
  // As libtorch's LinearOptions(784, 10).bias(false): Linear(LinearOptions(784, 10).bias(false)).
  explicit Linear(const LinearOptions& options, Generator& gen = default_generator());
  // An empty holder, to be assigned later: `Linear fc{nullptr}; fc = register_module(...)`.
  explicit Linear(std::nullptr_t) : Module(nullptr) {}

  // An independent copy: new parameter tensors holding the same values (a plain copy shares
  // the module, see Note [Modules are handles] in module.h).
  Linear clone() const;

  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  // Re-draws weight and bias from `gen` with the default init above.
  void reset_parameters(Generator& gen = default_generator());

  std::int64_t in_features() const { return in_features_; }
  std::int64_t out_features() const { return out_features_; }

  Tensor weight;  // [out_features, in_features]
  Tensor bias;    // [out_features], undefined if constructed with bias = false

 private:
  std::int64_t in_features_ = 0;
  std::int64_t out_features_ = 0;
};

}  // namespace ember::nn
