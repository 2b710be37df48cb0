// ember::nn::Linear: a fully connected layer, y = x W^T + b.
#pragma once

#include <cstdint>
#include <string>

#include <ember/core/generator.h>
#include <ember/core/tensor.h>
#include <ember/nn/module.h>

namespace ember::nn {

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

  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  // Re-draws weight and bias from `gen` with the default init above.
  void reset_parameters(Generator& gen = default_generator());

  std::int64_t in_features() const { return in_features_; }
  std::int64_t out_features() const { return out_features_; }

  Tensor weight;  // [out_features, in_features]
  Tensor bias;    // [out_features], undefined if constructed with bias = false

 private:
  std::int64_t in_features_;
  std::int64_t out_features_;
};

}  // namespace ember::nn
