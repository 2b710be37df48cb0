// The input gradient of a stride-1 convolution vectorized over images or output channels (see
// conv_direct.h: conv2d_direct_backward_input; Notes [Input gradient over images] and [Input
// gradient over output channels]),
// compiled once per instruction set (Note [ISA dispatch] in kernels/isa.h).
#include "kernels/conv_direct.h"
#include "kernels/conv_support.h"

#include <ember/core/parallel.h>

#include "kernels/tile_table.h"

namespace ember::kernels {

EMBER_ISA_VARIANTS(conv2d_direct_backward_input)
EMBER_ISA_VARIANTS(conv2d_rows_backward_input)  // AVX2 runs over rows (conv_direct.cpp)

#if EMBER_ISA_BASELINE
void conv2d_direct_backward_input(const ConvShape& s, const float* grad_y, const float* w,
                                  float* grad_x) {
  EMBER_ISA_CALL(conv2d_direct_backward_input, s, grad_y, w, grad_x);
}
#endif

namespace EMBER_ISA {
namespace {

// Note [Input gradient over output channels]
// grad_x[c, ih, iw] = sum_{o, kh, kw} w[o, c, kh, kw] grad_y[o, ih + pt - kh, iw + pl - kw] (stride
// and dilation 1), the terms with grad_y's row and column inside its plane. Over rows (Note
// [Convolution over rows]) the lanes hold grad_x's columns, and a lane reading grad_y outside
// its plane multiplies a zero: LeNet's conv2 (grad_y 10 x 10, grad_x 14 x 14) wastes half its
// FMAs that way. Here the lanes hold B output channels o of a group instead (grad_y transposed
// per image to [OH][OW][B], the weights packed as vectors over o), and a tile keeps CB channels x
// TW columns of one grad_x row in registers as vectors of per-o partial sums: for each block of
// output channels and each kernel row kh whose grad_y row exists, it loads the CB KW weight
// vectors of that row, then walks grad_y's columns: each column inside the plane is loaded once
// and FMAed into the (up to KW) columns of the tile that read it; columns outside the plane are
// skipped, so every FMA is a term of the sum (16 of 16 lanes for LeNet's 16 output channels).
// Last, each accumulator's lanes are added by a fixed tree of shuffles (sum_lanes) and the TW
// sums stored. One call of the tile walks grad_x's rows top to bottom at its columns, so the
// call and the mask of grad_y's columns inside the plane cost once an image, not once a row.
// Per element: the blocks, kh and kw (descending) in order, then the same tree, whatever the
// tile or thread; images are the parallel pieces. LeNet's conv2 at batch 256, 1 thread (busy
// machine, CPU time): 2.0 -> 1.65 ms with AVX-512, 8.0 -> 6.1 ms with SSE2, before the sums
// were kept in registers and the walk over rows; the AVX2 build runs over rows
// (conv2d_direct_backward_input).

// Note [Input gradient over images]
// Each output element above ends in a sum of its accumulator's B lanes: about 3 shuffles or adds
// for LeNet's 12.75 FMAs an element of conv2 on average (its edges have fewer terms), which take
// the FMA ports' slots (perf: 15% of the tile's samples in them, 60% in its FMAs). With B images
// or more the lanes hold B images instead: grad_y of a block of B images is transposed to
// [o][OH][OW][B], the weights are broadcast from [o][KH][CB][KW], and the same tile, walking the
// same rows, columns and kernel rows for each o in turn, ends with its accumulators complete:
// each is stored as it is, to [C][H][W][B], transposed back to the images' planes once the
// block is done. No lane is empty (but in the last block) and no FMA multiplies padding. Per
// element: o, kh and kw (descending) in order, one chain, whatever the block or thread; blocks of
// images are the parallel pieces.
// LeNet's conv2 at batch 256, 1 thread (bench/results/profiles/conv2_fwdbwd_1thread_zen4_{e57db9c,
// 6cccbb0}.txt): the tile's samples from 1.08 to 0.93 times the forward tile's, 82% of them in its
// FMAs; bench/results/conv_dgrad_images_zen4 has the timings.

// out[t] = the sum of acc[t]'s lanes, for t < TW <= 8: lanes (0 + 2) + (1 + 3) of each 128-bit
// block (two rounds of unpack / shuffle and add, four vectors at a time), then the blocks added
// pairwise; the TW sums stored at once. One fixed order for every call.
template <class V, int TW>
inline void sum_lanes(const V (&acc)[TW], float* out) {
  static_assert(TW >= 1 && TW <= 8);
  using R = typename V::register_type;
  constexpr int B = static_cast<int>(V::size);
  R a[8];
  for (int t = 0; t < 8; ++t) a[t] = t < TW ? static_cast<R>(acc[t]) : R(V(0.0f));
  R u[2];  // u[k], each 128-bit block: the block's sums of a[4k], ..., a[4k + 3]
  for (int k = 0; k < 2; ++k) {
    R s[2];
    for (int i = 0; i < 2; ++i) {
      const R x = a[4 * k + 2 * i], y = a[4 * k + 2 * i + 1];
      if constexpr (B == 16) {
        s[i] = _mm512_add_ps(_mm512_unpacklo_ps(x, y), _mm512_unpackhi_ps(x, y));
      } else if constexpr (B == 8) {
        s[i] = _mm256_add_ps(_mm256_unpacklo_ps(x, y), _mm256_unpackhi_ps(x, y));
      } else {
        s[i] = _mm_add_ps(_mm_unpacklo_ps(x, y), _mm_unpackhi_ps(x, y));
      }
    }
    if constexpr (B == 16) {
      u[k] =
          _mm512_add_ps(_mm512_shuffle_ps(s[0], s[1], 0x44), _mm512_shuffle_ps(s[0], s[1], 0xEE));
    } else if constexpr (B == 8) {
      u[k] =
          _mm256_add_ps(_mm256_shuffle_ps(s[0], s[1], 0x44), _mm256_shuffle_ps(s[0], s[1], 0xEE));
    } else {
      u[k] = _mm_add_ps(_mm_shuffle_ps(s[0], s[1], 0x44), _mm_shuffle_ps(s[0], s[1], 0xEE));
    }
  }
  if constexpr (B == 16) {
    // Blocks (0 + 1), (2 + 3) of u[0] and u[1], then those two added: lanes 0-7 the 8 sums.
    const R v = _mm512_add_ps(_mm512_shuffle_f32x4(u[0], u[1], 0x88),
                              _mm512_shuffle_f32x4(u[0], u[1], 0xDD));
    store_first(
        out, TW,
        V(_mm512_add_ps(_mm512_shuffle_f32x4(v, v, 0x88), _mm512_shuffle_f32x4(v, v, 0xDD))));
  } else if constexpr (B == 8) {
    const V v(_mm256_add_ps(_mm256_permute2f128_ps(u[0], u[1], 0x20),
                            _mm256_permute2f128_ps(u[0], u[1], 0x31)));
    if constexpr (TW == 8) {
      v.store_unaligned(out);
    } else {
      store_first(out, TW, v);
    }
  } else {
    if constexpr (TW >= 4) {
      V(u[0]).store_unaligned(out);
      if constexpr (TW == 8) {
        V(u[1]).store_unaligned(out + 4);
      } else if constexpr (TW > 4) {
        store_first(out + 4, TW - 4, V(u[1]));
      }
    } else {
      store_first(out, TW, V(u[0]));
    }
  }
}

// One unit of the input gradient (an image, or a block of images), as the tiles see it (one group).
struct Dgrad {
  std::int64_t blocks;  // grad_y's planes: vectors of output channels, or (Images) channels
  std::int64_t KH;      // kernel rows
  std::int64_t OH, OW;  // grad_y's plane
  std::int64_t H, W;    // grad_x's plane
  std::int64_t pt, pl;  // the forward's padding
};

// Channel blocks of a tile: CB accumulator rows fit beside TW = 8 columns and CB KW weights.
constexpr int kDgradCB = kRegs == 32 ? 2 : 1;
constexpr int kDgradTW = 8;
// At most this many floats (512 KiB) of a block of images' transposed grad_y and grad_x (one
// group): LeNet's conv2 has 44,416.
constexpr std::int64_t kImagesMaxFloats = std::int64_t{1} << 17;

// grad_x[c0 + cb, ih, i0 + t] for cb < CB, t < TW and every row ih, one row after the other
// (out: grad_x at (c0, 0, i0), planes `plane` apart, `cbs` of the CB channels stored). gT
// [blocks][OH][OW][B]: grad_y transposed; wp: the channel block's packed weights
// [blocks][KH][CB][KW][B]. Images (Note [Input gradient over images]): the lanes are images, wp
// [blocks][KH][CB][KW] scalars, and out [C][H][W][B] at (c0, 0, i0), planes `plane` vectors apart.
template <class V, int TW, int KW, bool Images>
void dgrad_tile(const Dgrad& d, const float* gT, const float* wp, std::int64_t i0, float* out,
                std::int64_t plane, std::int64_t cbs) {
  constexpr int CB = kDgradCB;
  constexpr std::int64_t B = static_cast<std::int64_t>(V::size);
  constexpr std::int64_t WB = Images ? 1 : B;  // floats a packed weight
  // Column m of the walk is grad_y's column ow0 + m; tile column t reads it with kw = t + KW - 1
  // - m.
  const std::int64_t ow0 = i0 + d.pl - (KW - 1);
  // Bit m: grad_y's column ow0 + m is inside the plane.
  std::uint32_t inside = 0;
  for (int m = 0; m < TW + KW - 1; ++m)
    if (ow0 + m >= 0 && ow0 + m < d.OW) inside |= 1u << m;
  for (std::int64_t ih = 0; ih < d.H; ++ih) {
    V acc[CB][TW];
    for (int cb = 0; cb < CB; ++cb)
      for (int t = 0; t < TW; ++t) acc[cb][t] = V(0.0f);
    // Kernel rows reading a grad_y row inside the plane: 0 <= ih + pt - kh < OH.
    const std::int64_t kh0 = ih + d.pt - d.OH + 1 > 0 ? ih + d.pt - d.OH + 1 : 0;
    const std::int64_t kh1 = ih + d.pt + 1 < d.KH ? ih + d.pt + 1 : d.KH;
    for (std::int64_t ob = 0; ob < d.blocks; ++ob) {
      for (std::int64_t kh = kh0; kh < kh1; ++kh) {
        const float* g = gT + (ob * d.OH + ih + d.pt - kh) * d.OW * B;
        const float* wr = wp + (ob * d.KH + kh) * CB * KW * WB;
        V wv[CB][KW];
        for (int cb = 0; cb < CB; ++cb)
#pragma GCC unroll 8
          for (int kw = 0; kw < KW; ++kw)
            wv[cb][kw] = Images ? V(wr[cb * KW + kw]) : V::load_aligned(wr + (cb * KW + kw) * B);
#pragma GCC unroll 16
        for (int m = 0; m < TW + KW - 1; ++m) {
          if ((inside >> m & 1u) == 0) continue;
          const V gv = V::load_aligned(g + (ow0 + m) * B);
          for (int cb = 0; cb < CB; ++cb)
#pragma GCC unroll 8
            for (int kw = 0; kw < KW; ++kw) {
              const int t = m - (KW - 1) + kw;
              if (t >= 0 && t < TW) acc[cb][t] = xsimd::fma(gv, wv[cb][kw], acc[cb][t]);
            }
        }
      }
    }
    // By compile-time indices: a runtime acc[cb] would put acc on the stack.
#pragma GCC unroll 2
    for (int cb = 0; cb < CB; ++cb) {
      if (cb >= cbs) break;
      if constexpr (Images) {
#pragma GCC unroll 8
        for (int t = 0; t < TW; ++t)
          acc[cb][t].store_aligned(out + (cb * plane + ih * d.W + t) * B);
      } else {
        sum_lanes<V, TW>(acc[cb], out + cb * plane + ih * d.W);
      }
    }
  }
}

using DgradFn = void (*)(const Dgrad&, const float*, const float*, std::int64_t, float*,
                         std::int64_t, std::int64_t);
template <class V, bool Images>
struct DgradTiles {
  template <int KW, int TW>
  static constexpr DgradFn fn = &dgrad_tile<V, TW, KW, Images>;
};

// Images: the lanes hold B images (Note [Input gradient over images]); else B output channels.
template <class V, bool Images>
void dgrad_run(const ConvShape& s, const float* gy, const float* w, float* gx) {
  constexpr int CB = kDgradCB;
  constexpr std::int64_t B = static_cast<std::int64_t>(V::size);
  constexpr std::int64_t WB = Images ? 1 : B;  // output channels a packed weight
  const std::int64_t Cg = s.C / s.G, Og = s.O / s.G, KK = s.KH * s.KW, OHW = s.OH * s.OW;
  const std::int64_t HW = s.H * s.W;
  const Dgrad d{(Og + WB - 1) / WB, s.KH, s.OH, s.OW, s.H, s.W, s.pad_top, s.pad_left};
  const std::int64_t cblocks = (Cg + CB - 1) / CB;
  // packed[grp][cblk][ob][kh][cb][kw][j] = w[grp Og + ob WB + j, cblk CB + cb, kh, kw] for j < WB
  // (zero past the group's channels).
  const std::int64_t cblock_size = d.blocks * s.KH * CB * s.KW * WB;
  Buffer<> packed(static_cast<std::size_t>(s.G * cblocks * cblock_size));
  for (std::int64_t grp = 0; grp < s.G; ++grp)
    for (std::int64_t cblk = 0; cblk < cblocks; ++cblk)
      for (std::int64_t ob = 0; ob < d.blocks; ++ob)
        for (std::int64_t kh = 0; kh < s.KH; ++kh)
          for (std::int64_t cb = 0; cb < CB; ++cb)
            for (std::int64_t kw = 0; kw < s.KW; ++kw)
              for (std::int64_t j = 0; j < WB; ++j) {
                const std::int64_t o = ob * WB + j, c = cblk * CB + cb;
                packed.get()[(grp * cblocks + cblk) * cblock_size +
                             (((ob * s.KH + kh) * CB + cb) * s.KW + kw) * WB + j] =
                    o < Og && c < Cg ? w[((grp * Og + o) * Cg + c) * KK + kh * s.KW + kw] : 0.0f;
              }
  // A row of W columns in near-equal tiles of at most kDgradTW.
  const std::int64_t tiles = (s.W + kDgradTW - 1) / kDgradTW;
  // The parallel pieces: images, or blocks of B images.
  const std::int64_t units = Images ? (s.N + B - 1) / B : s.N;
  const double unit_flops = 2.0 * static_cast<double>(s.O * OHW * Cg * KK) * (Images ? B : 1);
  const std::int64_t grain =
      unit_flops >= 1.0e6 ? 1 : static_cast<std::int64_t>(1.0e6 / (unit_flops + 1.0)) + 1;
  parallel_for(0, units, grain, [&](std::int64_t u0, std::int64_t u1) {
    float* gT = pad_scratch(2).get(static_cast<std::size_t>(d.blocks * OHW * B));
    float* xT = Images ? pad_scratch(1).get(static_cast<std::size_t>(Cg * HW * B)) : nullptr;
    for (std::int64_t u = u0; u < u1; ++u) {
      const std::int64_t n = Images ? u * B : u;  // the unit's first image
      const std::int64_t images = Images && s.N - n < B ? s.N - n : B;
      for (std::int64_t grp = 0; grp < s.G; ++grp) {
        const float* gn = gy + (n * s.O + grp * Og) * OHW;
        if constexpr (Images) {
          // gT[o][p][j] = grad_y[n + j, grp Og + o, p], zero past the block's images.
          for (std::int64_t o = 0; o < Og; ++o)
            transpose_planes<B>(gn + o * OHW, s.O * OHW, OHW, images, gT + o * OHW * B);
        } else {
          // gT[ob][p][j] = grad_y[n, grp Og + ob B + j, p], zero past the group's channels.
          for (std::int64_t ob = 0; ob < d.blocks; ++ob)
            transpose_planes<B>(gn + ob * B * OHW, OHW, OHW, Og - ob * B < B ? Og - ob * B : B,
                                gT + ob * OHW * B);
        }
        for (std::int64_t cblk = 0; cblk < cblocks; ++cblk) {
          const std::int64_t c0 = cblk * CB;
          const std::int64_t cbs = Cg - c0 < CB ? Cg - c0 : CB;
          const float* wp = packed.get() + (grp * cblocks + cblk) * cblock_size;
          float* out = Images ? xT + c0 * HW * B : gx + (n * s.C + grp * Cg + c0) * HW;
          for (std::int64_t i = 0; i < tiles; ++i) {
            const std::int64_t i0 = s.W * i / tiles, tw = s.W * (i + 1) / tiles - i0;
            tile_fn<DgradTiles<V, Images>, kDirectInputMaxKW, kDgradTW>(s.KW, tw)(
                d, gT, wp, i0, out + i0 * (Images ? B : 1), HW, cbs);
          }
        }
        if constexpr (Images)
          for (std::int64_t c = 0; c < Cg; ++c)
            untranspose_planes<B>(xT + c * HW * B, HW, images, gx + (n * s.C + grp * Cg + c) * HW,
                                  s.C * HW);
      }
    }
  });
}

}  // namespace

void conv2d_direct_backward_input(const ConvShape& s, const float* grad_y, const float* w,
                                  float* grad_x) {
#if defined(__AVX2__) && !defined(__AVX512F__)
  // AVX2's 16 registers hold a tile of one channel: 5 independent FMAs a column for LeNet, too
  // few to cover the FMA latency. The rows kernel is faster there (LeNet's conv2, 1 thread: 2.4
  // against 2.9 ms) where it applies.
  if (s.pad_top <= s.KH - 1 && s.pad_left <= s.KW - 1) {
    EMBER_ISA::conv2d_rows_backward_input(s, grad_y, w, grad_x);
    return;
  }
#endif
  // Images in the lanes where they fill a vector and a block's grad_y and grad_x stay in L2 (Note
  // [Input gradient over images]).
  constexpr std::int64_t B = static_cast<std::int64_t>(Batch::size);
  const std::int64_t block_floats = (s.O / s.G * s.OH * s.OW + s.C / s.G * s.H * s.W) * B;
  if (s.N >= B && block_floats <= kImagesMaxFloats) {
    dgrad_run<Batch, true>(s, grad_y, w, grad_x);
  } else {
    dgrad_run<Batch, false>(s, grad_y, w, grad_x);
  }
}

}  // namespace EMBER_ISA
}  // namespace ember::kernels
