// im2col and col2im: the patches of a convolution as columns of a matrix, and back.
#pragma once

#include <cstdint>

namespace ember::kernels {

// The geometry of one image's patches: input [C, H, W], kernel KH x KW, output OH x OW.
struct PatchGeometry {
  std::int64_t C, H, W, KH, KW, OH, OW;
  std::int64_t stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w;
};

// col[r, j] for r = (c KH + kh) KW + kw and j = col_offset + oh OW + ow is
// x[c, oh stride_h + kh dilation_h - pad_top, ow stride_w + kw dilation_w - pad_left], or 0 where
// that falls in the padding. x is one contiguous image [C, H, W]; col rows are ld floats apart.
void im2col(const PatchGeometry& g, const float* x, float* col, std::int64_t ld,
            std::int64_t col_offset);

// The adjoint of im2col: grad_x[c, ih, iw] += col[r, j] for every (r, j) that im2col reads from
// (c, ih, iw), summed in a fixed order (r, then oh, then ow ascending).
void col2im(const PatchGeometry& g, const float* col, std::int64_t ld, std::int64_t col_offset,
            float* grad_x);

}  // namespace ember::kernels
