// y = x W^T + b and its backward, over the GEMM kernel. See functional/linear.h.
#include <ember/nn/functional/linear.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include <ember/autograd/node.h>
#include <ember/core/error.h>
#include <ember/core/parallel.h>

#include "kernels/gemm.h"

namespace ember::nn::functional {

namespace {

// Column sums of g [N, K] into out [K], accumulated in double so the result stays accurate for
// large N. The rows are cut into blocks by the shape alone: each at least kSumGrain elements (a
// batch of 64 rows of 256 is two blocks, of 256 rows eight), at most kMaxSumBlocks of them. A
// piece sums its block's rows, in row order, into its own row of double partials; the partials
// are then added in block order. The result is bitwise the same at any thread count.
// Why blocks of rows and not of columns: g was written by the threads that computed it, each its
// own rows (the ReLU backward's pieces), so a block of rows is mostly read from its own core's
// cache; with blocks of columns every thread read all of g, half of it from the other core, and
// neighbouring pieces' accumulators shared cache lines (the MLP epoch at batch 256 spent 7.4 ms
// in these sums at 1 thread and 9.1 ms at 2; pool trace).
constexpr std::int64_t kSumGrain = std::int64_t{1} << 13;
constexpr std::int64_t kMaxSumBlocks = 64;

void column_sums(const float* g, std::int64_t rows, std::int64_t cols, float* out) {
  if (rows <= 0) {
    std::fill(out, out + cols, 0.0f);
    return;
  }
  const std::int64_t block_rows =
      std::max<std::int64_t>(1, kSumGrain / std::max<std::int64_t>(cols, 1));
  const std::int64_t blocks = std::clamp<std::int64_t>(rows / block_rows, 1, kMaxSumBlocks);
  // One row of partials per block, each starting on its own 64-byte line.
  const std::int64_t stride = (cols + 7) / 8 * 8;
  std::vector<double> storage(static_cast<std::size_t>(blocks * stride + 8), 0.0);
  double* partials = storage.data();
  while (reinterpret_cast<std::uintptr_t>(partials) % 64 != 0) ++partials;
  parallel_for(0, blocks, 1, [&](std::int64_t b0, std::int64_t b1) {
    for (std::int64_t b = b0; b < b1; ++b) {
      double* acc = partials + b * stride;
      const std::int64_t r1 = rows * (b + 1) / blocks;
      for (std::int64_t i = rows * b / blocks; i < r1; ++i) {
        const float* row = g + i * cols;
        for (std::int64_t j = 0; j < cols; ++j) acc[j] += row[j];
      }
    }
  });
  for (std::int64_t j = 0; j < cols; ++j) {
    double sum = partials[j];
    for (std::int64_t b = 1; b < blocks; ++b) sum += partials[b * stride + j];
    out[j] = static_cast<float>(sum);
  }
}

}  // namespace

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
                     //   dL/db = sum_n g[n, :]
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
                       Tensor grad_b = empty({K});
                       column_sums(g_data, N, K, grad_b.data_ptr<float>());
                       grads[2] = grad_b;
                     }
                     return grads;
                   });
  return y;
}

}  // namespace ember::nn::functional
