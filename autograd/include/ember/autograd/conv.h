/// \file
/// Differentiable 2-d convolution and pooling, spelled as libtorch's top-level functions
/// (torch::conv2d, torch::max_pool2d, ...). They compute in core (<ember/core/conv.h>) and record
/// their backward nodes here. nn::Conv2d, nn::MaxPool2d, ... and nn::functional wrap them.
///
/// Shape letters: N batch, C in-channels, O out-channels, H x W image, KH x KW kernel,
/// OH x OW output. Every function takes a batch [N, C, H, W] or one image [C, H, W] (the
/// result then has no batch dim either), float32 only.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>

#include <ember/core/conv.h>
#include <ember/core/tensor.h>

namespace ember {

/// 2-d cross-correlation, as torch.nn.functional.conv2d:
///   y[n, o, i, j] = b[o] + sum_{c, kh, kw} w[o, c, kh, kw] x[n, g(o) C/G + c, i s + kh d - p, ...]
/// input [N, C, H, W] or [C, H, W]; weight [O, C / groups, KH, KW]; bias [O] or undefined
/// -> [N, O, OH, OW] (or [O, OH, OW]) with OH = (H + 2 p - d (KH - 1) - 1) / s + 1 (floor).
/// padding: a number, {h, w}, "same" (stride 1 only; the odd extra row or column after) or
/// "valid". Zero padding. Gradients for input, weight and bias (node "ConvolutionBackward").
/// \throws ember::Error naming the op and the shapes for: a tensor undefined or not float32;
///   input not 3-d or 4-d; weight not 4-d; bias not [O]; channels of input and weight that do
///   not match; groups < 1 or not dividing C and O; stride or dilation < 1; padding < 0 or an
///   unknown padding string; "same" with a stride; a kernel larger than the padded input; a
///   size product that overflows.
Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias = {},
              ExpandingArray<2> stride = 1, Conv2dPadding padding = 0,
              ExpandingArray<2> dilation = 1, std::int64_t groups = 1);

/// Max over windows, as torch.nn.functional.max_pool2d: [N, C, H, W] or [C, H, W] ->
/// [N, C, OH, OW], OH = floor_or_ceil((H + 2 p - d (K - 1) - 1) / s) + 1 (ceil_mode: a last
/// window starting in the bottom padding is dropped). Padding acts as -inf; stride defaults to
/// the kernel (`{}`). The gradient goes to the first maximum of each window, as
/// PyTorch (node "MaxPool2DWithIndicesBackward").
/// \throws ember::Error naming the op and the shape for: an input not float32 or not 3-d/4-d,
///   or with an empty C, H or W; kernel, stride (when given) or dilation < 1; padding < 0 or
///   more than half the kernel; an output that would be empty.
Tensor max_pool2d(const Tensor& input, ExpandingArray<2> kernel_size, PoolStride stride = {},
                  ExpandingArray<2> padding = 0, ExpandingArray<2> dilation = 1,
                  bool ceil_mode = false);
/// max_pool2d() and the int64 flat index (ih * W + iw) of each maximum, as
/// torch.nn.functional.max_pool2d_with_indices.
std::pair<Tensor, Tensor> max_pool2d_with_indices(
    const Tensor& input, ExpandingArray<2> kernel_size, PoolStride stride = {},
    ExpandingArray<2> padding = 0, ExpandingArray<2> dilation = 1, bool ceil_mode = false);

/// Mean over windows, as torch.nn.functional.avg_pool2d: shapes as max_pool2d (no dilation).
/// Each window's sum is divided by divisor_override if given, else by the window's cells
/// including the zero padding (count_include_pad) or not. Node "AvgPool2DBackward".
/// \throws ember::Error as max_pool2d, and for a divisor_override of 0.
Tensor avg_pool2d(const Tensor& input, ExpandingArray<2> kernel_size, PoolStride stride = {},
                  ExpandingArray<2> padding = 0, bool ceil_mode = false,
                  bool count_include_pad = true,
                  std::optional<std::int64_t> divisor_override = std::nullopt);

/// Mean over the windows [floor(i H / OH), ceil((i + 1) H / OH)) (and likewise for W), as
/// torch.nn.functional.adaptive_avg_pool2d: [N, C, H, W] or [C, H, W] -> [N, C, OH, OW].
/// Node "AdaptiveAvgPool2DBackward".
/// \throws ember::Error for an input not float32 or not 3-d/4-d, an empty C, H or W, or an
///   output size < 1.
Tensor adaptive_avg_pool2d(const Tensor& input, ExpandingArray<2> output_size);

}  // namespace ember
