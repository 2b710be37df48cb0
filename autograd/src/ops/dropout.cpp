// ember::dropout: core computes the mask and the product, autograd records the gradient.
#include <ember/autograd/dropout.h>

#include <vector>

#include <ember/autograd/node.h>
#include <ember/core/dropout.h>
#include <ember/core/error.h>

namespace ember {

Tensor dropout(const Tensor& x, double p, bool train, Generator& gen) {
  EMBER_CHECK(p >= 0.0 && p <= 1.0,
              "dropout: dropout probability has to be between 0 and 1, but got ", p);
  EMBER_CHECK(x.defined(), "dropout: the input is undefined");
  EMBER_CHECK(x.dtype() == kFloat32, "dropout: expected a float32 input, got ", x.dtype(),
              " of shape ", to_string(x.sizes()));
  if (p == 0.0 || !train || x.numel() == 0) return x;  // as PyTorch's _dropout_impl
  const Tensor mask = core::dropout_mask(x.sizes(), p, gen);
  Tensor out = core::dropout_apply(x.detach(), mask);
  // y = x * m elementwise, m fixed (0 or 1 / (1 - p)): dy/dx is diagonal with entries m, so
  // grad_x = grad_out * m; at p = 1, m = 0 and the gradient is zero. The mask needs no graph
  // and never changes, so it is captured as it is.
  if (autograd::needs_graph({&x})) {
    autograd::record("DropoutBackward", {x}, out,
                     [mask](const Tensor& grad_out, const std::vector<bool>&) {
                       return std::vector<Tensor>{core::dropout_apply(grad_out.detach(), mask)};
                     });
  }
  return out;
}

}  // namespace ember
