// Max pooling's forward over raw float32 planes: the kernel for windows that tile the image (Note
// [Tiled max pooling] in max_pool.cpp) and the loop for any geometry it is tested against.
#pragma once

#include <cstdint>

namespace ember::kernels {

// The geometry as the kernels see it (core::Pool2dGeometry with N C planes): input P planes
// [H, W], output P planes [OH, OW]; the window of output (oh, ow) has its taps at rows
// oh stride_h - pad_h + kh dilation_h and columns ow stride_w - pad_w + kw dilation_w.
struct PoolShape {
  std::int64_t P, H, W, OH, OW, KH, KW;
  std::int64_t stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w;
};

// True if the windows tile the image: stride = kernel, no padding, dilation 1, every window
// inside the image (rows and columns past the last window are in none).
inline bool windows_tile(const PoolShape& s) {
  return s.stride_h == s.KH && s.stride_w == s.KW && s.pad_h == 0 && s.pad_w == 0 &&
         s.dilation_h == 1 && s.dilation_w == 1 && s.OH * s.KH <= s.H && s.OW * s.KW <= s.W;
}

// For every plane p and output (oh, ow): y = the window's maximum over its taps in row-major
// order, as PyTorch's CPU kernel (the first strict maximum wins, and any NaN: the last one;
// padding counts as -inf), and indices = its flat index ih W + iw in the plane (the window's
// first tap inside the image if no tap beats -inf). x, y, indices contiguous; threads take whole
// planes, so results do not depend on the thread count.
void max_pool2d_general(const PoolShape& s, const float* x, float* y, std::int64_t* indices);

// The same values and indices, bitwise, for windows that tile the image (windows_tile(s)):
// vectorized for 2x2 windows, a loop without window arithmetic otherwise.
void max_pool2d_tiled(const PoolShape& s, const float* x, float* y, std::int64_t* indices);

}  // namespace ember::kernels
