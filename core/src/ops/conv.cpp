// 2-d convolution without a graph: im2col onto the GEMM kernel, over chunks of images.
//
// Note [Convolution as im2col + GEMM]
// For one group, the patches of a chunk of nb images are laid side by side as the columns of
// col [C/G * KH * KW, nb * OH * OW] (kernels/im2col.h); then
//   forward          y_chunk [O/G, nb OH OW]   = w [O/G, C/G KH KW] @ col
//   backward weight  grad_w  [O/G, C/G KH KW] += g_chunk [O/G, nb OH OW] @ col^T
//   backward input   grad_col                  = w^T @ g_chunk, then col2im (its adjoint).
// The chunk size nb depends on the problem's shape only (col stays in L2), chunks are the pieces
// of parallel_for, and the GEMMs inside run on the piece's thread. Every output element is
// computed by one piece in a fixed order, and grad_w's per-piece partials are summed in piece
// order (conv2d_backward_weight), so results are bitwise equal at any thread count.
#include <ember/core/conv.h>
#include <ember/core/ops.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include <ember/core/checked.h>
#include <ember/core/parallel.h>

#include "kernels/conv_direct.h"
#include "kernels/gemm.h"
#include "kernels/im2col.h"

namespace ember {

Conv2dPadding::Conv2dPadding(std::string_view mode) {
  if (mode == "same") {
    kind_ = Kind::Same;
  } else if (mode == "valid") {
    kind_ = Kind::Valid;
  } else {
    EMBER_CHECK(false, "conv2d: invalid padding string '", std::string(mode),
                "': expected \"same\", \"valid\" or sizes");
  }
}

std::string Conv2dPadding::to_string() const {
  if (kind_ == Kind::Same) return "same";
  if (kind_ == Kind::Valid) return "valid";
  // Appended piece by piece: GCC 12's -Wrestrict misfires on "(" + std::to_string(...).
  std::string s = "(";
  s += std::to_string(sizes_[0]);
  s += ", ";
  s += std::to_string(sizes_[1]);
  s += ")";
  return s;
}

namespace core {

namespace {

// Columns of col a chunk holds at most (in floats: rows * columns <= this), so that col, the
// chunk's slice of x and its output stay in the per-core L2 (1.25 MiB here).
constexpr std::int64_t kChunkFloats = std::int64_t{1} << 16;

// The forward pass runs the direct kernel when a patch (C/G * KH * KW) is at most this long:
// its packed weights for one block of output channels (patch * 16 floats with AVX-512) then
// fit in L1 (32 KiB of 48). LeNet's patches are 25 and 150.
constexpr std::int64_t kDirectMaxPatch = 512;

// How many images a chunk holds: by the shape alone (Note [Convolution as im2col + GEMM]).
std::int64_t images_per_chunk(const Conv2dGeometry& g) {
  const std::int64_t per_image =
      std::max<std::int64_t>(1, (g.C / g.groups) * g.KH * g.KW * g.OH * g.OW);
  return std::clamp<std::int64_t>(kChunkFloats / per_image, 1, std::max<std::int64_t>(g.N, 1));
}

// Output channels per group up to which the forward pass runs over rows (conv2d_rows).
constexpr std::int64_t kRowsMaxOut = 8;

// Output channels per group from which the input gradient runs over them (half an AVX-512 vector;
// conv2d_direct_backward_input).
constexpr std::int64_t kDirectInputMinOut = 8;

kernels::ConvShape shape(const Conv2dGeometry& g) {
  return {g.N,  g.C,  g.H,        g.W,        g.O,       g.groups,   g.KH,         g.KW,
          g.OH, g.OW, g.stride_h, g.stride_w, g.pad_top, g.pad_left, g.dilation_h, g.dilation_w};
}

kernels::PatchGeometry patches(const Conv2dGeometry& g) {
  return {g.C,        g.H,        g.W,       g.KH,       g.KW,         g.OH,        g.OW,
          g.stride_h, g.stride_w, g.pad_top, g.pad_left, g.dilation_h, g.dilation_w};
}

// A buffer per thread that only grows: the col matrix and the gathered chunk of grad_out.
std::vector<float>& scratch(int which) {
  thread_local std::vector<float> buffers[2];
  return buffers[which];
}

float* grow(std::vector<float>& v, std::int64_t n) {
  if (static_cast<std::int64_t>(v.size()) < n) v.resize(static_cast<std::size_t>(n));
  return v.data();
}

}  // namespace

Conv2dGeometry conv2d_geometry(const Shape& input, const Shape& weight,
                               const ExpandingArray<2>& stride, const Conv2dPadding& padding,
                               const ExpandingArray<2>& dilation, std::int64_t groups,
                               const char* op) {
  EMBER_CHECK(input.size() == 4, op, ": expected a 4-d input [N, C, H, W] (or 3-d [C, H, W]), got ",
              to_string(input));
  EMBER_CHECK(weight.size() == 4, op, ": expected a 4-d weight [O, C/groups, KH, KW], got ",
              to_string(weight));
  Conv2dGeometry g;
  g.N = input[0], g.C = input[1], g.H = input[2], g.W = input[3];
  g.O = weight[0], g.KH = weight[2], g.KW = weight[3];
  g.groups = groups;
  EMBER_CHECK(groups >= 1, op, ": groups must be >= 1, got ", groups);
  EMBER_CHECK(g.O % groups == 0, op, ": out-channels ", g.O, " of weight ", to_string(weight),
              " are not divisible by groups=", groups);
  EMBER_CHECK(g.C % groups == 0, op, ": in-channels ", g.C, " of input ", to_string(input),
              " are not divisible by groups=", groups);
  EMBER_CHECK(weight[1] * groups == g.C, op, ": input ", to_string(input), " has ", g.C,
              " channels, but weight ", to_string(weight), " with groups=", groups, " expects ",
              weight[1] * groups);
  EMBER_CHECK(stride[0] >= 1 && stride[1] >= 1, op, ": stride must be >= 1, got (", stride[0], ", ",
              stride[1], ")");
  EMBER_CHECK(dilation[0] >= 1 && dilation[1] >= 1, op, ": dilation must be >= 1, got (",
              dilation[0], ", ", dilation[1], ")");
  EMBER_CHECK(g.KH >= 1 && g.KW >= 1, op, ": weight ", to_string(weight), " has an empty kernel");
  g.stride_h = stride[0], g.stride_w = stride[1];
  g.dilation_h = dilation[0], g.dilation_w = dilation[1];
  // The dilated kernel's extent: d (K - 1) + 1.
  const std::int64_t ext_h =
      checked_add(checked_mul(g.dilation_h, g.KH - 1, op, weight), 1, op, weight);
  const std::int64_t ext_w =
      checked_add(checked_mul(g.dilation_w, g.KW - 1, op, weight), 1, op, weight);
  switch (padding.kind()) {
    case Conv2dPadding::Kind::Valid:
      break;
    case Conv2dPadding::Kind::Same:
      EMBER_CHECK(g.stride_h == 1 && g.stride_w == 1, op,
                  ": padding='same' is not supported for strided convolutions (stride (",
                  g.stride_h, ", ", g.stride_w, "))");
      // d (K - 1) in all, half before; an odd total puts the extra row/column after, as PyTorch.
      g.pad_top = (ext_h - 1) / 2, g.pad_bottom = ext_h - 1 - g.pad_top;
      g.pad_left = (ext_w - 1) / 2, g.pad_right = ext_w - 1 - g.pad_left;
      break;
    case Conv2dPadding::Kind::Explicit:
      EMBER_CHECK(padding.sizes()[0] >= 0 && padding.sizes()[1] >= 0, op,
                  ": padding must be >= 0, got ", padding.to_string());
      g.pad_top = g.pad_bottom = padding.sizes()[0];
      g.pad_left = g.pad_right = padding.sizes()[1];
      break;
  }
  const std::int64_t padded_h =
      checked_add(checked_add(g.H, g.pad_top, op, input), g.pad_bottom, op, input);
  const std::int64_t padded_w =
      checked_add(checked_add(g.W, g.pad_left, op, input), g.pad_right, op, input);
  EMBER_CHECK(padded_h >= ext_h && padded_w >= ext_w, op, ": input ", to_string(input),
              " padded to (", padded_h, " x ", padded_w, ") is smaller than the kernel of weight ",
              to_string(weight), " (", ext_h, " x ", ext_w, " with dilation (", g.dilation_h, ", ",
              g.dilation_w, "))");
  g.OH = (padded_h - ext_h) / g.stride_h + 1;
  g.OW = (padded_w - ext_w) / g.stride_w + 1;
  // Every size the kernels index with must fit: the output, and a chunk's col matrix.
  checked_numel({g.N, g.O, g.OH, g.OW}, op);
  checked_numel({g.C, g.KH, g.KW, g.OH, g.OW}, op);
  return g;
}

Tensor conv2d_forward(const Tensor& x_in, const Tensor& weight, const Tensor& bias,
                      const Conv2dGeometry& g) {
  const Tensor x = core::contiguous(x_in), w = core::contiguous(weight);
  const Tensor b = bias.defined() ? core::contiguous(bias) : Tensor();
  Tensor y = empty({g.N, g.O, g.OH, g.OW});
  if (y.numel() == 0) return y;
  const std::int64_t G = g.groups, Cg = g.C / G, Og = g.O / G;
  if (Cg == 0) {
    // No input channels: every sum is empty, so y is the bias (or 0); the kernels assume a
    // window of at least one element.
    const float* bp = b.defined() ? b.data_ptr<float>() : nullptr;
    float* yp = y.data_ptr<float>();
    const std::int64_t OHW = g.OH * g.OW;
    for (std::int64_t i = 0; i < g.N * g.O; ++i)
      std::fill_n(yp + i * OHW, OHW, bp != nullptr ? bp[i % g.O] : 0.0f);
    return y;
  }
  if (Cg * g.KH * g.KW <= kDirectMaxPatch) {
    // Note [Direct convolution] in kernels/conv_direct.cpp: faster than im2col + GEMM while a
    // block of packed weights stays in L1. A group of few output channels runs over rows
    // instead (Note [Convolution over rows]): conv2d_direct would leave most lanes empty.
    const kernels::ConvShape s = shape(g);
    if (Og <= kRowsMaxOut && g.stride_w == 1) {
      kernels::conv2d_rows(s, x.data_ptr<float>(), w.data_ptr<float>(),
                           b.defined() ? b.data_ptr<float>() : nullptr, y.data_ptr<float>());
    } else {
      kernels::conv2d_direct(s, x.data_ptr<float>(), w.data_ptr<float>(),
                             b.defined() ? b.data_ptr<float>() : nullptr, y.data_ptr<float>());
    }
    return y;
  }
  const std::int64_t CgKK = Cg * g.KH * g.KW, CKK = g.C * g.KH * g.KW, OHW = g.OH * g.OW;
  const std::int64_t nb = images_per_chunk(g);
  const std::int64_t chunks = (g.N + nb - 1) / nb;
  const float* xp = x.data_ptr<float>();
  const float* wp = w.data_ptr<float>();
  const float* bp = b.defined() ? b.data_ptr<float>() : nullptr;
  float* yp = y.data_ptr<float>();
  const kernels::PatchGeometry pg = patches(g);
  parallel_for(0, chunks, 1, [&](std::int64_t c0, std::int64_t c1) {
    for (std::int64_t chunk = c0; chunk < c1; ++chunk) {
      const std::int64_t n0 = chunk * nb, n1 = std::min(g.N, n0 + nb), P = (n1 - n0) * OHW;
      float* col = grow(scratch(0), CKK * P);
      for (std::int64_t n = n0; n < n1; ++n)
        kernels::im2col(pg, xp + n * g.C * g.H * g.W, col, P, (n - n0) * OHW);
      // One image: the GEMM writes y[n] [O, OH OW] in place; several: a [O, P] buffer, scattered.
      float* out = n1 - n0 == 1 ? yp + n0 * g.O * OHW : grow(scratch(1), g.O * P);
      for (std::int64_t grp = 0; grp < G; ++grp)
        kernels::gemm(false, false, Og, P, CgKK, wp + grp * Og * CgKK, CgKK, col + grp * CgKK * P,
                      P, out + grp * Og * P, P, false);
      for (std::int64_t n = n0; n < n1; ++n) {
        for (std::int64_t o = 0; o < g.O; ++o) {
          float* dst = yp + (n * g.O + o) * OHW;
          const float* src = out + o * P + (n - n0) * OHW;
          const float bo = bp != nullptr ? bp[o] : 0.0f;
          if (src != dst) std::memcpy(dst, src, static_cast<std::size_t>(OHW) * sizeof(float));
          if (bp != nullptr)
            for (std::int64_t i = 0; i < OHW; ++i) dst[i] += bo;
        }
      }
    }
  });
  return y;
}

namespace {

// g_chunk [O, P]: grad_out of images [n0, n1) with the images side by side (as col's columns).
const float* gather_grad(const float* gp, const Conv2dGeometry& g, std::int64_t n0,
                         std::int64_t n1) {
  const std::int64_t OHW = g.OH * g.OW, P = (n1 - n0) * OHW;
  if (n1 - n0 == 1) return gp + n0 * g.O * OHW;
  float* out = grow(scratch(1), g.O * P);
  for (std::int64_t n = n0; n < n1; ++n)
    for (std::int64_t o = 0; o < g.O; ++o)
      std::memcpy(out + o * P + (n - n0) * OHW, gp + (n * g.O + o) * OHW,
                  static_cast<std::size_t>(OHW) * sizeof(float));
  return out;
}

}  // namespace

Tensor conv2d_backward_input(const Tensor& grad_out, const Tensor& weight,
                             const Conv2dGeometry& g) {
  const Tensor go = core::contiguous(grad_out), w = core::contiguous(weight);
  const std::int64_t G = g.groups, Cg = g.C / G, Og = g.O / G;
  // Stride and dilation 1 with many output channels a group: vectorized over those (Note [Input
  // gradient over output channels]). Stride 1 with padding at most the dilated kernel's extent
  // minus one: the convolution over rows of grad_out padded, weights flipped (Note [Convolution
  // over rows]), vectorized over grad_x's columns. Both write every element. Otherwise im2col's
  // adjoint (Note [Convolution as im2col + GEMM]).
  if (g.stride_h == 1 && g.stride_w == 1 && g.dilation_h == 1 && g.dilation_w == 1 &&
      Og >= kDirectInputMinOut && g.KW <= kernels::kDirectInputMaxKW &&
      Og * g.KH * g.KW <= kDirectMaxPatch) {
    if (g.N * g.C * g.H * g.W == 0 || g.O == 0) return zeros({g.N, g.C, g.H, g.W});
    Tensor grad_x = empty({g.N, g.C, g.H, g.W});
    kernels::conv2d_direct_backward_input(shape(g), go.data_ptr<float>(), w.data_ptr<float>(),
                                          grad_x.data_ptr<float>());
    return grad_x;
  }
  if (g.stride_h == 1 && g.stride_w == 1 && g.pad_top <= (g.KH - 1) * g.dilation_h &&
      g.pad_left <= (g.KW - 1) * g.dilation_w && Og * g.KH * g.KW <= kDirectMaxPatch) {
    if (g.N * g.C * g.H * g.W == 0 || g.O == 0) return zeros({g.N, g.C, g.H, g.W});
    Tensor grad_x = empty({g.N, g.C, g.H, g.W});
    kernels::conv2d_rows_backward_input(shape(g), go.data_ptr<float>(), w.data_ptr<float>(),
                                        grad_x.data_ptr<float>());
    return grad_x;
  }
  Tensor grad_x = zeros({g.N, g.C, g.H, g.W});
  if (grad_x.numel() == 0 || g.O == 0 || g.OH * g.OW == 0) return grad_x;
  const std::int64_t CgKK = Cg * g.KH * g.KW, CKK = g.C * g.KH * g.KW, OHW = g.OH * g.OW;
  const std::int64_t nb = images_per_chunk(g);
  const std::int64_t chunks = (g.N + nb - 1) / nb;
  const float* gp = go.data_ptr<float>();
  const float* wp = w.data_ptr<float>();
  float* dxp = grad_x.data_ptr<float>();
  const kernels::PatchGeometry pg = patches(g);
  parallel_for(0, chunks, 1, [&](std::int64_t c0, std::int64_t c1) {
    for (std::int64_t chunk = c0; chunk < c1; ++chunk) {
      const std::int64_t n0 = chunk * nb, n1 = std::min(g.N, n0 + nb), P = (n1 - n0) * OHW;
      const float* gc = gather_grad(gp, g, n0, n1);
      float* col = grow(scratch(0), CKK * P);
      // grad_col [C/G KH KW, P] = w_g^T [C/G KH KW, O/G] @ g_chunk_g [O/G, P], per group.
      for (std::int64_t grp = 0; grp < G; ++grp)
        kernels::gemm(true, false, CgKK, P, Og, wp + grp * Og * CgKK, CgKK, gc + grp * Og * P, P,
                      col + grp * CgKK * P, P, false);
      for (std::int64_t n = n0; n < n1; ++n)
        kernels::col2im(pg, col, P, (n - n0) * OHW, dxp + n * g.C * g.H * g.W);
    }
  });
  return grad_x;
}

Tensor conv2d_backward_weight(const Tensor& grad_out, const Tensor& x_in, const Conv2dGeometry& g,
                              Tensor* grad_bias) {
  const Tensor go = core::contiguous(grad_out), x = core::contiguous(x_in);
  const std::int64_t G = g.groups, Cg = g.C / G, Og = g.O / G;
  const std::int64_t CgKK = Cg * g.KH * g.KW, CKK = g.C * g.KH * g.KW, OHW = g.OH * g.OW;
  Tensor grad_w = zeros({g.O, Cg, g.KH, g.KW});
  if (grad_w.numel() > 0 && g.N > 0 && OHW > 0 && CgKK <= kDirectMaxPatch) {
    // Note [Direct weight gradient] in kernels/conv_weight_grad.cpp: no col buffer, no gathered
    // grad_out; lanes over output channels. The bias gradient comes from the same pass.
    if (grad_bias != nullptr) *grad_bias = empty({g.O});
    kernels::conv2d_direct_backward_weight(
        shape(g), x.data_ptr<float>(), go.data_ptr<float>(), grad_w.data_ptr<float>(),
        grad_bias != nullptr ? grad_bias->data_ptr<float>() : nullptr);
    return grad_w;
  }
  if (grad_bias != nullptr) *grad_bias = conv2d_backward_bias(go, g);
  if (grad_w.numel() == 0 || g.N == 0 || OHW == 0) return grad_w;
  const std::int64_t nb = images_per_chunk(g);
  const std::int64_t chunks = (g.N + nb - 1) / nb;
  // The chunks are cut into at most kParts runs, fixed by the shape; each run sums its chunks
  // into its own partial [O, C/G KH KW] in chunk order, then the partials are added in run order.
  constexpr std::int64_t kParts = 16;
  const std::int64_t parts = std::min(chunks, kParts);
  const std::int64_t wn = g.O * CgKK;
  std::vector<float> partials(static_cast<std::size_t>(parts * wn));
  const float* gp = go.data_ptr<float>();
  const float* xp = x.data_ptr<float>();
  const kernels::PatchGeometry pg = patches(g);
  parallel_for(0, parts, 1, [&](std::int64_t p0, std::int64_t p1) {
    for (std::int64_t part = p0; part < p1; ++part) {
      float* acc = partials.data() + part * wn;
      for (std::int64_t chunk = part * chunks / parts; chunk < (part + 1) * chunks / parts;
           ++chunk) {
        const bool first = chunk == part * chunks / parts;
        const std::int64_t n0 = chunk * nb, n1 = std::min(g.N, n0 + nb), P = (n1 - n0) * OHW;
        float* col = grow(scratch(0), CKK * P);
        for (std::int64_t n = n0; n < n1; ++n)
          kernels::im2col(pg, xp + n * g.C * g.H * g.W, col, P, (n - n0) * OHW);
        const float* gc = gather_grad(gp, g, n0, n1);
        // grad_w_g [O/G, C/G KH KW] (+)= g_chunk_g [O/G, P] @ col_g^T, per group.
        for (std::int64_t grp = 0; grp < G; ++grp)
          kernels::gemm(false, true, Og, CgKK, P, gc + grp * Og * P, P, col + grp * CgKK * P, P,
                        acc + grp * Og * CgKK, CgKK, !first);
      }
    }
  });
  float* dwp = grad_w.data_ptr<float>();
  std::memcpy(dwp, partials.data(), static_cast<std::size_t>(wn) * sizeof(float));
  for (std::int64_t part = 1; part < parts; ++part)
    for (std::int64_t i = 0; i < wn; ++i)
      dwp[i] += partials[static_cast<std::size_t>(part * wn + i)];
  return grad_w;
}

Tensor conv2d_backward_bias(const Tensor& grad_out, const Conv2dGeometry& g) {
  const Tensor go = core::contiguous(grad_out);
  Tensor grad_b = empty({g.O});
  const float* gp = go.data_ptr<float>();
  float* dbp = grad_b.data_ptr<float>();
  const std::int64_t OHW = g.OH * g.OW;
  // Per channel: each image's plane summed in 8 interleaved float partials (independent add
  // chains, which the compiler vectorizes), combined in a fixed order, then the planes added in
  // image order in double. A fixed order: the same at any thread count.
  parallel_for(0, g.O, std::max<std::int64_t>(1, 65536 / std::max<std::int64_t>(1, g.N * OHW)),
               [&](std::int64_t o0, std::int64_t o1) {
                 for (std::int64_t o = o0; o < o1; ++o) {
                   double sum = 0.0;
                   for (std::int64_t n = 0; n < g.N; ++n) {
                     const float* row = gp + (n * g.O + o) * OHW;
                     float part[8] = {0, 0, 0, 0, 0, 0, 0, 0};
                     std::int64_t i = 0;
                     for (; i + 8 <= OHW; i += 8)
                       for (int l = 0; l < 8; ++l) part[l] += row[i + l];
                     for (; i < OHW; ++i) part[0] += row[i];
                     sum += static_cast<double>(((part[0] + part[1]) + (part[2] + part[3])) +
                                                ((part[4] + part[5]) + (part[6] + part[7])));
                   }
                   dbp[o] = static_cast<float>(sum);
                 }
               });
  return grad_b;
}

}  // namespace core
}  // namespace ember
