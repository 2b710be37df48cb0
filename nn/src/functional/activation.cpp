// Elementwise activations: forward through a SIMD kernel, backward right below as a lambda.
#include <ember/nn/functional/activation.h>
#include <ember/nn/functional/pooling.h>

#include <ember/autograd/node.h>
#include <ember/autograd/ops.h>

#include "kernels/nn_activation.h"
#include "kernels/nn_sigmoid_pool.h"

namespace ember::nn::functional {
namespace {

using Kernel1 = void (*)(const float*, float*, std::int64_t);
using Kernel2 = void (*)(const float*, const float*, float*, std::int64_t);

void check_float(const Tensor& x, const char* op) {
  EMBER_CHECK(x.defined(), op, ": input is an undefined tensor");
  EMBER_CHECK(x.dtype() == kFloat32, op, ": expected a float32 input, got ", x.dtype(),
              " of shape ", to_string(x.sizes()));
}

// PyTorch's sigmoid and tanh take integer tensors and give float32; its silu and logsigmoid
// refuse them ("not implemented for 'Long'"), which check_float mirrors.
Tensor to_float(const Tensor& x, const char* op) {
  EMBER_CHECK(x.defined(), op, ": input is an undefined tensor");
  return x.to(kFloat32);
}

// out = kernel(x) for a float32 x of any strides.
Tensor map(const Tensor& x, Kernel1 kernel) {
  const Tensor xc = x.contiguous();
  Tensor out = empty(x.sizes());
  kernel(xc.data_ptr<float>(), out.data_ptr<float>(), out.numel());
  return out;
}

// grad_x = kernel(saved, grad_out); grad_out may be strided.
Tensor map_backward(const Tensor& saved, const Tensor& grad_out, Kernel2 kernel) {
  const Tensor g = grad_out.contiguous();
  Tensor grad_x = empty(saved.sizes());
  kernel(saved.data_ptr<float>(), g.data_ptr<float>(), grad_x.data_ptr<float>(), grad_x.numel());
  return grad_x;
}

}  // namespace

Tensor sigmoid(const Tensor& x_in) {
  const Tensor x = to_float(x_in, "sigmoid");
  Tensor out = map(x, kernels::sigmoid_forward);
  if (autograd::needs_graph({&x})) {
    // y = 1 / (1 + e^-x):  dy/dx = e^-x / (1 + e^-x)^2 = y (1 - y)
    autograd::record(
        "SigmoidBackward", {x}, out,
        [saved = autograd::SavedTensor(out)](const Tensor& grad_out, const std::vector<bool>&) {
          return std::vector<Tensor>{
              map_backward(saved.get("sigmoid"), grad_out, kernels::sigmoid_backward)};
        });
  }
  return out;
}

bool sigmoid_avg_pool2d_fuses(const Tensor& x, const AvgPool2dFuncOptions& options) {
  if (!x.defined() || x.dtype() != kFloat32 || x.dim() != 4 || x.numel() == 0) return false;
  const std::int64_t H = x.size(2), W = x.size(3);
  const auto& k = options.kernel_size();
  const auto& s = options.stride();
  const auto& p = options.padding();
  const bool two_by_two =
      k[0] == 2 && k[1] == 2 && s[0] == 2 && s[1] == 2 && p[0] == 0 && p[1] == 0;
  // With ceil_mode an odd size gets a last window half outside the image: not tiled.
  const bool tiled = !options.ceil_mode() || (H % 2 == 0 && W % 2 == 0);
  return two_by_two && tiled && H >= 2 && W >= 2 && W <= kernels::kSigmoidPoolMaxWidth &&
         options.divisor_override().value_or(4) != 0;
}

Tensor sigmoid_avg_pool2d(const Tensor& x_in, const AvgPool2dFuncOptions& options) {
  if (!sigmoid_avg_pool2d_fuses(x_in, options)) return avg_pool2d(sigmoid(x_in), options);
  const Tensor x = x_in.detach().contiguous();
  const std::int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  const float divisor = static_cast<float>(options.divisor_override().value_or(4));
  Tensor out = empty({N, C, H / 2, W / 2});
  // s = sigmoid(x), kept for the backward; without one (evaluation) it is never written.
  const bool graph = autograd::needs_graph({&x_in});
  Tensor sig = graph ? empty(x.sizes()) : Tensor();
  kernels::sigmoid_avg_pool2x2_forward(x.data_ptr<float>(), graph ? sig.data_ptr<float>() : nullptr,
                                       out.data_ptr<float>(), N * C, H, W, divisor);
  if (graph) {
    // y = avg_pool(s), s = sigmoid(x): a cell of a window gets dL/ds = g / divisor (0 outside
    //   every window), and ds/dx = s (1 - s), so dL/dx = (g / divisor) (1 - s) s, from the
    //   saved s (as SigmoidBackward saves its output).
    autograd::record("SigmoidAvgPool2DBackward", {x_in}, out,
                     [saved = autograd::SavedTensor(sig), divisor](const Tensor& grad_out,
                                                                   const std::vector<bool>&) {
                       const Tensor s = saved.get("sigmoid_avg_pool2d");
                       const Tensor g = grad_out.contiguous();
                       Tensor grad_x = empty(s.sizes());
                       kernels::sigmoid_avg_pool2x2_backward(
                           s.data_ptr<float>(), g.data_ptr<float>(), grad_x.data_ptr<float>(),
                           s.size(0) * s.size(1), s.size(2), s.size(3), divisor);
                       return std::vector<Tensor>{grad_x};
                     });
  }
  return out;
}

Tensor tanh(const Tensor& x_in) {
  const Tensor x = to_float(x_in, "tanh");
  Tensor out = map(x, kernels::tanh_forward);
  if (autograd::needs_graph({&x})) {
    // y = tanh(x):  dy/dx = 1 / cosh^2(x) = 1 - y^2
    autograd::record(
        "TanhBackward", {x}, out,
        [saved = autograd::SavedTensor(out)](const Tensor& grad_out, const std::vector<bool>&) {
          return std::vector<Tensor>{
              map_backward(saved.get("tanh"), grad_out, kernels::tanh_backward)};
        });
  }
  return out;
}

Tensor relu(const Tensor& x) {
  EMBER_CHECK(x.defined(), "relu: input is an undefined tensor");
  // An integer tensor stays integer, as PyTorch's relu (uint8 is never below 0).
  if (x.dtype() != kFloat32) return clamp_min(x, 0);
  Tensor out = map(x, kernels::relu_forward);
  if (autograd::needs_graph({&x})) {
    // y = max(x, 0):  dy/dx = 1 where y > 0, else 0 (0 at x = 0, as PyTorch)
    autograd::record(
        "ReluBackward", {x}, out,
        [saved = autograd::SavedTensor(out)](const Tensor& grad_out, const std::vector<bool>&) {
          return std::vector<Tensor>{
              map_backward(saved.get("relu"), grad_out, kernels::relu_backward)};
        });
  }
  return out;
}

Tensor silu(const Tensor& x) {
  check_float(x, "silu");
  Tensor out = map(x, kernels::silu_forward);
  if (autograd::needs_graph({&x})) {
    // y = x s, s = sigmoid(x):  dy/dx = s + x s (1 - s) = s (1 + x (1 - s))
    autograd::record("SiluBackward", {x}, out,
                     [saved = autograd::SavedTensor(x.contiguous())](const Tensor& grad_out,
                                                                     const std::vector<bool>&) {
                       return std::vector<Tensor>{
                           map_backward(saved.get("silu"), grad_out, kernels::silu_backward)};
                     });
  }
  return out;
}

Tensor logsigmoid(const Tensor& x) {
  check_float(x, "logsigmoid");
  Tensor out = map(x, kernels::logsigmoid_forward);
  if (autograd::needs_graph({&x})) {
    // y = -log(1 + e^-x):  dy/dx = e^-x / (1 + e^-x) = 1 - sigmoid(x) = sigmoid(-x)
    autograd::record("LogSigmoidBackward", {x}, out,
                     [saved = autograd::SavedTensor(x.contiguous())](const Tensor& grad_out,
                                                                     const std::vector<bool>&) {
                       return std::vector<Tensor>{map_backward(saved.get("logsigmoid"), grad_out,
                                                               kernels::logsigmoid_backward)};
                     });
  }
  return out;
}

}  // namespace ember::nn::functional
