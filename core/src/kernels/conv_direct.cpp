// The convolution's direct kernels (see conv_direct.h): the forward over output channels (Note
// [Direct convolution]) and over rows (Note [Convolution over rows], which also gives the input
// gradient of a stride-1 convolution). Compiled once per instruction set (Note [ISA dispatch] in
// kernels/isa.h); what the weight and input gradients share with them is in conv_support.h.
//
// Note [Direct convolution]
// For a block of B = W_simd output channels o0..o0+B-1 of one group and one output row oh, a
// tile of T output columns ow0..ow0+T-1 keeps T accumulators, acc[t] lane j = y[o0 + j, oh,
// ow0 + t]. For each (c, kh, kw) in order it loads the B packed weights w[o0.., c, kh, kw] once
// and does T FMAs with the broadcast inputs x[c, oh s + kh d, (ow0 + t) s + kw d]: T FMAs per
// load of weights, every lane useful when the group has a multiple of B output channels
// (LeNet's conv2: 16). A group of at most half a vector (conv1's 6) runs on half-width vectors
// (AVX2's in the AVX-512 build: measured 2.2 ms instead of 3.1 for conv1 at batch 256). Padding:
// each image is first copied into a zero-padded buffer, so the inner loop has no bounds checks.
#include "kernels/conv_direct.h"
#include "kernels/conv_support.h"

#include <ember/core/parallel.h>

#include "kernels/tile_table.h"

namespace ember::kernels {

EMBER_ISA_VARIANTS(conv2d_direct)
EMBER_ISA_VARIANTS(conv2d_rows)
EMBER_ISA_VARIANTS(conv2d_rows_backward_input)

#if EMBER_ISA_BASELINE
void conv2d_direct(const ConvShape& s, const float* x, const float* w, const float* bias,
                   float* y) {
  EMBER_ISA_CALL(conv2d_direct, s, x, w, bias, y);
}
void conv2d_rows(const ConvShape& s, const float* x, const float* w, const float* bias, float* y) {
  EMBER_ISA_CALL(conv2d_rows, s, x, w, bias, y);
}
void conv2d_rows_backward_input(const ConvShape& s, const float* grad_y, const float* w,
                                float* grad_x) {
  EMBER_ISA_CALL(conv2d_rows_backward_input, s, grad_y, w, grad_x);
}
#endif

namespace EMBER_ISA {
namespace {

// At most T output columns per tile: T accumulators, the weights and a broadcast fit in 16
// vector registers. A row of OW columns is cut into ceil(OW / T) tiles of near-equal width
// (LeNet's 10 columns: one tile; 28: 10 + 9 + 9), so no tile is left with a few columns.
constexpr int T = 12;

// Where one image's (possibly padded) input is read: element (c, r, q) is p[c cs + r rs + q].
struct Source {
  const float* p;
  std::int64_t cs, rs;
};

// acc[t] = sum over (c, kh, kw) of wp[(c, kh, kw)] * x[c, row0 + kh dh, col0 + t sw + kw dw].
template <class V, int TT>
void tile(const ConvShape& s, const Source& src, std::int64_t Cg, const float* wp,
          std::int64_t row0, std::int64_t col0, V (&acc)[TT]) {
  constexpr int B = static_cast<int>(V::size);
  // Unrolled: as a loop, GCC makes it a memset, and then keeps acc in memory as well.
#pragma GCC unroll 16
  for (int t = 0; t < TT; ++t) acc[t] = V(0.0f);
  // The loops run at least once (conv2d_forward takes a group without input channels apart):
  // told so, GCC keeps no zeroed copy of acc in memory for the empty case (as in rows_tile).
  if (Cg < 1 || s.KH < 1 || s.KW < 1) __builtin_unreachable();
  const std::int64_t sw = s.stride_w;
  for (std::int64_t c = 0; c < Cg; ++c) {
    for (std::int64_t kh = 0; kh < s.KH; ++kh) {
      const float* row = src.p + c * src.cs + (row0 + kh * s.dilation_h) * src.rs + col0;
      for (std::int64_t kw = 0; kw < s.KW; ++kw) {
        const V wv = V::load_aligned(wp);
        wp += B;
        const float* q = row + kw * s.dilation_w;
        for (int t = 0; t < TT; ++t) acc[t] = xsimd::fma(V(q[t * sw]), wv, acc[t]);
      }
    }
  }
}

// The same sums for stride and dilation 1 along rows and KW = NW: tap kw of column t reads input
// column col0 + t + kw, so a kernel row's NW weight vectors stay in registers and each of the
// TT + NW - 1 input columns it reads is broadcast once for the taps that use it (instead of one
// broadcast per FMA: LeNet's conv2 at batch 256, 1 thread, 1.86 -> 0.95 ms); each accumulator
// still takes (c, kh, kw) in order, so the sums are bitwise tile's.
template <class V, int TT, int NW>
void tile_rows(const ConvShape& s, const Source& src, std::int64_t Cg, const float* wp,
               std::int64_t row0, std::int64_t col0, V (&acc)[TT]) {
  constexpr int B = static_cast<int>(V::size);
  // Unrolled: as a loop, GCC makes it a memset, and then keeps acc in memory as well.
#pragma GCC unroll 16
  for (int t = 0; t < TT; ++t) acc[t] = V(0.0f);
  // The loops run at least once (conv2d_forward takes a group without input channels apart):
  // told so, GCC keeps no zeroed copy of acc in memory for the empty case (as in rows_tile).
  if (Cg < 1 || s.KH < 1 || s.KW < 1) __builtin_unreachable();
  for (std::int64_t c = 0; c < Cg; ++c) {
    for (std::int64_t kh = 0; kh < s.KH; ++kh) {
      const float* row = src.p + c * src.cs + (row0 + kh * s.dilation_h) * src.rs + col0;
      V wv[NW];
#pragma GCC unroll 8
      for (int kw = 0; kw < NW; ++kw) wv[kw] = V::load_aligned(wp + kw * B);
      wp += NW * B;
#pragma GCC unroll 24
      for (int m = 0; m < TT + NW - 1; ++m) {
        const V xb(row[m]);
#pragma GCC unroll 8
        for (int kw = 0; kw < NW; ++kw)
          if (m - kw >= 0 && m - kw < TT) acc[m - kw] = xsimd::fma(xb, wv[kw], acc[m - kw]);
      }
    }
  }
}

// The first n <= 4 floats of v at p.
inline void store_upto4(float* p, __m128 v, int n) {
  if (n == 4) {
    _mm_storeu_ps(p, v);
    return;
  }
  if (n >= 2) _mm_storel_pi(reinterpret_cast<__m64*>(p), v);
  if (n == 1) _mm_store_ss(p, v);
  if (n == 3) _mm_store_ss(p + 2, _mm_movehl_ps(v, v));
}

// y[j stride + t] = tmp[t][j] for t < TT and j < lanes (rows TT.. of tmp are padding): a tile's
// sums, a vector of output channels for each column, stored as the channels' rows, transposed
// in 4 x 4 blocks in SSE registers. Before, element by element (B TT scalar loads, inserts and
// stores) and with the sums zeroed and copied through memory (see tile), LeNet's conv2 forward
// was 1.05x / 1.09x slower at 1 / 2 threads (bench/results/conv_tile_zen4, Zen 4).
template <int TT, int B>
inline void store_transposed(const float (&tmp)[(TT + 3) / 4 * 4][B], float* y, std::int64_t stride,
                             std::int64_t lanes) {
  static_assert(B % 4 == 0);
#pragma GCC unroll 4
  for (int t0 = 0; t0 < TT; t0 += 4) {
    const int n = TT - t0 < 4 ? TT - t0 : 4;
    for (std::int64_t j0 = 0; j0 < lanes; j0 += 4) {
      __m128 c0 = _mm_load_ps(&tmp[t0][j0]), c1 = _mm_load_ps(&tmp[t0 + 1][j0]);
      __m128 c2 = _mm_load_ps(&tmp[t0 + 2][j0]), c3 = _mm_load_ps(&tmp[t0 + 3][j0]);
      _MM_TRANSPOSE4_PS(c0, c1, c2, c3);  // c_k: column j0 + k, rows t0 .. t0 + 3
      const __m128 column[4] = {c0, c1, c2, c3};
      for (std::int64_t k = 0; k < 4 && j0 + k < lanes; ++k)
        store_upto4(y + (j0 + k) * stride + t0, column[k], n);
    }
  }
}

// Tile of TT columns at (oh, ow0) for channels [o0, o0 + lanes) of image n: compute (tile_rows
// when NW > 0) and store.
template <class V, int TT, int NW>
void run_tile(const ConvShape& s, const Source& src, std::int64_t Cg, const float* wp,
              const float* bias, float* y_image, std::int64_t o0, std::int64_t lanes,
              std::int64_t oh, std::int64_t ow0) {
  constexpr int B = static_cast<int>(V::size);
  // The bias first: a call (GCC makes this loop a memcpy) after the sums would spill them.
  alignas(64) float bias_lanes[B] = {};
  if (bias != nullptr)
    for (std::int64_t j = 0; j < lanes; ++j) bias_lanes[j] = bias[o0 + j];
  V acc[TT];
  if constexpr (NW > 0) {
    tile_rows<V, TT, NW>(s, src, Cg, wp, oh * s.stride_h, ow0, acc);
  } else {
    tile<V, TT>(s, src, Cg, wp, oh * s.stride_h, ow0 * s.stride_w, acc);
  }
  const V b = V::load_aligned(bias_lanes);
  alignas(64) float tmp[(TT + 3) / 4 * 4][B];
  for (int t = 0; t < TT; ++t) (acc[t] + b).store_aligned(tmp[t]);
  for (int t = TT; t < (TT + 3) / 4 * 4; ++t) V(0.0f).store_aligned(tmp[t]);
  const std::int64_t plane = s.OH * s.OW;
  store_transposed<TT>(tmp, y_image + o0 * plane + oh * s.OW + ow0, plane, lanes);
}

using TileFn = void (*)(const ConvShape&, const Source&, std::int64_t, const float*, const float*,
                        float*, std::int64_t, std::int64_t, std::int64_t, std::int64_t);
// Kernel widths up to which tile_rows keeps a kernel row's weights in registers.
constexpr int kMaxNW = 7;
// ForwardTiles<V>::fn<nw + 1, k> runs a tile of k columns (nw: run_tile's NW).
template <class V>
struct ForwardTiles {
  template <int NW1, int K>
  static constexpr TileFn fn = &run_tile<V, K, NW1 - 1>;
};

template <class V>
void run(const ConvShape& s, const float* x, const float* w, const float* bias, float* y) {
  constexpr int B = static_cast<int>(V::size);  // output channels per vector
  const bool rows = s.stride_w == 1 && s.dilation_w == 1 && s.KW <= kMaxNW;
  const std::int64_t nw = rows ? s.KW : 0;
  const std::int64_t Cg = s.C / s.G, Og = s.O / s.G, CgKK = Cg * s.KH * s.KW;
  const std::int64_t blocks = (Og + B - 1) / B;  // vectors of output channels per group
  // Packed weights: block (grp, ob) holds CgKK vectors, lane j of vector r being
  // w[grp Og + ob B + j, r] (zero past the group's channels).
  const std::int64_t pack_size = s.G * blocks * CgKK * B;
  Buffer<> pack(static_cast<std::size_t>(pack_size > 0 ? pack_size : 1));
  float* wp = pack.get();
  for (std::int64_t grp = 0; grp < s.G; ++grp) {
    for (std::int64_t ob = 0; ob < blocks; ++ob) {
      float* dst = wp + (grp * blocks + ob) * CgKK * B;
      for (std::int64_t r = 0; r < CgKK; ++r) {
        for (std::int64_t j = 0; j < B; ++j) {
          const std::int64_t o = ob * B + j;
          dst[r * B + j] = o < Og ? w[(grp * Og + o) * CgKK + r] : 0.0f;
        }
      }
    }
  }
  // The padded image: just the rows and columns the windows read.
  const std::int64_t Hp = (s.OH - 1) * s.stride_h + (s.KH - 1) * s.dilation_h + 1;
  const std::int64_t Wp = (s.OW - 1) * s.stride_w + (s.KW - 1) * s.dilation_w + 1;
  // tile_rows keeps TT accumulators, NW weights and a broadcast in registers.
  const std::int64_t widest = rows && kRegs - s.KW - 1 < T ? kRegs - s.KW - 1 : T;
  const std::int64_t row_tiles = (s.OW + widest - 1) / widest;
  const bool padded = s.pad_top != 0 || s.pad_left != 0 || Hp > s.H || Wp > s.W;
  const double image_flops = 2.0 * static_cast<double>(s.O * s.OH * s.OW * CgKK);
  const std::int64_t grain =
      image_flops >= 1.0e6 ? 1 : static_cast<std::int64_t>(1.0e6 / (image_flops + 1.0)) + 1;
  parallel_for(0, s.N, grain, [&](std::int64_t n0, std::int64_t n1) {
    for (std::int64_t n = n0; n < n1; ++n) {
      const float* xn = x + n * s.C * s.H * s.W;
      Source src{xn, s.H * s.W, s.W};
      if (padded) {
        float* buf = pad_scratch().get(static_cast<std::size_t>(s.C * Hp * Wp));
        fill_padded({s.C, s.H, s.W, s.H * s.W, s.W, s.pad_top, s.pad_left}, xn, buf, Hp, Wp,
                    n > n0);
        src = {buf, Hp * Wp, Wp};
      }
      float* yn = y + n * s.O * s.OH * s.OW;
      for (std::int64_t grp = 0; grp < s.G; ++grp) {
        const Source gsrc{src.p + grp * Cg * src.cs, src.cs, src.rs};
        for (std::int64_t ob = 0; ob < blocks; ++ob) {
          const std::int64_t o0 = grp * Og + ob * B;
          const std::int64_t lanes = Og - ob * B < B ? Og - ob * B : B;
          const float* wblock = wp + (grp * blocks + ob) * CgKK * B;
          for (std::int64_t oh = 0; oh < s.OH; ++oh) {
            for (std::int64_t i = 0; i < row_tiles; ++i) {
              const std::int64_t ow0 = s.OW * i / row_tiles;
              const std::int64_t cols = s.OW * (i + 1) / row_tiles - ow0;
              tile_fn<ForwardTiles<V>, kMaxNW + 1, T>(nw + 1, cols)(s, gsrc, Cg, wblock, bias, yn,
                                                                    o0, lanes, oh, ow0);
            }
          }
        }
      }
    }
  });
}

// Note [Convolution over rows]
// conv2d_direct puts output channels in the lanes, which wastes most of them when a group has
// few (LeNet's conv1: 6 of 16). Here the lanes hold B consecutive output columns of one row,
// and a tile is CB output channels x NV such vectors (CB NV accumulators): for each (ci, kh, kw)
// in order it loads the NV input vectors once (unaligned, from a zero-padded copy of the image,
// so no bounds checks; stride_w must be 1 for them to be contiguous) and broadcasts CB packed
// weights, CB NV FMAs. Each output element is one FMA chain over (ci, kh, kw) from 0, plus the
// bias, whatever the tile or thread: images are the parallel pieces. Lanes past the row's end
// compute on padding and are not stored.
//
// The input gradient of a stride-1 convolution is the same computation: grad_x[c, ih, iw] =
// sum_{o, kh, kw} w[o, c, kh, kw] grad_y[o, ih + pt - kh dh, iw + pl - kw dw], a convolution of
// grad_y zero-padded by (K - 1) d - p on each side (top / left) with the kernel flipped (kh ->
// KH - 1 - kh) and its in/out channels swapped. Compared with im2col's adjoint it needs no
// [C KH KW, OH OW] buffer and no scatter; the padding rows cost FMAs on zeros (LeNet's conv2:
// 70 row taps for 50 useful), cheaper than the buffers were.

// One convolution over rows, as the kernels see it (per image and group).
struct Rows {
  std::int64_t Ci, Co;  // input channels read, output channels written (of one group)
  std::int64_t KH, KW;  // kernel
  std::int64_t dh, dw;  // dilation
  std::int64_t sh;      // source rows between output rows
  std::int64_t R, Q;    // output rows and columns
  std::int64_t Hs, Ws;  // the padded source planes
  std::int64_t nvr;     // vectors per output row
  std::int64_t lo, hi;  // the source rows holding data (the others are padding, zero)
};

// Tile: output vectors k0 .. k0 + NV - 1 (k = r nvr + v: row r, columns v B ..) of CB channels.
template <class V, int CB, int NV>
void rows_tile(const Rows& a, const float* src, const float* wblock, const float* bias, float* out,
               std::int64_t lanes, std::int64_t k0) {
  constexpr std::int64_t B = static_cast<std::int64_t>(V::size);
  const float* sp[NV];
  std::int64_t r[NV], q0[NV];
  // One division for the tile (not one a vector: a 64-bit division costs as much as 20 FMAs).
  std::int64_t r0 = k0 / a.nvr, v0 = k0 - r0 * a.nvr;
  for (int j = 0; j < NV; ++j) {
    r[j] = r0;
    q0[j] = v0 * B;
    sp[j] = src + r[j] * a.sh * a.Ws + q0[j];
    if (++v0 == a.nvr) v0 = 0, ++r0;
  }
  V acc[CB][NV];
  for (int cb = 0; cb < CB; ++cb)
    for (int j = 0; j < NV; ++j) acc[cb][j] = V(0.0f);
  const float* wp = wblock;
  const std::int64_t plane = a.Hs * a.Ws;
  // The loops run at least once (conv2d_geometry checks the shapes). Told so, GCC keeps acc in
  // registers throughout; else it keeps a zeroed copy on the stack for the empty case and reads
  // the sums back from there.
  if (a.Ci < 1 || a.KH < 1 || a.KW < 1) __builtin_unreachable();
  for (std::int64_t ci = 0; ci < a.Ci; ++ci) {
    for (std::int64_t kh = 0; kh < a.KH; ++kh) {
      // A kernel row that reads only padding rows for every vector of the tile adds w 0: skip
      // it (the input gradient's tiles at the top and bottom of the image).
      bool data = false;
      for (int j = 0; j < NV; ++j) {
        const std::int64_t row = r[j] * a.sh + kh * a.dh;
        data = data || (row >= a.lo && row < a.hi);
      }
      if (!data) {
        wp += a.KW * CB;
        continue;
      }
      const std::int64_t off = ci * plane + kh * a.dh * a.Ws;
      for (std::int64_t kw = 0; kw < a.KW; ++kw) {
        const std::int64_t o2 = off + kw * a.dw;
        V xv[NV];
        for (int j = 0; j < NV; ++j) xv[j] = V::load_unaligned(sp[j] + o2);
        for (int cb = 0; cb < CB; ++cb) {
          const V wv(wp[cb]);
          for (int j = 0; j < NV; ++j) acc[cb][j] = xsimd::fma(wv, xv[j], acc[cb][j]);
        }
        wp += CB;
      }
    }
  }
  const std::int64_t oplane = a.R * a.Q;
  // The first `lanes` of the CB channels, by compile-time indices (acc stays in registers).
#pragma GCC unroll 8
  for (int cb = 0; cb < CB; ++cb) {
    if (cb == lanes) break;
    const V b(bias != nullptr ? bias[cb] : 0.0f);
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) {
      float* dst = out + cb * oplane + r[j] * a.Q + q0[j];
      const V v = bias != nullptr ? acc[cb][j] + b : acc[cb][j];
      if (q0[j] + B <= a.Q) {
        v.store_unaligned(dst);
      } else {
        store_first(dst, a.Q - q0[j], v);
      }
    }
  }
}

using RowsFn = void (*)(const Rows&, const float*, const float*, const float*, float*, std::int64_t,
                        std::int64_t);
constexpr int kMaxCB = 8;  // output channels per tile
constexpr int kMaxNV = 4;  // vectors per tile

template <class V>
struct RowsTiles {
  template <int CB, int NV>
  static constexpr RowsFn fn = &rows_tile<V, CB, NV>;
};

// Runs a convolution over rows on every image: `src_of(n)` the image's planes (all groups,
// Placement pl per group of Ci planes), packed weights [G][blocks][Ci][KH][KW][CB], output
// [N][G Co][R][Q].
void rows_run(const Rows& a0, std::int64_t N, std::int64_t G, const float* x, std::int64_t x_image,
              const Placement& pl, const float* packed, int CB, const float* bias, float* y) {
  using V = xsimd::batch<float>;
  constexpr std::int64_t B = static_cast<std::int64_t>(V::size);
  Rows a = a0;
  a.nvr = (a.Q + B - 1) / B;
  a.lo = pl.top > 0 ? pl.top : 0;
  a.hi = pl.top + pl.H < a.Hs ? pl.top + pl.H : a.Hs;
  const std::int64_t blocks = (a.Co + CB - 1) / CB;
  const int max_acc = kMaxAcc;
  int NV = max_acc / CB;
  if (NV > kMaxNV) NV = kMaxNV;
  if (NV < 1) NV = 1;
  const std::int64_t vectors = a.R * a.nvr;
  if (NV > vectors) NV = static_cast<int>(vectors);
  const RowsFn full = tile_fn<RowsTiles<V>, kMaxCB, kMaxNV>(CB, NV);
  const std::int64_t tail = vectors % NV;
  const RowsFn last = tail > 0 ? tile_fn<RowsTiles<V>, kMaxCB, kMaxNV>(CB, tail) : nullptr;
  const std::int64_t CiKK = a.Ci * a.KH * a.KW;
  const double image_flops = 2.0 * static_cast<double>(G * a.Co * a.R * a.Q * CiKK);
  const std::int64_t grain =
      image_flops >= 1.0e6 ? 1 : static_cast<std::int64_t>(1.0e6 / (image_flops + 1.0)) + 1;
  parallel_for(0, N, grain, [&](std::int64_t n0, std::int64_t n1) {
    float* buf = pad_scratch(1).get(static_cast<std::size_t>(G * a.Ci * a.Hs * a.Ws + B));
    for (std::int64_t n = n0; n < n1; ++n) {
      Placement p = pl;
      p.C = G * a.Ci;
      fill_padded(p, x + n * x_image, buf, a.Hs, a.Ws, n > n0);
      for (std::int64_t grp = 0; grp < G; ++grp) {
        const float* src = buf + grp * a.Ci * a.Hs * a.Ws;
        for (std::int64_t ob = 0; ob < blocks; ++ob) {
          const std::int64_t co0 = grp * a.Co + ob * CB;
          const std::int64_t lanes = a.Co - ob * CB < CB ? a.Co - ob * CB : CB;
          const float* wblock = packed + (grp * blocks + ob) * CiKK * CB;
          float* out = y + (n * G * a.Co + co0) * a.R * a.Q;
          const float* bb = bias != nullptr ? bias + co0 : nullptr;
          std::int64_t k = 0;
          for (; k + NV <= vectors; k += NV) full(a, src, wblock, bb, out, lanes, k);
          if (last != nullptr) last(a, src, wblock, bb, out, lanes, k);
        }
      }
    }
  });
}

// Packs weights for rows_run: packed[grp][ob][ci][kh][kw][cb] = weight(grp, ob CB + cb, ci, kh,
// kw) (zero past the group's Co).
template <class Fn>
void pack_rows(float* packed, std::int64_t G, std::int64_t Co, std::int64_t Ci, std::int64_t KK,
               int CB, Fn weight) {
  const std::int64_t blocks = (Co + CB - 1) / CB;
  for (std::int64_t grp = 0; grp < G; ++grp)
    for (std::int64_t ob = 0; ob < blocks; ++ob)
      for (std::int64_t ci = 0; ci < Ci; ++ci)
        for (std::int64_t t = 0; t < KK; ++t)
          for (std::int64_t cb = 0; cb < CB; ++cb) {
            const std::int64_t co = ob * CB + cb;
            packed[(((grp * blocks + ob) * Ci + ci) * KK + t) * CB + cb] =
                co < Co ? weight(grp, co, ci, t) : 0.0f;
          }
}

// Output channels per tile: all of a group's, at most kMaxCB, at least 1 (a tile shape even when
// a group has none).
int rows_cb(std::int64_t Co) {
  return Co < 1 ? 1 : Co < kMaxCB ? static_cast<int>(Co) : kMaxCB;
}

}  // namespace

void conv2d_rows(const ConvShape& s, const float* x, const float* w, const float* bias, float* y) {
  using V = xsimd::batch<float>;
  constexpr std::int64_t B = static_cast<std::int64_t>(V::size);
  const std::int64_t Cg = s.C / s.G, Og = s.O / s.G, KK = s.KH * s.KW;
  const std::int64_t nvr = (s.OW + B - 1) / B;
  Rows a{Cg, Og, s.KH, s.KW, s.dilation_h, s.dilation_w, s.stride_h, s.OH, s.OW, 0, 0, nvr, 0, 0};
  a.Hs = (s.OH - 1) * s.stride_h + (s.KH - 1) * s.dilation_h + 1;
  a.Ws = nvr * B + (s.KW - 1) * s.dilation_w;
  const int CB = rows_cb(Og);
  const std::int64_t blocks = (Og + CB - 1) / CB;
  Buffer<> packed(static_cast<std::size_t>(s.G * blocks * Cg * KK * CB));
  pack_rows(packed.get(), s.G, Og, Cg, KK, CB,
            [&](std::int64_t grp, std::int64_t co, std::int64_t ci, std::int64_t t) {
              return w[((grp * Og + co) * Cg + ci) * KK + t];
            });
  const Placement pl{s.C, s.H, s.W, s.H * s.W, s.W, s.pad_top, s.pad_left};
  rows_run(a, s.N, s.G, x, s.C * s.H * s.W, pl, packed.get(), CB, bias, y);
}

void conv2d_rows_backward_input(const ConvShape& s, const float* grad_y, const float* w,
                                float* grad_x) {
  using V = xsimd::batch<float>;
  constexpr std::int64_t B = static_cast<std::int64_t>(V::size);
  const std::int64_t Cg = s.C / s.G, Og = s.O / s.G, KH = s.KH, KW = s.KW, KK = KH * KW;
  const std::int64_t nvr = (s.W + B - 1) / B;
  // grad_x is a stride-1 convolution of grad_y over rows (H rows of W columns), grad_y placed
  // at ((KH - 1) dh - pt, (KW - 1) dw - pl) in the zero buffer.
  Rows a{Og, Cg, KH, KW, s.dilation_h, s.dilation_w, 1, s.H, s.W, 0, 0, nvr, 0, 0};
  a.Hs = (s.H - 1) + (KH - 1) * s.dilation_h + 1;
  a.Ws = nvr * B + (KW - 1) * s.dilation_w;
  const int CB = rows_cb(Cg);
  const std::int64_t blocks = (Cg + CB - 1) / CB;
  Buffer<> packed(static_cast<std::size_t>(s.G * blocks * Og * KK * CB));
  // Weight (grp, c, o, kh, kw) of the flipped kernel: w[grp Og + o, c, KH-1-kh, KW-1-kw].
  pack_rows(packed.get(), s.G, Cg, Og, KK, CB,
            [&](std::int64_t grp, std::int64_t c, std::int64_t o, std::int64_t t) {
              return w[((grp * Og + o) * Cg + c) * KK + (KK - 1 - t)];
            });
  const Placement pl{s.O,
                     s.OH,
                     s.OW,
                     s.OH * s.OW,
                     s.OW,
                     (KH - 1) * s.dilation_h - s.pad_top,
                     (KW - 1) * s.dilation_w - s.pad_left};
  rows_run(a, s.N, s.G, grad_y, s.O * s.OH * s.OW, pl, packed.get(), CB, nullptr, grad_x);
}

void conv2d_direct(const ConvShape& s, const float* x, const float* w, const float* bias,
                   float* y) {
  if (s.O / s.G <= static_cast<std::int64_t>(HalfBatch::size)) {
    run<HalfBatch>(s, x, w, bias, y);
  } else {
    run<Batch>(s, x, w, bias, y);
  }
}

}  // namespace EMBER_ISA
}  // namespace ember::kernels
