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

// y = conv(x, w) + bias, vectorized over output columns (Note [Convolution over rows]): for
// stride_w == 1 and groups of few output channels (LeNet's conv1: 6), where conv2d_direct would
// leave most lanes empty.
void conv2d_rows(const ConvShape& s, const float* x, const float* w, const float* bias, float* y);

// grad_x = the adjoint of conv(., w) applied to grad_y, for stride 1 and padding <= dilation *
// (kernel - 1) (the caller checks): the rows kernel on zero-padded grad_y with the weights
// flipped and transposed (Note [Convolution over rows]). grad_x is written, not accumulated.
void conv2d_rows_backward_input(const ConvShape& s, const float* grad_y, const float* w,
                                float* grad_x);

// grad_x = the adjoint of conv(., w) applied to grad_y, for stride and dilation 1 and KW <=
// kDirectInputMaxKW (the caller checks), vectorized over images when there are a vector's worth
// (Note [Input gradient over images]), else over output channels (Note [Input gradient over
// output channels]): for groups of many output channels (LeNet's conv2: 16), where most of the
// rows kernel's FMAs would multiply grad_y's padding. grad_x is written, not accumulated.
constexpr std::int64_t kDirectInputMaxKW = 7;
void conv2d_direct_backward_input(const ConvShape& s, const float* grad_y, const float* w,
                                  float* grad_x);

// grad_w [O, C / G, KH, KW] = sum over images and output positions of grad_y[n, o, oh, ow] *
// x[n, c, ...], vectorized over output channels (Note [Direct weight gradient]); written, not
// accumulated. grad_b [O] (unless null) = the sum of grad_y over images and positions, from the
// same pass over grad_y. Bitwise the same at any thread count.
void conv2d_direct_backward_weight(const ConvShape& s, const float* x, const float* grad_y,
                                   float* grad_w, float* grad_b);

}  // namespace ember::kernels
