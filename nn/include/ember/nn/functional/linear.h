/// \file
/// ember::nn::functional::linear: y = x W^T + b, the op behind nn::Linear.
#pragma once

#include <ember/core/tensor.h>

namespace ember::nn::functional {

/// y = x W^T + b, as torch.nn.functional.linear.
///
/// Shapes, D = in_features, K = out_features, all float32:
///   x [..., D] (any leading dims, or just [D]), weight [K, D], bias [K] (optional) -> y [..., K].
///
/// Forward is one fused GEMM + bias kernel; backward gives grad_weight = g^T x,
/// grad_bias = column sums of g, and grad_x = g W only when x needs a gradient.
/// \throws ember::Error if x or weight is undefined, a tensor is not float32, weight is not 2-d,
///   x is 0-d or its last dim differs from D, or bias is not [K].
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = {});

}  // namespace ember::nn::functional
