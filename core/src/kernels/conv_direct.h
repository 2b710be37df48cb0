// A direct 2-d convolution kernel (no im2col) for the forward pass of small convolutions.
#pragma once

#include <cstdint>

namespace ember::kernels {

// The shape of a convolution as the kernels see it: input [N, C, H, W], weight
// [O, C / G, KH, KW], output [N, O, OH, OW]; pad_top / pad_left zero rows and columns before the
// image (those after it follow from OH and OW).
struct ConvShape {
  std::int64_t N, C, H, W, O, G, KH, KW, OH, OW;
  std::int64_t stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w;
};

// y = conv(x, w) + bias (bias may be null), every tensor contiguous. Vectorized over output
// channels: a vector holds one output position of W_simd channels of a group, an FMA chain over
// (c, kh, kw) in that order per output element, so the result does not depend on the thread
// count (threads take whole images). Best when C/G * KH * KW is small (the packed weights of a
// block of channels stay in L1): ember's LeNet layers. Arguments are the caller's to check.
void conv2d_direct(const ConvShape& s, const float* x, const float* w, const float* bias, float* y);

}  // namespace ember::kernels
