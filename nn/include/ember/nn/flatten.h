/// \file
/// ember::nn::Flatten: merges a range of dims into one.
#pragma once

#include <cstdint>
#include <string>

#include <ember/nn/module.h>

namespace ember::nn {

/// Merges dims start_dim..end_dim (inclusive, negative counts from the end) into one, as
/// torch.nn.Flatten: [N, C, H, W] -> [N, C*H*W] with the defaults.
///
/// Any dtype. A view when strides allow (always for contiguous input); the gradient is
/// grad_output reshaped back. Prints as "Flatten(start_dim=1, end_dim=-1)".
class Flatten : public Module {
 public:
  /// Flattens dims start_dim..end_dim; both are checked against the input in forward.
  explicit Flatten(std::int64_t start_dim = 1, std::int64_t end_dim = -1);

  /// x.flatten(start_dim(), end_dim()): [d0, ..., d(s), ..., d(e), ...] ->
  /// [d0, ..., d(s) * ... * d(e), ...], the same dtype.
  /// \throws ember::Error when a dim is out of range for x or start_dim comes after end_dim.
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;  ///< "start_dim=1, end_dim=-1"

  std::int64_t start_dim() const { return start_dim_; }  ///< As given at construction.
  std::int64_t end_dim() const { return end_dim_; }      ///< As given at construction.

 private:
  std::int64_t start_dim_;
  std::int64_t end_dim_;
};

}  // namespace ember::nn
