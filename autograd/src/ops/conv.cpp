// Differentiable conv2d and 2-d pooling: compute in core (core/src/ops/conv.cpp, pool.cpp),
// record the backward right below. See <ember/autograd/conv.h>.
#include <ember/autograd/conv.h>

#include <vector>

#include <ember/autograd/node.h>
#include <ember/core/error.h>

namespace ember {

namespace {

using Grads = std::vector<Tensor>;

void check_image(const Tensor& t, const char* op, const char* what) {
  EMBER_CHECK(t.defined(), op, ": ", what, " is undefined");
  EMBER_CHECK(t.dtype() == kFloat32, op, ": expected a float32 ", what, ", got ",
              dtype_name(t.dtype()));
}

// A 3-d image [C, H, W] runs as a batch of one; the result loses the batch dim again.
bool unbatched(const Tensor& x, const char* op) {
  EMBER_CHECK(x.dim() == 3 || x.dim() == 4, op,
              ": expected a 3-d [C, H, W] or 4-d [N, C, H, W] input, got ", to_string(x.sizes()));
  return x.dim() == 3;
}

}  // namespace

Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias,
              ExpandingArray<2> stride, Conv2dPadding padding, ExpandingArray<2> dilation,
              std::int64_t groups) {
  check_image(input, "conv2d", "input");
  check_image(weight, "conv2d", "weight");
  if (unbatched(input, "conv2d")) {
    EMBER_CHECK(weight.dim() == 4, "conv2d: expected a 4-d weight [O, C/groups, KH, KW], got ",
                to_string(weight.sizes()));
    return conv2d(input.unsqueeze(0), weight, bias, stride, padding, dilation, groups).squeeze(0);
  }
  const core::Conv2dGeometry g = core::conv2d_geometry(input.sizes(), weight.sizes(), stride,
                                                       padding, dilation, groups, "conv2d");
  if (bias.defined()) {
    check_image(bias, "conv2d", "bias");
    EMBER_CHECK(bias.dim() == 1 && bias.size(0) == g.O, "conv2d: bias must be [", g.O,
                "] (the out-channels of weight ", to_string(weight.sizes()), "), got ",
                to_string(bias.sizes()));
  }
  const Tensor x = input.detach(), w = weight.detach();
  Tensor y = core::conv2d_forward(x, w, bias.defined() ? bias.detach() : Tensor(), g);

  std::vector<Tensor> inputs{input, weight};
  if (bias.defined()) inputs.push_back(bias);
  if (autograd::needs_graph(inputs)) {
    // y = w (*) x + b, as the GEMM y = W col(x) + b per image (Note [Convolution as im2col +
    // GEMM] in core/src/ops/conv.cpp), with g = dL/dy:
    //   dL/dx = col2im(W^T g)      dL/dW = sum over images of g col(x)^T
    //   dL/db[o] = sum over n, oh, ow of g[n, o, oh, ow]
    autograd::record(
        "ConvolutionBackward", inputs, y,
        [g, sx = autograd::SavedTensor(input), sw = autograd::SavedTensor(weight)](
            const Tensor& grad_out, const std::vector<bool>& needs) {
          const Tensor go = grad_out.detach();
          Grads grads(needs.size());
          if (needs[0])
            grads[0] = core::conv2d_backward_input(go, sw.get("ConvolutionBackward").detach(), g);
          const bool grad_b = needs.size() > 2 && needs[2];
          if (needs[1]) {
            grads[1] = core::conv2d_backward_weight(go, sx.get("ConvolutionBackward").detach(), g,
                                                    grad_b ? &grads[2] : nullptr);
          } else if (grad_b) {
            grads[2] = core::conv2d_backward_bias(go, g);
          }
          return grads;
        });
  }
  return y;
}

std::pair<Tensor, Tensor> max_pool2d_with_indices(const Tensor& input,
                                                  ExpandingArray<2> kernel_size, PoolStride stride,
                                                  ExpandingArray<2> padding,
                                                  ExpandingArray<2> dilation, bool ceil_mode) {
  check_image(input, "max_pool2d", "input");
  if (unbatched(input, "max_pool2d")) {
    auto [y, indices] = max_pool2d_with_indices(input.unsqueeze(0), kernel_size, stride, padding,
                                                dilation, ceil_mode);
    return {y.squeeze(0), indices.squeeze(0)};
  }
  const core::Pool2dGeometry g =
      core::pool2d_geometry(input.sizes(), kernel_size, stride.value_or(kernel_size), padding,
                            dilation, ceil_mode, "max_pool2d");
  auto [y, indices] = core::max_pool2d_forward(input.detach(), g);
  if (autograd::needs_graph({&input})) {
    // y = x[argmax of each window]: the gradient flows to that one element (the first maximum),
    //   dL/dx[n, c, i] = sum of g[n, c, window] over the windows whose maximum is at i.
    autograd::record("MaxPool2DWithIndicesBackward", {input}, y,
                     [g, saved = autograd::SavedTensor(indices)](const Tensor& grad_out,
                                                                 const std::vector<bool>&) {
                       return Grads{core::max_pool2d_backward(
                           grad_out.detach(), saved.get("MaxPool2DWithIndicesBackward"), g)};
                     });
  }
  return {y, indices};
}

Tensor max_pool2d(const Tensor& input, ExpandingArray<2> kernel_size, PoolStride stride,
                  ExpandingArray<2> padding, ExpandingArray<2> dilation, bool ceil_mode) {
  return max_pool2d_with_indices(input, kernel_size, stride, padding, dilation, ceil_mode).first;
}

Tensor avg_pool2d(const Tensor& input, ExpandingArray<2> kernel_size, PoolStride stride,
                  ExpandingArray<2> padding, bool ceil_mode, bool count_include_pad,
                  std::optional<std::int64_t> divisor_override) {
  check_image(input, "avg_pool2d", "input");
  EMBER_CHECK(divisor_override.value_or(1) != 0, "avg_pool2d: divisor_override must not be zero");
  if (unbatched(input, "avg_pool2d"))
    return avg_pool2d(input.unsqueeze(0), kernel_size, stride, padding, ceil_mode,
                      count_include_pad, divisor_override)
        .squeeze(0);
  const core::Pool2dGeometry g =
      core::pool2d_geometry(input.sizes(), kernel_size, stride.value_or(kernel_size), padding, 1,
                            ceil_mode, "avg_pool2d");
  const core::AvgPoolDivisor divisor{count_include_pad, divisor_override.value_or(0)};
  Tensor y = core::avg_pool2d_forward(input.detach(), g, divisor);
  if (autograd::needs_graph({&input})) {
    // y = (1 / divisor) sum over the window of x: each cell of a window gets g / divisor,
    //   dL/dx[n, c, i] = sum over the windows holding i of g[n, c, window] / divisor(window).
    autograd::record("AvgPool2DBackward", {input}, y,
                     [g, divisor](const Tensor& grad_out, const std::vector<bool>&) {
                       return Grads{core::avg_pool2d_backward(grad_out.detach(), g, divisor)};
                     });
  }
  return y;
}

Tensor adaptive_avg_pool2d(const Tensor& input, ExpandingArray<2> output_size) {
  check_image(input, "adaptive_avg_pool2d", "input");
  if (unbatched(input, "adaptive_avg_pool2d"))
    return adaptive_avg_pool2d(input.unsqueeze(0), output_size).squeeze(0);
  EMBER_CHECK(input.size(1) >= 1 && input.size(2) >= 1 && input.size(3) >= 1,
              "adaptive_avg_pool2d: expected an input with non-empty channels, height and width, "
              "got ",
              to_string(input.sizes()));
  const std::int64_t OH = output_size[0], OW = output_size[1];
  EMBER_CHECK(OH >= 1 && OW >= 1, "adaptive_avg_pool2d: output_size must be >= 1, got (", OH, ", ",
              OW, ") for input ", to_string(input.sizes()));
  // Window bounds compute (i + 1) * H: keep that in range.
  constexpr std::int64_t kLimit = std::int64_t{1} << 31;
  EMBER_CHECK(OH < kLimit && OW < kLimit && input.size(2) < kLimit && input.size(3) < kLimit,
              "adaptive_avg_pool2d: sizes too large: input ", to_string(input.sizes()),
              ", output_size (", OH, ", ", OW, ")");
  Tensor y = core::adaptive_avg_pool2d_forward(input.detach(), OH, OW);
  if (autograd::needs_graph({&input})) {
    // y = the mean over each window: each cell of a window gets g / (window's size),
    //   dL/dx[n, c, i] = sum over the windows holding i of g[n, c, window] / size(window).
    autograd::record(
        "AdaptiveAvgPool2DBackward", {input}, y,
        [H = input.size(2), W = input.size(3)](const Tensor& grad_out, const std::vector<bool>&) {
          return Grads{core::adaptive_avg_pool2d_backward(grad_out.detach(), H, W)};
        });
  }
  return y;
}

}  // namespace ember
