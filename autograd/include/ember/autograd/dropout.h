/// \file
/// ember::dropout: inverted dropout, differentiable (the mask is computed by core, see
/// <ember/core/dropout.h>).
#pragma once

#include <ember/core/generator.h>
#include <ember/core/tensor.h>

namespace ember {

/// Inverted dropout, as torch::dropout(input, p, train): float32, any shape -> the same shape.
///
/// In training, each element is zeroed with probability `p` and the others are scaled by
/// 1 / (1 - p), so the expected value is unchanged: y = x * m, m = core::dropout_mask(shape, p,
/// gen) (one draw from `gen`; a seed reproduces the mask bitwise at any thread count). The
/// gradient is grad_out * m. `p == 1` gives zeros and a zero gradient. `p == 0`, `train ==
/// false` or an empty x return x itself (the identity, as PyTorch).
/// \throws ember::Error when p is not in [0, 1] ("dropout probability has to be between 0 and 1,
///   but got 1.5") or x is not float32.
Tensor dropout(const Tensor& x, double p, bool train, Generator& gen = default_generator());

}  // namespace ember
