/// \file
/// Activations and the softmax family as differentiable functions (torch.nn.functional).
/// All take and return float32 tensors of any shape (strided inputs are fine) and throw
/// ember::Error naming the op for an undefined or non-float32 input or a bad dim, except where
/// PyTorch takes integers: sigmoid and tanh convert them to float32, relu keeps their dtype.
#pragma once

#include <cstdint>

#include <ember/core/tensor.h>

namespace ember::nn::functional {

// --- Elementwise: [*] -> [*] ---

/// sigmoid(x) = 1 / (1 + exp(-x)), elementwise: float32 [*] -> float32 [*]; int64 and uint8
/// inputs are converted to float32 first, as torch.sigmoid.
///
/// Within 3 ULP of the exact value for every float (no overflow: sigmoid(-100) = 3.7e-44).
/// Gradient y (1 - y). As torch.sigmoid.
/// \throws ember::Error for an undefined x.
Tensor sigmoid(const Tensor& x);
/// tanh(x), elementwise: float32 [*] -> float32 [*]; int64 and uint8 inputs are converted to
/// float32 first, as torch.tanh.
///
/// Within 3 ULP of the exact value for every float. Gradient 1 - y^2. As torch.tanh.
/// \throws ember::Error for an undefined x.
Tensor tanh(const Tensor& x);
/// relu(x) = max(x, 0), elementwise: [*] -> [*] of x's dtype (int64 and uint8 stay integer, as
/// torch.relu).
///
/// NaN stays NaN. Gradient [y > 0], so relu'(0) = 0, as torch.nn.functional.relu (the rectifier
/// of Nair & Hinton 2010).
/// \throws ember::Error for an undefined x.
Tensor relu(const Tensor& x);
/// silu(x) = x sigmoid(x) (swish), elementwise: float32 [*] -> float32 [*].
///
/// Gradient s (1 + x (1 - s)), s = sigmoid(x). The SiLU of Elfwing et al.\ 2018 (Ramachandran
/// et al.\ 2017's swish), as torch.nn.functional.silu.
/// \throws ember::Error for an undefined or non-float32 x.
Tensor silu(const Tensor& x);
/// logsigmoid(x) = log(sigmoid(x)), elementwise and stable: float32 [*] -> float32 [*].
///
/// Computed as min(x, 0) - log1p(exp(-|x|)), stable for any x (logsigmoid(-1e4) = -1e4, never
/// log(0)). Gradient sigmoid(-x). As torch.nn.functional.logsigmoid.
/// \throws ember::Error for an undefined or non-float32 x.
Tensor logsigmoid(const Tensor& x);

// --- Along a dim: [*] -> [*], dim in [-rank, rank) ---

/// softmax(x)_k = exp(x_k - max) / sum_j exp(x_j - max) along `dim`: float32 [*] -> [*].
///
/// `dim` is in [-rank, rank) (a 0-d x takes -1 and 0). A row holding +inf, NaN or only -inf
/// gives NaN, as PyTorch (torch.nn.functional.softmax). Gradient y (g - sum(g y)).
/// \throws ember::Error for an undefined or non-float32 x, or a dim out of range.
Tensor softmax(const Tensor& x, std::int64_t dim);
/// log_softmax(x)_k = (x_k - max) - log(sum_j exp(x_j - max)) along `dim`: float32 [*] -> [*].
///
/// Exact for logits of any size (no log of a rounded softmax); dim as softmax(). Gradient
/// g - exp(y) sum(g). As torch.nn.functional.log_softmax.
/// \throws ember::Error for an undefined or non-float32 x, or a dim out of range.
Tensor log_softmax(const Tensor& x, std::int64_t dim);
/// softmin(x) = softmax(-x) along `dim`: float32 [*] -> [*], as torch.nn.functional.softmin.
/// \throws ember::Error for an undefined or non-float32 x, or a dim out of range.
Tensor softmin(const Tensor& x, std::int64_t dim);
/// Softmax over channels, dim -3: float32 [N, C, H, W] or [C, H, W] -> the same shape.
///
/// As torch.nn.Softmax2d.
/// \throws ember::Error for an undefined or non-float32 x, or a rank other than 3 or 4.
Tensor softmax2d(const Tensor& x);

}  // namespace ember::nn::functional
