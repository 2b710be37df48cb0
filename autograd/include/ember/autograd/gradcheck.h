// Checking analytic gradients against finite differences.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <ember/core/tensor.h>

namespace ember::autograd {

// Note [Float32 gradcheck]: PyTorch's gradcheck runs in float64 with eps 1e-6, atol 1e-5 and
// rtol 1e-3, where rounding noise in f(x +- eps) (about 1e-16 |f|) divided by 2 eps is ~1e-10.
// ember computes in float32, where the same noise is ~6e-8 |f|: with eps 1e-6 it would swamp the
// derivative. The central difference's truncation error grows as eps^2 |f'''| / 6 while rounding
// noise shrinks as 6e-8 |f| / eps; eps = 1e-3 balances them for inputs and outputs of order one
// (both ~1e-6 to 1e-5), so we compare with atol 1e-3 and rtol 1e-2: loose enough for float32
// noise, tight enough that a wrong factor, sign, transpose or missing term fails.
struct GradcheckOptions {
  double eps = 1e-3;
  double atol = 1e-3;
  double rtol = 1e-2;
  std::uint64_t seed = 0;  // for the random projection below
};

struct GradcheckResult {
  bool ok = true;
  std::string message;     // on failure: input, element index, analytic and numerical values
  double max_error = 0.0;  // worst |analytic - numerical| - rtol |numerical|
};

// Checks d fn / d inputs for every input that requires grad. The output y is projected onto a
// fixed random direction v (L = sum(v * y), summed in double), so one backward gives the analytic
// dL/dx, and for every element of x the central difference (L(x+eps) - L(x-eps)) / (2 eps) gives
// the numerical one. Inputs may be non-contiguous views; they are perturbed in place and restored.
GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                          const std::vector<Tensor>& inputs, const GradcheckOptions& options = {});

}  // namespace ember::autograd
