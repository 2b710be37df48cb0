// The softmax family along one dim: one fused row kernel each way (nn/src/kernels/nn_softmax.cpp).
#include <ember/nn/functional/activation.h>

#include <algorithm>

#include <ember/autograd/node.h>

#include "kernels/nn_softmax.h"

namespace ember::nn::functional {
namespace {

using kernels::RowShape;
using kernels::SoftmaxKind;

// [outer, K, inner] around `dim` (a 0-d tensor is one row of one element, as in PyTorch).
RowShape row_shape(const Tensor& x, std::int64_t dim) {
  RowShape shape;
  const Shape& sizes = x.sizes();
  if (sizes.empty()) {
    shape.K = 1;
    return shape;
  }
  // Nothing to compute (and the sizes of an empty [2^40, 2^40, 0] multiply past int64).
  if (x.numel() == 0) {
    shape.outer = 0;
    return shape;
  }
  for (std::int64_t d = 0; d < dim; ++d) shape.outer *= sizes[static_cast<std::size_t>(d)];
  shape.K = sizes[static_cast<std::size_t>(dim)];
  for (std::size_t d = static_cast<std::size_t>(dim) + 1; d < sizes.size(); ++d) {
    shape.inner *= sizes[d];
  }
  return shape;
}

// Forward with the kernel, then the backward (formulas in nn_softmax.h) from the saved output.
Tensor softmax_op(const Tensor& x, std::int64_t dim, SoftmaxKind kind, const char* op,
                  const char* node) {
  EMBER_CHECK(x.defined(), op, ": input is an undefined tensor");
  // PyTorch refuses integers here too ("softmax_lastdim_kernel_impl" not implemented for 'Long'),
  // where exp, sigmoid and tanh convert them.
  EMBER_CHECK(x.dtype() == kFloat32, op, ": expected a float32 input, got ", x.dtype(),
              " of shape ", to_string(x.sizes()),
              " (integers are not converted, as in PyTorch: use .to(ember::kFloat32))");
  const std::int64_t d = wrap_dim(dim, x.dim(), op);  // a 0-d tensor takes -1 and 0
  const RowShape shape = row_shape(x, d);
  const Tensor xc = x.contiguous();
  Tensor out = empty(x.sizes());
  kernels::softmax_forward(kind, xc.data_ptr<float>(), out.data_ptr<float>(), shape);
  if (autograd::needs_graph({&x})) {
    // softmax: dy_k/dx_j = y_k ([k == j] - y_j), so grad_x = y * (g - sum(g * y));
    // softmin = softmax(-x) flips the sign; log_softmax: dy_k/dx_j = [k == j] - softmax_j, so
    // grad_x = g - exp(y) * sum(g).
    autograd::record(node, {x}, out,
                     [saved = autograd::SavedTensor(out), kind, shape, op](
                         const Tensor& grad_out, const std::vector<bool>&) {
                       const Tensor y = saved.get(op);
                       const Tensor g = grad_out.contiguous();
                       Tensor grad_x = empty(y.sizes());
                       kernels::softmax_backward(kind, y.data_ptr<float>(), g.data_ptr<float>(),
                                                 grad_x.data_ptr<float>(), shape);
                       return std::vector<Tensor>{grad_x};
                     });
  }
  return out;
}

}  // namespace

Tensor softmax(const Tensor& x, std::int64_t dim) {
  return softmax_op(x, dim, SoftmaxKind::Softmax, "softmax", "SoftmaxBackward");
}

Tensor log_softmax(const Tensor& x, std::int64_t dim) {
  return softmax_op(x, dim, SoftmaxKind::LogSoftmax, "log_softmax", "LogSoftmaxBackward");
}

Tensor softmin(const Tensor& x, std::int64_t dim) {
  return softmax_op(x, dim, SoftmaxKind::Softmin, "softmin", "SoftminBackward");
}

Tensor softmax2d(const Tensor& x) {
  EMBER_CHECK(x.defined(), "softmax2d: input is an undefined tensor");
  EMBER_CHECK(x.dim() == 3 || x.dim() == 4,
              "softmax2d: expected a 3-d [C, H, W] or 4-d [N, C, H, W] input, got shape ",
              to_string(x.sizes()));
  return softmax_op(x, -3, SoftmaxKind::Softmax, "softmax2d", "SoftmaxBackward");
}

}  // namespace ember::nn::functional
