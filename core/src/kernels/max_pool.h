// Max pooling's forward over raw float32 planes (Note [Vectorized max pooling] in max_pool.cpp):
// a kernel for 2x2 windows that tile the image, one for any geometry, and the scalar reference
// both are tested against.
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

// For every plane p and output (oh, ow): y = the window's maximum over its taps in row-major
// order, as PyTorch's CPU kernel (the first strict maximum wins, and any NaN: the last one;
// padding counts as -inf), and indices = its flat index ih W + iw in the plane (the window's
// first tap inside the image if no tap beats -inf). x, y, indices contiguous. A scalar loop, one
// window at a time, on the calling thread.
void max_pool2d_reference(const PoolShape& s, const float* x, float* y, std::int64_t* indices);

// The same values and indices, bitwise, for any geometry: vectorized over the windows of an
// output row whose taps are all inside the image when stride_w is 1 or 2. Threads take whole
// planes, so results do not depend on the thread count.
void max_pool2d_general(const PoolShape& s, const float* x, float* y, std::int64_t* indices);

// True if max_pool2d_2x2 takes the geometry: 2x2 windows with stride 2, no padding, dilation 1
// (so they tile the image; a last odd row or column is in none), W < 2^30.
inline bool tiled_2x2(const PoolShape& s) {
  return s.KH == 2 && s.KW == 2 && s.stride_h == 2 && s.stride_w == 2 && s.pad_h == 0 &&
         s.pad_w == 0 && s.dilation_h == 1 && s.dilation_w == 1 && s.OH * 2 <= s.H &&
         s.OW * 2 <= s.W && s.W < (std::int64_t{1} << 30);
}

// The same values and indices, bitwise, for a geometry tiled_2x2 takes.
void max_pool2d_2x2(const PoolShape& s, const float* x, float* y, std::int64_t* indices);

}  // namespace ember::kernels
