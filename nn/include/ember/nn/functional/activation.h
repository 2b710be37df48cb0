// Activations and the softmax family as differentiable functions (torch.nn.functional).
// All take and return float32 tensors of any shape (strided inputs are fine) and throw
// ember::Error naming the op for a non-float32 input or a bad dim, except where PyTorch takes
// integers: sigmoid and tanh convert them to float32, relu keeps their dtype.
#pragma once

#include <cstdint>

#include <ember/core/tensor.h>

namespace ember::nn::functional {

// --- Elementwise: [*] -> [*] ---

// sigmoid(x) = 1 / (1 + exp(-x)), within 3 ULP of the exact value for every float (no overflow:
// sigmoid(-100) = 3.7e-44). Gradient y (1 - y).
Tensor sigmoid(const Tensor& x);
// tanh(x), within 3 ULP of the exact value for every float. Gradient 1 - y^2.
Tensor tanh(const Tensor& x);
// relu(x) = max(x, 0); NaN stays NaN. Gradient [y > 0], so relu'(0) = 0.
Tensor relu(const Tensor& x);
// silu(x) = x sigmoid(x) (swish). Gradient s (1 + x (1 - s)), s = sigmoid(x).
Tensor silu(const Tensor& x);
// logsigmoid(x) = log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)), stable for any x
// (logsigmoid(-1e4) = -1e4, never log(0)). Gradient sigmoid(-x).
Tensor logsigmoid(const Tensor& x);

// --- Along a dim: [*] -> [*], dim in [-rank, rank) ---

// softmax(x)_k = exp(x_k - max) / sum_j exp(x_j - max) along `dim`. A row holding +inf, NaN or
// only -inf gives NaN, as PyTorch.
Tensor softmax(const Tensor& x, std::int64_t dim);
// log_softmax(x)_k = (x_k - max) - log(sum_j exp(x_j - max)) along `dim`: exact for logits of
// any size (no log of a rounded softmax).
Tensor log_softmax(const Tensor& x, std::int64_t dim);
// softmin(x) = softmax(-x) along `dim`.
Tensor softmin(const Tensor& x, std::int64_t dim);
// Softmax over channels: dim -3 of [N, C, H, W] or [C, H, W]; other ranks throw.
Tensor softmax2d(const Tensor& x);

}  // namespace ember::nn::functional
