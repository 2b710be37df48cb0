// y = x W^T + b and its backward, over the GEMM kernel. See functional/linear.h.
#include <ember/nn/functional/linear.h>

#include <cstdint>
#include <vector>

#include <ember/autograd/node.h>
#include <ember/core/error.h>
#include <ember/core/ops.h>

#include "kernels/gemm.h"

namespace ember::nn::functional {

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  EMBER_CHECK(x.defined() && weight.defined(), "linear: input and weight must be defined");
  EMBER_CHECK(x.dtype() == kFloat32 && weight.dtype() == kFloat32,
              "linear: expected float32 input and weight, got ", dtype_name(x.dtype()), " and ",
              dtype_name(weight.dtype()));
  EMBER_CHECK(weight.dim() == 2, "linear: weight must be 2-d [out_features, in_features], got ",
              to_string(weight.sizes()));
  EMBER_CHECK(x.dim() >= 1,
              "linear: input must have at least 1 dim [..., in_features], got a 0-d "
              "tensor");
  // Shape letters: N rows (all leading dims of x), D = in_features, K = out_features.
  const std::int64_t D = weight.size(1);
  const std::int64_t K = weight.size(0);
  EMBER_CHECK(x.size(-1) == D, "linear: input ", to_string(x.sizes()), " and weight ",
              to_string(weight.sizes()), " cannot be multiplied: input's last dim ", x.size(-1),
              " must equal weight's in_features ", D);
  if (bias.defined()) {
    EMBER_CHECK(bias.dtype() == kFloat32, "linear: expected a float32 bias, got ",
                dtype_name(bias.dtype()));
    EMBER_CHECK(bias.dim() == 1 && bias.size(0) == K, "linear: bias must be [", K,
                "] (out_features of weight ", to_string(weight.sizes()), "), got ",
                to_string(bias.sizes()));
  }
  Shape out_shape(x.sizes().begin(), x.sizes().end() - 1);
  const std::int64_t N = numel_of(out_shape);
  out_shape.push_back(K);

  // Raw data without any graph: detach() shares storage, contiguous() copies only if needed.
  const Tensor x_c = x.detach().contiguous();
  const Tensor w_c = weight.detach().contiguous();
  const Tensor b_c = bias.defined() ? bias.detach().contiguous() : Tensor();
  Tensor y = empty(out_shape);
  // y[N,K] = x[N,D] @ W[K,D]^T + b[K]: one fused GEMM + bias call.
  kernels::gemm(false, true, N, K, D, x_c.data_ptr<float>(), D, w_c.data_ptr<float>(), D,
                y.data_ptr<float>(), K, /*accumulate=*/false,
                b_c.defined() ? b_c.data_ptr<float>() : nullptr);

  std::vector<Tensor> inputs{x, weight};
  if (bias.defined()) inputs.push_back(bias);
  if (!autograd::needs_graph(inputs)) return y;

  const Shape x_shape = x.sizes();
  autograd::SavedTensor saved_x(x);
  autograd::SavedTensor saved_w(weight);
  const bool has_bias = bias.defined();
  autograd::record("LinearBackward", inputs, y,
                   [=](const Tensor& grad_out, const std::vector<bool>& needs) {
                     // y = x W^T + b, with g = dL/dy [N,K]:
                     //   dL/dx = g W      [N,K] @ [K,D]
                     //   dL/dW = g^T x    [K,N] @ [N,D]
                     //   dL/db = sum_n g[n, :]   (Note [Column sums in blocks of rows])
                     std::vector<Tensor> grads(has_bias ? 3 : 2);
                     const Tensor g = grad_out.detach().contiguous();
                     const float* g_data = g.data_ptr<float>();
                     if (needs[0]) {
                       const Tensor w = saved_w.get("LinearBackward").detach().contiguous();
                       Tensor grad_x = empty(x_shape);
                       kernels::gemm(false, false, N, D, K, g_data, K, w.data_ptr<float>(), D,
                                     grad_x.data_ptr<float>(), D, false);
                       grads[0] = grad_x;
                     }
                     if (needs[1]) {
                       const Tensor xs = saved_x.get("LinearBackward").detach().contiguous();
                       Tensor grad_w = empty({K, D});
                       kernels::gemm(true, false, K, D, N, g_data, K, xs.data_ptr<float>(), D,
                                     grad_w.data_ptr<float>(), D, false);
                       grads[1] = grad_w;
                     }
                     if (has_bias && needs[2]) {
                       grads[2] = core::sum(core::reshape(g, {N, K}), 0);
                     }
                     return grads;
                   });
  return y;
}

}  // namespace ember::nn::functional
