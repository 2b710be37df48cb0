/// \file
/// Checking analytic gradients against finite differences.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <ember/core/tensor.h>

namespace ember::autograd {

/// Tolerances of gradcheck, as torch.autograd.gradcheck's eps, atol and rtol, with float32
/// defaults.
///
/// Note [Float32 gradcheck]: PyTorch's gradcheck runs in float64 with eps 1e-6, atol 1e-5 and
/// rtol 1e-3, where rounding noise in f(x +- eps) (about 1e-16 |f|) divided by 2 eps is ~1e-10.
/// ember computes in float32, where the same noise is ~6e-8 |f|: with eps 1e-6 it would swamp the
/// derivative. The central difference's truncation error grows as eps^2 |f'''| / 6 while rounding
/// noise shrinks as 6e-8 |f| / eps; eps = 1e-3 balances them for inputs and outputs of order one
/// (both ~1e-6 to 1e-5), so we compare with atol 1e-3 and rtol 1e-2: loose enough for float32
/// noise, tight enough that a wrong factor, sign, transpose or missing term fails.
struct GradcheckOptions {
  double eps = 1e-3;       ///< The central difference's step; positive and finite in float32.
  double atol = 1e-3;      ///< Absolute tolerance.
  double rtol = 1e-2;      ///< Relative tolerance, times |numerical|.
  std::uint64_t seed = 0;  ///< Seeds the random projection direction v (see gradcheck).
};

/// What gradcheck found.
struct GradcheckResult {
  /// True when every element passed: |analytic - numerical| <= atol + rtol |numerical|.
  bool ok = true;
  std::string message;     ///< On failure: input, element index, analytic and numerical values.
  double max_error = 0.0;  ///< The worst |analytic - numerical| - rtol |numerical|.
};

/// Checks d fn / d inputs for every input that requires grad against central differences, as
/// torch.autograd.gradcheck (in float32: see GradcheckOptions).
///
/// The output y (float32, any shape) is projected onto a fixed random direction v
/// (L = sum(v * y), summed in double), so one backward gives the analytic dL/dx, and for every
/// element of x the central difference (L(x+eps) - L(x-eps)) / (2 eps) gives the numerical one.
/// Inputs may be non-contiguous views; they are perturbed in place and restored. A mismatch is
/// reported in the result, not thrown.
/// \throws ember::Error when `options.eps` is not positive and finite in float32, or `fn`
///         returns a non-float32 tensor (and whatever `fn` throws).
GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                          const std::vector<Tensor>& inputs, const GradcheckOptions& options = {});

}  // namespace ember::autograd
