/// \file
/// Dropout's computation without a graph: the random keep mask and its product with a tensor
/// (ember::dropout in <ember/autograd/dropout.h> records the gradient).
#pragma once

#include <ember/core/generator.h>
#include <ember/core/tensor.h>

namespace ember::core {

/// The mask of inverted dropout: float32 of `shape`, each element `1 / (1 - p)` with probability
/// `1 - p` (kept) and `0` with probability `p` (dropped), as PyTorch's
/// `bernoulli_(1 - p).div_(1 - p)`; all zeros when `p == 1`.
///
/// Note [Dropout masks at any thread count]: the mask takes ONE 64-bit draw from `gen`, a base,
/// whatever the shape; element i of the mask then takes output i of the SplitMix64 stream
/// (`splitmix64(base, i)`) that starts at the base, a function of (base, i) alone. So the mask is
/// bitwise the same at any thread count, and a seed reproduces it. Element i is kept when the top
/// 24 bits k of its draw satisfy k * 2^-24 < 1 - p, so p = 0 keeps all and p = 1 none. These are
/// ember's masks, not PyTorch's: PyTorch draws one number per element from its generator in order,
/// which no second thread can share (Note [PyTorch's draws]). \throws ember::Error when p is not in
/// [0, 1] (or is nan).
Tensor dropout_mask(const Shape& shape, double p, Generator& gen);

/// x * mask, elementwise, as a new contiguous float32 tensor: dropout's forward, and (with the
/// upstream gradient as x) its backward. `x` may be strided; shapes must be equal.
/// \throws ember::Error for a non-float32 tensor or different shapes.
Tensor dropout_apply(const Tensor& x, const Tensor& mask);

}  // namespace ember::core
