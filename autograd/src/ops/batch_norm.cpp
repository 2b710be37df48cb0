// ember::batch_norm: core computes (statistics, output, running statistics, backward),
// autograd records the node.
#include <ember/autograd/batch_norm.h>

#include <vector>

#include <ember/autograd/grad_mode.h>
#include <ember/autograd/node.h>
#include <ember/core/batch_norm.h>

namespace ember {

namespace {
Tensor without_graph(const Tensor& t) {
  return t.defined() ? t.detach() : Tensor();
}
}  // namespace

Tensor batch_norm(const Tensor& input, const Tensor& weight, const Tensor& bias,
                  const Tensor& running_mean, const Tensor& running_var, bool training,
                  double momentum, double eps) {
  core::BatchNormForward fwd = core::batch_norm_forward(
      without_graph(input), without_graph(weight), without_graph(bias), without_graph(running_mean),
      without_graph(running_var), training, momentum, eps);
  if (fwd.new_running_mean.defined()) {
    // Buffers, written in place (their version counts the write) and never part of a graph.
    NoGradGuard no_grad;
    Tensor rm = running_mean, rv = running_var;
    rm.copy_(fwd.new_running_mean.reshape(rm.sizes()));
    rv.copy_(fwd.new_running_var.reshape(rv.sizes()));
  }
  Tensor out = fwd.output;
  // With xhat = (x - mean) invstd, y = weight xhat + bias, g = dL/dy, sums over a channel's M
  // values: dL/dbias = sum g, dL/dweight = sum g xhat. In training mean and invstd depend on x:
  // dL/dxhat = weight g, and through d mean/dx = 1/M and d invstd/dx = -invstd^3 (x - mean)/M,
  // dL/dx = weight invstd (g - sum g / M - xhat sum(g xhat) / M). In evaluation they are
  // constants: dL/dx = weight invstd g.
  if (autograd::needs_graph({&input, &weight, &bias})) {
    autograd::record(
        "BatchNormBackward", {input, weight, bias}, out,
        [saved_x = autograd::SavedTensor(input),
         saved_w = weight.defined() ? autograd::SavedTensor(weight) : autograd::SavedTensor(),
         has_weight = weight.defined(), weight_shape = weight.defined() ? weight.sizes() : Shape{},
         bias_shape = bias.defined() ? bias.sizes() : Shape{}, mean = fwd.mean, invstd = fwd.invstd,
         training](const Tensor& grad_out, const std::vector<bool>& needs) {
          const Tensor x = saved_x.get("BatchNormBackward");
          const Tensor w = has_weight ? saved_w.get("BatchNormBackward") : Tensor();
          core::BatchNormGrads g = core::batch_norm_backward(
              grad_out.detach(), x, w, mean, invstd, training, needs[0], needs[1], needs[2]);
          return std::vector<Tensor>{g.grad_x,
                                     needs[1] ? g.grad_weight.reshape(weight_shape) : Tensor(),
                                     needs[2] ? g.grad_bias.reshape(bias_shape) : Tensor()};
        });
  }
  return out;
}

}  // namespace ember
