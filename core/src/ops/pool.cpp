// 2-d pooling without a graph: max, average and adaptive average, forward and backward.
// Each (n, c) plane is one unit of parallel work; every output (and every input gradient) is
// computed inside one plane in a fixed order, so results do not depend on the thread count.
#include <algorithm>
#include <vector>

#include <ember/core/checked.h>
#include <ember/core/conv.h>
#include <ember/core/ops.h>
#include <ember/core/parallel.h>

#include "kernels/max_pool.h"

namespace ember::core {

namespace {

// PyTorch's pooling_output_shape: floor or ceil of (size + 2 pad - ext) / stride, plus 1; with
// ceil_mode the last window must start inside the image or its left padding.
std::int64_t pooled_size(std::int64_t size, std::int64_t k, std::int64_t pad, std::int64_t stride,
                         std::int64_t dilation, bool ceil_mode) {
  const std::int64_t span = size + 2 * pad - dilation * (k - 1) - 1 + (ceil_mode ? stride - 1 : 0);
  // Floor division (span may be negative when the kernel does not fit).
  std::int64_t out = (span >= 0 ? span / stride : -((-span + stride - 1) / stride)) + 1;
  if (ceil_mode && (out - 1) * stride >= size + pad) --out;
  return out;
}

// Planes of at least this many output cells per piece of parallel work.
std::int64_t plane_grain(std::int64_t cells_per_plane) {
  return std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(1, cells_per_plane));
}

}  // namespace

Pool2dGeometry pool2d_geometry(const Shape& input, const ExpandingArray<2>& kernel,
                               const ExpandingArray<2>& stride, const ExpandingArray<2>& padding,
                               const ExpandingArray<2>& dilation, bool ceil_mode, const char* op) {
  EMBER_CHECK(input.size() == 4, op, ": expected a 4-d input [N, C, H, W] (or 3-d [C, H, W]), got ",
              to_string(input));
  Pool2dGeometry g;
  g.N = input[0], g.C = input[1], g.H = input[2], g.W = input[3];
  g.KH = kernel[0], g.KW = kernel[1];
  g.stride_h = stride[0], g.stride_w = stride[1];
  g.pad_h = padding[0], g.pad_w = padding[1];
  g.dilation_h = dilation[0], g.dilation_w = dilation[1];
  EMBER_CHECK(g.KH >= 1 && g.KW >= 1, op, ": kernel_size must be >= 1, got (", g.KH, ", ", g.KW,
              ")");
  EMBER_CHECK(g.stride_h >= 1 && g.stride_w >= 1, op, ": stride must be >= 1, got (", g.stride_h,
              ", ", g.stride_w, ")");
  EMBER_CHECK(g.dilation_h >= 1 && g.dilation_w >= 1, op, ": dilation must be >= 1, got (",
              g.dilation_h, ", ", g.dilation_w, ")");
  EMBER_CHECK(g.pad_h >= 0 && g.pad_w >= 0, op, ": padding must be >= 0, got (", g.pad_h, ", ",
              g.pad_w, ")");
  EMBER_CHECK(g.pad_h <= g.KH / 2 && g.pad_w <= g.KW / 2, op,
              ": padding should be at most half of the kernel size, got padding (", g.pad_h, ", ",
              g.pad_w, ") for kernel_size (", g.KH, ", ", g.KW, ")");
  EMBER_CHECK(g.C >= 1 && g.H >= 1 && g.W >= 1, op,
              ": expected an input with non-empty channels, height and width, got ",
              to_string(input));
  // Sizes beyond 2^40 cannot be allocated anyway; this keeps the arithmetic below in range.
  constexpr std::int64_t kLimit = std::int64_t{1} << 40;
  EMBER_CHECK(g.KH < kLimit && g.KW < kLimit && g.stride_h < kLimit && g.stride_w < kLimit &&
                  g.dilation_h < kLimit / g.KH && g.dilation_w < kLimit / g.KW && g.H < kLimit &&
                  g.W < kLimit,
              op, ": sizes too large for input ", to_string(input));
  g.OH = pooled_size(g.H, g.KH, g.pad_h, g.stride_h, g.dilation_h, ceil_mode);
  g.OW = pooled_size(g.W, g.KW, g.pad_w, g.stride_w, g.dilation_w, ceil_mode);
  EMBER_CHECK(g.OH >= 1 && g.OW >= 1, op, ": input ", to_string(input), " is too small for ",
              "kernel_size (", g.KH, ", ", g.KW, ") with padding (", g.pad_h, ", ", g.pad_w,
              ") and dilation (", g.dilation_h, ", ", g.dilation_w, "): the output would be (",
              g.OH, " x ", g.OW, ")");
  checked_numel({g.N, g.C, g.OH, g.OW}, op);
  return g;
}

namespace {

kernels::PoolShape pool_shape(const Pool2dGeometry& g) {
  return {g.N * g.C,  g.H,        g.W,     g.OH,    g.OW,         g.KH,        g.KW,
          g.stride_h, g.stride_w, g.pad_h, g.pad_w, g.dilation_h, g.dilation_w};
}

}  // namespace

std::pair<Tensor, Tensor> max_pool2d_forward(const Tensor& x_in, const Pool2dGeometry& g) {
  const Tensor x = core::contiguous(x_in);
  Tensor y = empty({g.N, g.C, g.OH, g.OW});
  Tensor indices = empty({g.N, g.C, g.OH, g.OW}, kInt64);
  const kernels::PoolShape s = pool_shape(g);
  if (kernels::tiled_2x2(s))  // Note [Vectorized max pooling] in kernels/max_pool.cpp
    kernels::max_pool2d_2x2(s, x.data_ptr<float>(), y.data_ptr<float>(),
                            indices.data_ptr<std::int64_t>());
  else
    kernels::max_pool2d_general(s, x.data_ptr<float>(), y.data_ptr<float>(),
                                indices.data_ptr<std::int64_t>());
  return {y, indices};
}

namespace {

// Whether each output row (or column) o < out has a window tap inside [0, size): some
// o stride - pad + k dilation with k < K.
std::vector<char> windows_with_taps(std::int64_t out, std::int64_t size, std::int64_t K,
                                    std::int64_t stride, std::int64_t pad, std::int64_t dilation) {
  std::vector<char> inside(static_cast<std::size_t>(out), 0);
  for (std::int64_t o = 0; o < out; ++o)
    for (std::int64_t k = 0; k < K; ++k) {
      const std::int64_t i = o * stride - pad + k * dilation;
      if (i >= 0 && i < size) inside[static_cast<std::size_t>(o)] = 1;
    }
  return inside;
}

}  // namespace

Tensor max_pool2d_backward(const Tensor& grad_out, const Tensor& indices_in,
                           const Pool2dGeometry& g) {
  const Tensor go = core::contiguous(grad_out), indices = core::contiguous(indices_in);
  Tensor grad_x = empty({g.N, g.C, g.H, g.W});
  const float* gp = go.data_ptr<float>();
  const std::int64_t* ip = indices.data_ptr<std::int64_t>();
  float* dxp = grad_x.data_ptr<float>();
  const std::int64_t HW = g.H * g.W, OHW = g.OH * g.OW;
  // A window with no tap inside the image (dilation makes it possible: one column, kernel 2,
  // padding 1 and dilation 2 read columns -1 and 1) has the output -inf and reads no input, so
  // it routes no gradient. Its index, PyTorch's ih0 W + iw0 after skipping the padding, points
  // past its row: into the next row or past the plane, where PyTorch's backward adds the
  // gradient (out of bounds, or onto a cell that is not in the window). Such windows are skipped.
  const std::vector<char> rows =
                              windows_with_taps(g.OH, g.H, g.KH, g.stride_h, g.pad_h, g.dilation_h),
                          cols =
                              windows_with_taps(g.OW, g.W, g.KW, g.stride_w, g.pad_w, g.dilation_w);
  const bool all_inside = std::find(rows.begin(), rows.end(), 0) == rows.end() &&
                          std::find(cols.begin(), cols.end(), 0) == cols.end();
  // Each plane is zeroed just before its scatter, while it is in cache: zeroing the whole
  // gradient first (zeros()), then reading it back for the scatter, measured clearly slower.
  // The same additions onto the same zeros in the same order: the same bits.
  parallel_for(0, g.N * g.C, plane_grain(OHW), [&](std::int64_t p0, std::int64_t p1) {
    for (std::int64_t p = p0; p < p1; ++p) {
      float* plane = dxp + p * HW;
      const std::int64_t* at = ip + p * OHW;
      const float* g_plane = gp + p * OHW;
      std::fill(plane, plane + HW, 0.0f);
      if (all_inside) {
        for (std::int64_t i = 0; i < OHW; ++i) plane[at[i]] += g_plane[i];
        continue;
      }
      for (std::int64_t oh = 0; oh < g.OH; ++oh)
        for (std::int64_t ow = 0; ow < g.OW; ++ow)
          if (rows[static_cast<std::size_t>(oh)] && cols[static_cast<std::size_t>(ow)])
            plane[at[oh * g.OW + ow]] += g_plane[oh * g.OW + ow];
    }
  });
  return grad_x;
}

namespace {

// The window of output cell (oh, ow) of an average pool, as PyTorch's avg_pool2d CPU kernel:
// rows [ih0, ih1) and columns [iw0, iw1) clipped to the image, and what the sum is divided by.
struct AvgWindow {
  std::int64_t ih0, ih1, iw0, iw1;
  float divisor;
};

AvgWindow avg_window(const Pool2dGeometry& g, AvgPoolDivisor d, std::int64_t oh, std::int64_t ow) {
  std::int64_t ih0 = oh * g.stride_h - g.pad_h, iw0 = ow * g.stride_w - g.pad_w;
  std::int64_t ih1 = std::min(ih0 + g.KH, g.H + g.pad_h), iw1 = std::min(iw0 + g.KW, g.W + g.pad_w);
  const std::int64_t padded_size = (ih1 - ih0) * (iw1 - iw0);  // the window within the padding
  ih0 = std::max<std::int64_t>(ih0, 0), iw0 = std::max<std::int64_t>(iw0, 0);
  ih1 = std::min(ih1, g.H), iw1 = std::min(iw1, g.W);
  const std::int64_t size = d.divisor_override != 0 ? d.divisor_override
                            : d.count_include_pad   ? padded_size
                                                    : (ih1 - ih0) * (iw1 - iw0);
  return {ih0, ih1, iw0, iw1, static_cast<float>(size)};
}

// Note [Tiled average pooling]
// When the windows tile the image without overlap or padding (stride = kernel, padding 0, every
// window inside the image: LeNet's AvgPool2d(2, 2) on 28x28 and 10x10), each window is KH x KW
// cells divided by KH KW (or divisor_override), and the generic loops' per-cell window
// arithmetic is all the work there is. The tiled loops below compute the same values in the
// same order (sum from 0.0f, row by row, then one division; backward 0.0f + share, as onto
// the zeroed gradient), so their results are bitwise the generic ones, only several times faster:
// a profile of a LeNet epoch had 27 % of its time in the generic average pool.
bool tiles_the_image(const Pool2dGeometry& g) {
  return g.stride_h == g.KH && g.stride_w == g.KW && g.pad_h == 0 && g.pad_w == 0 &&
         g.OH * g.KH <= g.H && g.OW * g.KW <= g.W;
}

float tiled_divisor(const Pool2dGeometry& g, AvgPoolDivisor d) {
  return static_cast<float>(d.divisor_override != 0 ? d.divisor_override : g.KH * g.KW);
}

// One plane's windows, KH = KW = K known at compile time (K = 0: the runtime g.KH, g.KW).
template <int K>
void tiled_forward_plane(const float* plane, float* out, const Pool2dGeometry& g, float divisor) {
  const std::int64_t KH = K ? K : g.KH, KW = K ? K : g.KW;
  for (std::int64_t oh = 0; oh < g.OH; ++oh) {
    const float* rows = plane + oh * KH * g.W;
    float* y = out + oh * g.OW;
    for (std::int64_t ow = 0; ow < g.OW; ++ow) {
      float sum = 0.0f;
      for (std::int64_t kh = 0; kh < KH; ++kh)
        for (std::int64_t kw = 0; kw < KW; ++kw) sum += rows[kh * g.W + ow * KW + kw];
      y[ow] = sum / divisor;
    }
  }
}

template <int K>
void tiled_backward_plane(const float* grad_out, float* plane, const Pool2dGeometry& g,
                          float divisor) {
  const std::int64_t KH = K ? K : g.KH, KW = K ? K : g.KW;
  for (std::int64_t oh = 0; oh < g.OH; ++oh) {
    float* rows = plane + oh * KH * g.W;
    const float* go = grad_out + oh * g.OW;
    for (std::int64_t ow = 0; ow < g.OW; ++ow) {
      const float share = go[ow] / divisor;
      for (std::int64_t kh = 0; kh < KH; ++kh)
        for (std::int64_t kw = 0; kw < KW; ++kw) rows[kh * g.W + ow * KW + kw] = 0.0f + share;
    }
  }
}

}  // namespace

Tensor avg_pool2d_forward(const Tensor& x_in, const Pool2dGeometry& g, AvgPoolDivisor divisor) {
  const Tensor x = core::contiguous(x_in);
  Tensor y = empty({g.N, g.C, g.OH, g.OW});
  const float* xp = x.data_ptr<float>();
  float* yp = y.data_ptr<float>();
  const std::int64_t HW = g.H * g.W, OHW = g.OH * g.OW;
  if (tiles_the_image(g)) {  // Note [Tiled average pooling]
    const float d = tiled_divisor(g, divisor);
    const bool two = g.KH == 2 && g.KW == 2;
    parallel_for(0, g.N * g.C, plane_grain(OHW), [&](std::int64_t p0, std::int64_t p1) {
      for (std::int64_t p = p0; p < p1; ++p) {
        if (two)
          tiled_forward_plane<2>(xp + p * HW, yp + p * OHW, g, d);
        else
          tiled_forward_plane<0>(xp + p * HW, yp + p * OHW, g, d);
      }
    });
    return y;
  }
  parallel_for(0, g.N * g.C, plane_grain(OHW), [&](std::int64_t p0, std::int64_t p1) {
    for (std::int64_t p = p0; p < p1; ++p) {
      const float* plane = xp + p * HW;
      for (std::int64_t oh = 0; oh < g.OH; ++oh) {
        for (std::int64_t ow = 0; ow < g.OW; ++ow) {
          const AvgWindow w = avg_window(g, divisor, oh, ow);
          float sum = 0.0f;
          for (std::int64_t ih = w.ih0; ih < w.ih1; ++ih)
            for (std::int64_t iw = w.iw0; iw < w.iw1; ++iw) sum += plane[ih * g.W + iw];
          // A window wholly in the padding (possible with ceil_mode) gives 0, as PyTorch.
          yp[p * OHW + oh * g.OW + ow] = w.ih0 < w.ih1 && w.iw0 < w.iw1 ? sum / w.divisor : 0.0f;
        }
      }
    }
  });
  return y;
}

Tensor avg_pool2d_backward(const Tensor& grad_out, const Pool2dGeometry& g,
                           AvgPoolDivisor divisor) {
  const Tensor go = core::contiguous(grad_out);
  // Windows covering every cell write each once (Note [Tiled average pooling]): no zeroing.
  const bool tiled = tiles_the_image(g);
  const bool covered = tiled && g.OH * g.KH == g.H && g.OW * g.KW == g.W;
  Tensor grad_x = covered ? empty({g.N, g.C, g.H, g.W}) : zeros({g.N, g.C, g.H, g.W});
  const float* gp = go.data_ptr<float>();
  float* dxp = grad_x.data_ptr<float>();
  const std::int64_t HW = g.H * g.W, OHW = g.OH * g.OW;
  if (tiled) {
    const float d = tiled_divisor(g, divisor);
    const bool two = g.KH == 2 && g.KW == 2;
    parallel_for(0, g.N * g.C, plane_grain(OHW), [&](std::int64_t p0, std::int64_t p1) {
      for (std::int64_t p = p0; p < p1; ++p) {
        if (two)
          tiled_backward_plane<2>(gp + p * OHW, dxp + p * HW, g, d);
        else
          tiled_backward_plane<0>(gp + p * OHW, dxp + p * HW, g, d);
      }
    });
    return grad_x;
  }
  parallel_for(0, g.N * g.C, plane_grain(OHW), [&](std::int64_t p0, std::int64_t p1) {
    for (std::int64_t p = p0; p < p1; ++p) {
      float* plane = dxp + p * HW;
      for (std::int64_t oh = 0; oh < g.OH; ++oh) {
        for (std::int64_t ow = 0; ow < g.OW; ++ow) {
          const AvgWindow w = avg_window(g, divisor, oh, ow);
          const float share = gp[p * OHW + oh * g.OW + ow] / w.divisor;
          for (std::int64_t ih = w.ih0; ih < w.ih1; ++ih)
            for (std::int64_t iw = w.iw0; iw < w.iw1; ++iw) plane[ih * g.W + iw] += share;
        }
      }
    }
  });
  return grad_x;
}

namespace {

// Adaptive pooling's window along one dim: [floor(i size / out), ceil((i + 1) size / out)).
std::int64_t adaptive_start(std::int64_t i, std::int64_t out, std::int64_t size) {
  return (i * size) / out;
}
std::int64_t adaptive_end(std::int64_t i, std::int64_t out, std::int64_t size) {
  return ((i + 1) * size + out - 1) / out;
}

}  // namespace

Tensor adaptive_avg_pool2d_forward(const Tensor& x_in, std::int64_t OH, std::int64_t OW) {
  const Tensor x = core::contiguous(x_in);
  const std::int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  Tensor y = empty({N, C, OH, OW});
  const float* xp = x.data_ptr<float>();
  float* yp = y.data_ptr<float>();
  parallel_for(0, N * C, plane_grain(OH * OW), [&](std::int64_t p0, std::int64_t p1) {
    for (std::int64_t p = p0; p < p1; ++p) {
      const float* plane = xp + p * H * W;
      for (std::int64_t oh = 0; oh < OH; ++oh) {
        const std::int64_t h0 = adaptive_start(oh, OH, H), h1 = adaptive_end(oh, OH, H);
        for (std::int64_t ow = 0; ow < OW; ++ow) {
          const std::int64_t w0 = adaptive_start(ow, OW, W), w1 = adaptive_end(ow, OW, W);
          float sum = 0.0f;
          for (std::int64_t ih = h0; ih < h1; ++ih)
            for (std::int64_t iw = w0; iw < w1; ++iw) sum += plane[ih * W + iw];
          // sum / kh / kw, two divisions as PyTorch's CPU kernel.
          yp[(p * OH + oh) * OW + ow] =
              sum / static_cast<float>(h1 - h0) / static_cast<float>(w1 - w0);
        }
      }
    }
  });
  return y;
}

Tensor adaptive_avg_pool2d_backward(const Tensor& grad_out, std::int64_t H, std::int64_t W) {
  const Tensor go = core::contiguous(grad_out);
  const std::int64_t N = go.size(0), C = go.size(1), OH = go.size(2), OW = go.size(3);
  Tensor grad_x = zeros({N, C, H, W});
  const float* gp = go.data_ptr<float>();
  float* dxp = grad_x.data_ptr<float>();
  parallel_for(0, N * C, plane_grain(OH * OW), [&](std::int64_t p0, std::int64_t p1) {
    for (std::int64_t p = p0; p < p1; ++p) {
      float* plane = dxp + p * H * W;
      for (std::int64_t oh = 0; oh < OH; ++oh) {
        const std::int64_t h0 = adaptive_start(oh, OH, H), h1 = adaptive_end(oh, OH, H);
        for (std::int64_t ow = 0; ow < OW; ++ow) {
          const std::int64_t w0 = adaptive_start(ow, OW, W), w1 = adaptive_end(ow, OW, W);
          const float share = gp[(p * OH + oh) * OW + ow] / static_cast<float>(h1 - h0) /
                              static_cast<float>(w1 - w0);
          for (std::int64_t ih = h0; ih < h1; ++ih)
            for (std::int64_t iw = w0; iw < w1; ++iw) plane[ih * W + iw] += share;
        }
      }
    }
  });
  return grad_x;
}

}  // namespace ember::core
