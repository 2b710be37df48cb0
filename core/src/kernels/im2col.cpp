// im2col and col2im (see im2col.h). Plain loops: the compiler vectorizes the stride-1 copies;
// the GEMM that follows (kernels/gemm.cpp) is where the time goes.
#include "kernels/im2col.h"

#include <algorithm>
#include <cstring>

namespace ember::kernels {

namespace {

// The output columns ow whose input column ow * s + off lies in [0, W): [lo, hi).
void valid_range(std::int64_t OW, std::int64_t W, std::int64_t s, std::int64_t off,
                 std::int64_t& lo, std::int64_t& hi) {
  // ow * s + off >= 0  <=>  ow >= ceil(-off / s);  ow * s + off < W  <=>  ow <= (W - 1 - off) / s.
  lo = off >= 0 ? 0 : (-off + s - 1) / s;
  hi = W - 1 - off < 0 ? 0 : (W - 1 - off) / s + 1;
  lo = std::min(lo, OW);
  hi = std::clamp(hi, lo, OW);
}

}  // namespace

void im2col(const PatchGeometry& g, const float* x, float* col, std::int64_t ld,
            std::int64_t col_offset) {
  for (std::int64_t c = 0; c < g.C; ++c) {
    const float* xc = x + c * g.H * g.W;
    for (std::int64_t kh = 0; kh < g.KH; ++kh) {
      for (std::int64_t kw = 0; kw < g.KW; ++kw) {
        float* row = col + ((c * g.KH + kh) * g.KW + kw) * ld + col_offset;
        const std::int64_t off_w = kw * g.dilation_w - g.pad_left;
        std::int64_t lo = 0, hi = 0;
        valid_range(g.OW, g.W, g.stride_w, off_w, lo, hi);
        for (std::int64_t oh = 0; oh < g.OH; ++oh) {
          float* dst = row + oh * g.OW;
          const std::int64_t ih = oh * g.stride_h + kh * g.dilation_h - g.pad_top;
          if (ih < 0 || ih >= g.H) {
            std::fill(dst, dst + g.OW, 0.0f);
            continue;
          }
          const float* src = xc + ih * g.W;  // the row; column ow reads src[ow * s + off_w]
          std::fill(dst, dst + lo, 0.0f);
          if (g.stride_w == 1) {
            std::memcpy(dst + lo, src + lo + off_w,
                        static_cast<std::size_t>(hi - lo) * sizeof(float));
          } else {
            for (std::int64_t ow = lo; ow < hi; ++ow) dst[ow] = src[ow * g.stride_w + off_w];
          }
          std::fill(dst + hi, dst + g.OW, 0.0f);
        }
      }
    }
  }
}

void col2im(const PatchGeometry& g, const float* col, std::int64_t ld, std::int64_t col_offset,
            float* grad_x) {
  for (std::int64_t c = 0; c < g.C; ++c) {
    float* gc = grad_x + c * g.H * g.W;
    for (std::int64_t kh = 0; kh < g.KH; ++kh) {
      for (std::int64_t kw = 0; kw < g.KW; ++kw) {
        const float* row = col + ((c * g.KH + kh) * g.KW + kw) * ld + col_offset;
        const std::int64_t off_w = kw * g.dilation_w - g.pad_left;
        std::int64_t lo = 0, hi = 0;
        valid_range(g.OW, g.W, g.stride_w, off_w, lo, hi);
        for (std::int64_t oh = 0; oh < g.OH; ++oh) {
          const std::int64_t ih = oh * g.stride_h + kh * g.dilation_h - g.pad_top;
          if (ih < 0 || ih >= g.H) continue;
          const float* src = row + oh * g.OW;
          float* dst = gc + ih * g.W;
          for (std::int64_t ow = lo; ow < hi; ++ow) dst[ow * g.stride_w + off_w] += src[ow];
        }
      }
    }
  }
}

}  // namespace ember::kernels
