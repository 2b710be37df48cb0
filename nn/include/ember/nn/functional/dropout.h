/// \file
/// ember::nn::functional::dropout: inverted dropout, the op behind nn::Dropout.
#pragma once

#include <ember/core/generator.h>
#include <ember/core/tensor.h>

namespace ember::nn::functional {

/// Inverted dropout, as torch.nn.functional.dropout(x, p, training): float32 [*] -> [*].
///
/// In training each element is zeroed with probability p and the others are scaled by
/// 1 / (1 - p) (the expected value is unchanged); the mask is drawn from `gen`, so a seed
/// reproduces it bitwise at any thread count (Note [Dropout masks at any thread count] in
/// <ember/core/dropout.h>). p = 0 and training = false return x itself; p = 1 gives zeros and a
/// zero gradient. The gradient is grad_output times the same mask. See ember::dropout.
/// \throws ember::Error when p is not in [0, 1] or x is not float32.
Tensor dropout(const Tensor& x, double p = 0.5, bool training = true,
               Generator& gen = default_generator());

}  // namespace ember::nn::functional
