// Sigmoid followed by a 2x2, stride 2, unpadded average pool, in one pass each way (Note [Fused
// sigmoid and average pooling] in nn/src/sequential.cpp). Bitwise the results of
// kernels::sigmoid_forward then core::avg_pool2d_forward's tiled path, and of
// core::avg_pool2d_backward's tiled path then kernels::sigmoid_backward, at any thread count.
#pragma once

#include <cstdint>

namespace ember::nn::kernels {

// The widest rows the kernels take (two rows of the image, and what they pool to, go through
// buffers on the stack): W <= this.
inline constexpr std::int64_t kSigmoidPoolMaxWidth = 1024;

// x: P planes of [H, W] (contiguous), H, W >= 2; s: the same shape; y: P planes of [H / 2, W / 2]:
//   s = sigmoid(x),
//   y[p, oh, ow] = (((0 + s[p, 2oh, 2ow]) + s[p, 2oh, 2ow + 1]) + s[p, 2oh + 1, 2ow])
//                  + s[p, 2oh + 1, 2ow + 1]) / divisor.
// A last odd row or column is left out of every window, as avg_pool2d's. s may be null (no
// backward to come, as under NoGradGuard): then only y is written.
void sigmoid_avg_pool2x2_forward(const float* x, float* s, float* y, std::int64_t P, std::int64_t H,
                                 std::int64_t W, float divisor);
// From the forward's s: grad_x[p, i, j] = g (1 - s) s with g = 0 + grad_out[p, i/2, j/2] / divisor
// (0 for a cell outside every window).
void sigmoid_avg_pool2x2_backward(const float* s, const float* grad_out, float* grad_x,
                                  std::int64_t P, std::int64_t H, std::int64_t W, float divisor);

}  // namespace ember::nn::kernels
