// ember::nn::functional::linear: y = x W^T + b, the op behind nn::Linear.
#pragma once

#include <ember/core/tensor.h>

namespace ember::nn::functional {

// y = x W^T + b, as torch.nn.functional.linear.
//   x [..., in] (any leading dims, or just [in]), weight [out, in], bias [out] (optional)
//   -> y [..., out]
// Forward is one fused GEMM + bias kernel; backward gives grad_weight = g^T x,
// grad_bias = column sums of g, and grad_x = g W only when x needs a gradient.
// Throws ember::Error if the tensors are not float32, weight is not 2-d, x's last dim differs
// from in_features, or bias is not [out].
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = {});

}  // namespace ember::nn::functional
