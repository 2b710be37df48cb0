// The direct convolution kernel (see conv_direct.h), compiled once per instruction set (Note
// [ISA dispatch] in kernels/isa.h): no standard containers or out-of-line standard algorithms
// in the ISA namespace.
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
#include "kernels/isa.h"

#include <ember/core/parallel.h>

#include "kernels/simd.h"

#include <immintrin.h>

#include <cstddef>
#include <cstring>
#include <new>
#include <utility>

namespace ember::kernels {

EMBER_ISA_VARIANTS(conv2d_direct)
EMBER_ISA_VARIANTS(conv2d_rows)
EMBER_ISA_VARIANTS(conv2d_rows_backward_input)
EMBER_ISA_VARIANTS(conv2d_direct_backward_input)
EMBER_ISA_VARIANTS(conv2d_direct_backward_weight)

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
void conv2d_direct_backward_input(const ConvShape& s, const float* grad_y, const float* w,
                                  float* grad_x) {
  EMBER_ISA_CALL(conv2d_direct_backward_input, s, grad_y, w, grad_x);
}
void conv2d_direct_backward_weight(const ConvShape& s, const float* x, const float* grad_y,
                                   float* grad_w, float* grad_b) {
  EMBER_ISA_CALL(conv2d_direct_backward_weight, s, x, grad_y, grad_w, grad_b);
}
#endif

namespace EMBER_ISA {
namespace {

using Batch = xsimd::batch<float>;
// Half as wide, for groups of at most half a vector of output channels (LeNet's conv1 has 6):
// AVX2's 8 lanes in the AVX-512 build, SSE's 4 in the AVX2 build.
#if defined(__AVX512F__)
using HalfBatch = xsimd::batch<float, xsimd::avx2>;
#elif defined(__AVX2__)
using HalfBatch = xsimd::batch<float, xsimd::sse4_2>;
#else
using HalfBatch = Batch;
#endif
// At most T output columns per tile: T accumulators, the weights and a broadcast fit in 16
// vector registers. A row of OW columns is cut into ceil(OW / T) tiles of near-equal width
// (LeNet's 10 columns: one tile; 28: 10 + 9 + 9), so no tile is left with a few columns.
constexpr int T = 12;
// Vector registers: 32 with AVX-512 (of either width), else 16; a tile may keep kMaxAcc
// accumulators (the others hold its operands).
#if defined(__AVX512F__)
constexpr int kRegs = 32;
constexpr int kMaxAcc = 24;
#else
constexpr int kRegs = 16;
constexpr int kMaxAcc = 12;
#endif

// 64-byte aligned values (floats unless said), freed on scope exit.
template <class T = float>
class Buffer {
 public:
  explicit Buffer(std::size_t n)
      : p_(static_cast<T*>(::operator new (n * sizeof(T), std::align_val_t{64}))) {}
  ~Buffer() { ::operator delete (p_, std::align_val_t{64}); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  T* get() const { return p_; }

 private:
  T* p_;
};

// A thread's padded-image buffer, grown once.
struct PadScratch {
  float* data = nullptr;
  std::size_t size = 0;
  float* get(std::size_t n) {
    if (n > size) {
      if (data != nullptr) ::operator delete (data, std::align_val_t{64});
      data = static_cast<float*>(::operator new (n * sizeof(float), std::align_val_t{64}));
      size = n;
    }
    return data;
  }
  ~PadScratch() {
    if (data != nullptr) ::operator delete (data, std::align_val_t{64});
  }
};

// A thread's scratch buffers: 0 the padded image, 1 and 2 for the backward kernels.
PadScratch& pad_scratch(int which = 0) {
  thread_local PadScratch scratch[3];
  return scratch[which];
}

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
  for (int t = 0; t < TT; ++t) acc[t] = V(0.0f);
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
  for (int t = 0; t < TT; ++t) acc[t] = V(0.0f);
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

// Tile of TT columns at (oh, ow0) for channels [o0, o0 + lanes) of image n: compute (tile_rows
// when NW > 0) and store.
template <class V, int TT, int NW>
void run_tile(const ConvShape& s, const Source& src, std::int64_t Cg, const float* wp,
              const float* bias, float* y_image, std::int64_t o0, std::int64_t lanes,
              std::int64_t oh, std::int64_t ow0) {
  constexpr int B = static_cast<int>(V::size);
  V acc[TT];
  if constexpr (NW > 0) {
    tile_rows<V, TT, NW>(s, src, Cg, wp, oh * s.stride_h, ow0, acc);
  } else {
    tile<V, TT>(s, src, Cg, wp, oh * s.stride_h, ow0 * s.stride_w, acc);
  }
  alignas(64) float tmp[TT][B];
  for (int t = 0; t < TT; ++t) acc[t].store_aligned(tmp[t]);
  const std::int64_t plane = s.OH * s.OW;
  for (std::int64_t j = 0; j < lanes; ++j) {
    float* out = y_image + (o0 + j) * plane + oh * s.OW + ow0;
    const float b = bias != nullptr ? bias[o0 + j] : 0.0f;
    for (int t = 0; t < TT; ++t) out[t] = tmp[t][j] + b;
  }
}

using TileFn = void (*)(const ConvShape&, const Source&, std::int64_t, const float*, const float*,
                        float*, std::int64_t, std::int64_t, std::int64_t, std::int64_t);
// Kernel widths up to which tile_rows keeps a kernel row's weights in registers.
constexpr int kMaxNW = 7;
// Tiles<V, NW>::fns[k - 1] runs a tile of k columns (NW: as run_tile).
template <class V, int NW>
struct Tiles {
  static constexpr TileFn fns[T] = {
      &run_tile<V, 1, NW>, &run_tile<V, 2, NW>,  &run_tile<V, 3, NW>,  &run_tile<V, 4, NW>,
      &run_tile<V, 5, NW>, &run_tile<V, 6, NW>,  &run_tile<V, 7, NW>,  &run_tile<V, 8, NW>,
      &run_tile<V, 9, NW>, &run_tile<V, 10, NW>, &run_tile<V, 11, NW>, &run_tile<V, 12, NW>};
};
template <class V>
const TileFn* tiles_for(int nw) {
  switch (nw) {
    case 1:
      return Tiles<V, 1>::fns;
    case 2:
      return Tiles<V, 2>::fns;
    case 3:
      return Tiles<V, 3>::fns;
    case 4:
      return Tiles<V, 4>::fns;
    case 5:
      return Tiles<V, 5>::fns;
    case 6:
      return Tiles<V, 6>::fns;
    case 7:
      return Tiles<V, 7>::fns;
    default:
      return Tiles<V, 0>::fns;
  }
}

template <class V>
void run(const ConvShape& s, const float* x, const float* w, const float* bias, float* y) {
  constexpr int B = static_cast<int>(V::size);  // output channels per vector
  const bool rows = s.stride_w == 1 && s.dilation_w == 1 && s.KW <= kMaxNW;
  const TileFn* tiles = tiles_for<V>(rows ? static_cast<int>(s.KW) : 0);
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
        for (std::int64_t i = 0; i < s.C * Hp * Wp; ++i) buf[i] = 0.0f;
        for (std::int64_t c = 0; c < s.C; ++c) {
          for (std::int64_t r = 0; r < Hp; ++r) {
            const std::int64_t ih = r - s.pad_top;
            if (ih < 0 || ih >= s.H) continue;
            // Columns q of the buffer read input column q - pad_left, where that is in range.
            const std::int64_t q0 = s.pad_left;
            const std::int64_t q1 = s.pad_left + s.W < Wp ? s.pad_left + s.W : Wp;
            if (q1 > q0)
              std::memcpy(buf + (c * Hp + r) * Wp + q0, xn + (c * s.H + ih) * s.W,
                          static_cast<std::size_t>(q1 - q0) * sizeof(float));
          }
        }
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
              tiles[cols - 1](s, gsrc, Cg, wblock, bias, yn, o0, lanes, oh, ow0);
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

// Stores lanes [0, n) of v at dst (n < size): a masked store where the ISA has one.
template <class V>
void store_first(const V& v, float* dst, std::int64_t n) {
#if defined(__AVX512F__)
  if constexpr (V::size == 16) {
    _mm512_mask_storeu_ps(dst, static_cast<__mmask16>((1u << n) - 1u), v);
    return;
  } else if constexpr (V::size == 8) {
    _mm256_mask_storeu_ps(dst, static_cast<__mmask8>((1u << n) - 1u), v);
    return;
  }
#elif defined(__AVX2__)
  if constexpr (V::size == 8) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    _mm256_maskstore_ps(dst, _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), lane), v);
    return;
  }
#endif
  alignas(64) float tmp[V::size];
  v.store_aligned(tmp);
  for (std::int64_t i = 0; i < n; ++i) dst[i] = tmp[i];
}

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
  for (std::int64_t cb = 0; cb < lanes; ++cb) {
    const V b(bias != nullptr ? bias[cb] : 0.0f);
    for (int j = 0; j < NV; ++j) {
      float* dst = out + cb * oplane + r[j] * a.Q + q0[j];
      const V v = bias != nullptr ? acc[cb][j] + b : acc[cb][j];
      if (q0[j] + B <= a.Q) {
        v.store_unaligned(dst);
      } else {
        store_first(v, dst, a.Q - q0[j]);
      }
    }
  }
}

using RowsFn = void (*)(const Rows&, const float*, const float*, const float*, float*, std::int64_t,
                        std::int64_t);
constexpr int kMaxCB = 8;  // output channels per tile
constexpr int kMaxNV = 4;  // vectors per tile

template <class V, int CB>
struct RowsByNV {
  static constexpr RowsFn fns[kMaxNV] = {&rows_tile<V, CB, 1>, &rows_tile<V, CB, 2>,
                                         &rows_tile<V, CB, 3>, &rows_tile<V, CB, 4>};
};
template <class V>
RowsFn rows_fn(int cb, int nv) {
  switch (cb) {
    case 1:
      return RowsByNV<V, 1>::fns[nv - 1];
    case 2:
      return RowsByNV<V, 2>::fns[nv - 1];
    case 3:
      return RowsByNV<V, 3>::fns[nv - 1];
    case 4:
      return RowsByNV<V, 4>::fns[nv - 1];
    case 5:
      return RowsByNV<V, 5>::fns[nv - 1];
    case 6:
      return RowsByNV<V, 6>::fns[nv - 1];
    case 7:
      return RowsByNV<V, 7>::fns[nv - 1];
    default:
      return RowsByNV<V, 8>::fns[nv - 1];
  }
}

// Where one image's source planes go in the zero-padded buffer: plane ci of the buffer holds
// image plane ci (H x W, rows `rs` floats apart, planes `cs`) at row `top`, column `left`.
struct Placement {
  std::int64_t C, H, W, cs, rs, top, left;
};

// Copies the image into buf; `zeroed`: buf already holds this placement's zeros (a previous
// image of the same call), so only the image's cells are written. Rows are short (LeNet's: 10
// to 28 floats): a plain loop, not a call to memcpy per row.
void fill_padded(const Placement& pl, const float* img, float* buf, std::int64_t Hs,
                 std::int64_t Ws, bool zeroed) {
  if (!zeroed)
    for (std::int64_t i = 0; i < pl.C * Hs * Ws; ++i) buf[i] = 0.0f;
  const std::int64_t q0 = pl.left, q1 = pl.left + pl.W < Ws ? pl.left + pl.W : Ws;
  if (q1 <= q0) return;
  const std::int64_t r0 = pl.top > 0 ? pl.top : 0;
  const std::int64_t r1 = pl.top + pl.H < Hs ? pl.top + pl.H : Hs;
  for (std::int64_t c = 0; c < pl.C; ++c) {
    for (std::int64_t r = r0; r < r1; ++r) {
      float* dst = buf + (c * Hs + r) * Ws + q0;
      const float* src = img + c * pl.cs + (r - pl.top) * pl.rs;
      for (std::int64_t q = 0; q < q1 - q0; ++q) dst[q] = src[q];
    }
  }
}

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
  const RowsFn full = rows_fn<V>(CB, NV);
  const std::int64_t tail = vectors % NV;
  const RowsFn last = tail > 0 ? rows_fn<V>(CB, static_cast<int>(tail)) : nullptr;
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

int rows_cb(std::int64_t Co) {
  return Co < kMaxCB ? static_cast<int>(Co) : kMaxCB;
}

// Note [Direct weight gradient]
// grad_w[o, c, kh, kw] = sum_{n, oh, ow} grad_y[n, o, oh, ow] x[n, c, oh s + kh d - p, ...].
// Lanes hold B output channels of a group (grad_y transposed per image to [OH OW][B]); a tile
// keeps RH x NT taps of one input channel in registers and, for each output position in order,
// loads grad_y's vector once and does RH NT FMAs with the broadcast inputs (from the zero-padded
// image, as the forward). With stride and dilation 1 along rows, tap t of column ow reads input
// column ow + t, so a block of kBlock columns loads its kBlock grad_y vectors and broadcasts
// each of the kBlock + NT - 1 input columns it reads once for all the taps that use it: RH
// (kBlock + NT - 1) broadcasts for RH NT kBlock FMAs instead of one per FMA (LeNet's weight
// gradients at batch 256, 1 thread: conv1 1.44 -> 1.2 ms, conv2 2.3 -> 1.7 ms), each accumulator
// still taking the columns in order, so the sums are bitwise those of one FMA per load. The
// image range is cut into at most kParts parts fixed by N; each part chains its images in order
// through its own accumulators, and the parts are added in order: the same sums at any thread
// count.
constexpr int kBlock = 4;

// Columns ow0 .. ow0 + kBlock - 1 of one output row (xr: input column ow0 of the tile's first
// kernel row; g: grad_y's vector of column ow0): acc[r][t] += x[r, ow + t] g[ow], ow in order.
template <class V, int RH, int NT>
void wgrad_block(const float* xr, std::int64_t rstep, const float* g, V (&acc)[RH][NT]) {
  constexpr std::int64_t B = static_cast<std::int64_t>(V::size);
  V gv[kBlock];
#pragma GCC unroll 8
  for (int u = 0; u < kBlock; ++u) gv[u] = V::load_aligned(g + u * B);
#pragma GCC unroll 16
  for (int m = 0; m < kBlock + NT - 1; ++m) {
#pragma GCC unroll 8
    for (int r = 0; r < RH; ++r) {
      const V xb(xr[r * rstep + m]);
#pragma GCC unroll 8
      for (int t = 0; t < NT; ++t)
        if (m - t >= 0 && m - t < kBlock) acc[r][t] = xsimd::fma(xb, gv[m - t], acc[r][t]);
    }
  }
}

template <class V, int RH, int NT>
void wgrad_tile(const ConvShape& s, const float* xs, std::int64_t Wp, const float* gT,
                float* acc_mem) {
  constexpr std::int64_t B = static_cast<std::int64_t>(V::size);
  V acc[RH][NT];
  for (int r = 0; r < RH; ++r)
    for (int t = 0; t < NT; ++t) acc[r][t] = V::load_aligned(acc_mem + (r * s.KW + t) * B);
  const std::int64_t rstep = s.dilation_h * Wp;
  for (std::int64_t oh = 0; oh < s.OH; ++oh) {
    const float* xr = xs + oh * s.stride_h * Wp;
    const float* g = gT + oh * s.OW * B;
    std::int64_t ow0 = 0;
    if (s.stride_w == 1 && s.dilation_w == 1)
      for (; ow0 + kBlock <= s.OW; ow0 += kBlock)
        wgrad_block<V, RH, NT>(xr + ow0, rstep, g + ow0 * B, acc);
    if (s.dilation_w == 1) {
      for (std::int64_t ow = ow0; ow < s.OW; ++ow) {
        const V gv = V::load_aligned(g + ow * B);
        const float* xq = xr + ow * s.stride_w;
        for (int r = 0; r < RH; ++r)
          for (int t = 0; t < NT; ++t) acc[r][t] = xsimd::fma(V(xq[r * rstep + t]), gv, acc[r][t]);
      }
    } else {
      for (std::int64_t ow = ow0; ow < s.OW; ++ow) {
        const V gv = V::load_aligned(g + ow * B);
        const float* xq = xr + ow * s.stride_w;
        for (int r = 0; r < RH; ++r)
          for (int t = 0; t < NT; ++t)
            acc[r][t] = xsimd::fma(V(xq[r * rstep + t * s.dilation_w]), gv, acc[r][t]);
      }
    }
  }
  for (int r = 0; r < RH; ++r)
    for (int t = 0; t < NT; ++t) acc[r][t].store_aligned(acc_mem + (r * s.KW + t) * B);
}

using WgradFn = void (*)(const ConvShape&, const float*, std::int64_t, const float*, float*);
constexpr int kMaxNT = 8;  // taps of one kernel row per tile
constexpr int kMaxRH = 4;  // kernel rows per tile

template <class V, int RH>
struct WgradByNT {
  static constexpr WgradFn fns[kMaxNT] = {
      &wgrad_tile<V, RH, 1>, &wgrad_tile<V, RH, 2>, &wgrad_tile<V, RH, 3>, &wgrad_tile<V, RH, 4>,
      &wgrad_tile<V, RH, 5>, &wgrad_tile<V, RH, 6>, &wgrad_tile<V, RH, 7>, &wgrad_tile<V, RH, 8>};
};
template <class V>
WgradFn wgrad_fn(int rh, int nt) {
  switch (rh) {
    case 1:
      return WgradByNT<V, 1>::fns[nt - 1];
    case 2:
      return WgradByNT<V, 2>::fns[nt - 1];
    case 3:
      return WgradByNT<V, 3>::fns[nt - 1];
    default:
      return WgradByNT<V, 4>::fns[nt - 1];
  }
}

// dst[p B + j] = src[j plane + p] for j < lanes, 0 for lanes <= j < B: `lanes` planes of
// `plane` floats as vectors of B lanes, one per position. Eight positions and eight lanes at a
// time by an 8 x 8 in-register transpose where B is a multiple of 8 and AVX is there (LeNet's
// conv1: 6 planes of 784; conv2: 16 planes of 100), else lane by lane.
template <std::int64_t B>
void transpose_planes(const float* src, std::int64_t plane, std::int64_t lanes, float* dst) {
  std::int64_t p0 = 0;
#if defined(__AVX2__)
  if constexpr (B % 8 == 0) {
    for (; p0 + 8 <= plane; p0 += 8) {
      for (std::int64_t j0 = 0; j0 < B; j0 += 8) {
        __m256 r[8];
        for (std::int64_t j = 0; j < 8; ++j)
          r[j] =
              j0 + j < lanes ? _mm256_loadu_ps(src + (j0 + j) * plane + p0) : _mm256_setzero_ps();
        const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
        const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
        const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
        const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
        const __m256 u0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
        const __m256 u1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
        const __m256 u2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
        const __m256 u3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
        const __m256 u4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
        const __m256 u5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
        const __m256 u6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
        const __m256 u7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
        float* d = dst + p0 * B + j0;
        _mm256_store_ps(d + 0 * B, _mm256_permute2f128_ps(u0, u4, 0x20));
        _mm256_store_ps(d + 1 * B, _mm256_permute2f128_ps(u1, u5, 0x20));
        _mm256_store_ps(d + 2 * B, _mm256_permute2f128_ps(u2, u6, 0x20));
        _mm256_store_ps(d + 3 * B, _mm256_permute2f128_ps(u3, u7, 0x20));
        _mm256_store_ps(d + 4 * B, _mm256_permute2f128_ps(u0, u4, 0x31));
        _mm256_store_ps(d + 5 * B, _mm256_permute2f128_ps(u1, u5, 0x31));
        _mm256_store_ps(d + 6 * B, _mm256_permute2f128_ps(u2, u6, 0x31));
        _mm256_store_ps(d + 7 * B, _mm256_permute2f128_ps(u3, u7, 0x31));
      }
    }
  }
#endif
  for (std::int64_t j = 0; j < B; ++j) {
    if (j < lanes) {
      for (std::int64_t p = p0; p < plane; ++p) dst[p * B + j] = src[j * plane + p];
    } else {
      for (std::int64_t p = p0; p < plane; ++p) dst[p * B + j] = 0.0f;
    }
  }
}

// sum[j] += the sum over positions p < P of g[p B + j]: four float chains over p mod 4, added
// as (0 + 1) + (2 + 3), then into the double sums (one image's share of the bias gradient,
// grad_y transposed as the weight gradient reads it, while it is in L1).
template <class V>
void add_positions(const float* g, std::int64_t P, double* sum) {
  constexpr std::int64_t B = static_cast<std::int64_t>(V::size);
  V a[4] = {V(0.0f), V(0.0f), V(0.0f), V(0.0f)};
  std::int64_t p = 0;
  for (; p + 4 <= P; p += 4)
    for (int k = 0; k < 4; ++k) a[k] += V::load_unaligned(g + (p + k) * B);
  for (; p < P; ++p) a[0] += V::load_unaligned(g + p * B);
  alignas(64) float lanes[B];
  ((a[0] + a[1]) + (a[2] + a[3])).store_aligned(lanes);
  for (std::int64_t j = 0; j < B; ++j) sum[j] += static_cast<double>(lanes[j]);
}

template <class V>
void wgrad_run(const ConvShape& s, const float* x, const float* gy, float* gw, float* gb) {
  constexpr std::int64_t B = static_cast<std::int64_t>(V::size);
  const std::int64_t Cg = s.C / s.G, Og = s.O / s.G, KK = s.KH * s.KW, OHW = s.OH * s.OW;
  const std::int64_t blocks = (Og + B - 1) / B;
  const std::int64_t Hp = (s.OH - 1) * s.stride_h + (s.KH - 1) * s.dilation_h + 1;
  const std::int64_t Wp = (s.OW - 1) * s.stride_w + (s.KW - 1) * s.dilation_w + 1;
  // Tiles: NT taps of a kernel row (KW cut into near-equal runs of at most kMaxNT), RH rows.
  const std::int64_t runs = (s.KW + kMaxNT - 1) / kMaxNT;
  const int max_acc = kRegs - kBlock - 1;  // the others: a block's grad_y vectors, a broadcast
  const std::int64_t wide = (s.KW + runs - 1) / runs;  // the widest run
  std::int64_t RH = max_acc / wide;
  if (RH > kMaxRH) RH = kMaxRH;
  if (RH < 1) RH = 1;
  // Kernel rows cut into near-equal tiles (LeNet's 5: 3 + 2, measured 1.7 -> 1.2 ms for conv2's
  // weight gradient at batch 256 against 4 + 1).
  const std::int64_t row_tiles = (s.KH + RH - 1) / RH;
  RH = (s.KH + row_tiles - 1) / row_tiles;
  constexpr std::int64_t kParts = 16;
  const std::int64_t parts = s.N < kParts ? s.N : kParts;
  const std::int64_t acc_size = s.G * blocks * Cg * KK * B;
  Buffer<> partials(static_cast<std::size_t>(parts * acc_size));
  // The bias gradient's partials [parts][G blocks B], in double as conv2d_backward_bias.
  const std::int64_t bias_size = s.G * blocks * B;
  Buffer<double> bias_partials(static_cast<std::size_t>(gb != nullptr ? parts * bias_size : 1));
  const Placement pl{s.C, s.H, s.W, s.H * s.W, s.W, s.pad_top, s.pad_left};
  parallel_for(0, parts, 1, [&](std::int64_t p0, std::int64_t p1) {
    float* buf = pad_scratch(1).get(static_cast<std::size_t>(s.C * Hp * Wp));
    float* gT = pad_scratch(2).get(static_cast<std::size_t>(s.G * blocks * OHW * B));
    for (std::int64_t part = p0; part < p1; ++part) {
      float* acc = partials.get() + part * acc_size;
      for (std::int64_t i = 0; i < acc_size; ++i) acc[i] = 0.0f;
      double* bias_acc = gb != nullptr ? bias_partials.get() + part * bias_size : nullptr;
      if (gb != nullptr)
        for (std::int64_t i = 0; i < bias_size; ++i) bias_acc[i] = 0.0;
      for (std::int64_t n = part * s.N / parts; n < (part + 1) * s.N / parts; ++n) {
        fill_padded(pl, x + n * s.C * s.H * s.W, buf, Hp, Wp, n > part * s.N / parts);
        // gT[grp][ob][p][j] = grad_y[n, grp Og + ob B + j, p], zero past the group's channels.
        const float* gn = gy + n * s.O * OHW;
        for (std::int64_t grp = 0; grp < s.G; ++grp)
          for (std::int64_t ob = 0; ob < blocks; ++ob) {
            float* dst = gT + (grp * blocks + ob) * OHW * B;
            const float* src = gn + (grp * Og + ob * B) * OHW;
            const std::int64_t lanes = Og - ob * B < B ? Og - ob * B : B;
            transpose_planes<B>(src, OHW, lanes, dst);
            if (gb != nullptr) add_positions<V>(dst, OHW, bias_acc + (grp * blocks + ob) * B);
          }
        for (std::int64_t grp = 0; grp < s.G; ++grp)
          for (std::int64_t ob = 0; ob < blocks; ++ob)
            for (std::int64_t c = 0; c < Cg; ++c) {
              const float* xs = buf + (grp * Cg + c) * Hp * Wp;
              const float* g = gT + (grp * blocks + ob) * OHW * B;
              float* a = acc + ((grp * blocks + ob) * Cg + c) * KK * B;
              for (std::int64_t kh0 = 0; kh0 < s.KH; kh0 += RH) {
                const std::int64_t rh = s.KH - kh0 < RH ? s.KH - kh0 : RH;
                for (std::int64_t run = 0; run < runs; ++run) {
                  const std::int64_t kw0 = s.KW * run / runs;
                  const std::int64_t nt = s.KW * (run + 1) / runs - kw0;
                  wgrad_fn<V>(static_cast<int>(rh), static_cast<int>(nt))(
                      s, xs + kh0 * s.dilation_h * Wp + kw0 * s.dilation_w, Wp, g,
                      a + (kh0 * s.KW + kw0) * B);
                }
              }
            }
      }
    }
  });
  // grad_w[grp Og + ob B + j, c, t] = the parts' sums, in part order.
  for (std::int64_t grp = 0; grp < s.G; ++grp)
    for (std::int64_t ob = 0; ob < blocks; ++ob)
      for (std::int64_t c = 0; c < Cg; ++c)
        for (std::int64_t t = 0; t < KK; ++t)
          for (std::int64_t j = 0; j < B; ++j) {
            const std::int64_t o = ob * B + j;
            if (o >= Og) continue;
            const std::int64_t i = (((grp * blocks + ob) * Cg + c) * KK + t) * B + j;
            float sum = partials.get()[i];
            for (std::int64_t part = 1; part < parts; ++part)
              sum += partials.get()[part * acc_size + i];
            gw[((grp * Og + o) * Cg + c) * KK + t] = sum;
          }
  if (gb == nullptr) return;
  for (std::int64_t grp = 0; grp < s.G; ++grp)
    for (std::int64_t ob = 0; ob < blocks; ++ob)
      for (std::int64_t j = 0; j < B && ob * B + j < Og; ++j) {
        const std::int64_t i = (grp * blocks + ob) * B + j;
        double sum = bias_partials.get()[i];
        for (std::int64_t part = 1; part < parts; ++part)
          sum += bias_partials.get()[part * bias_size + i];
        gb[grp * Og + ob * B + j] = static_cast<float>(sum);
      }
}

// Note [Weight gradient over positions]
// For groups of few output channels (LeNet's conv1: 6, which fill 6 of the 8 lanes the direct
// weight gradient gives them) and stride_h 1, the lanes hold B consecutive output positions p =
// oh OW + ow of grad_y's plane instead, read in place. The input is first copied, for each tap
// column kw, to planes of OW columns: sh[c][kw][r][ow] = xpad[c][r][ow sw + kw dw] (xpad the
// zero-padded image, r < Hp). Then position p reads tap (kh, kw) at sh[c][kw][p + kh dh OW]: one
// contiguous (unaligned) vector for every tap, across rows. So
//   grad_w[o, c, kh, kw] = sum over lanes j of sum_{n, v} grad_y[n, o, v B + j]
//                          sh[n, c, kw, v B + j + kh dh OW],
// and a tile keeps OB output channels x NT taps of per-lane partial sums in registers: for each
// vector v of positions in order it loads OB grad_y vectors and NT input vectors, OB NT FMAs,
// every lane a term of the sum (LeNet's conv1: 784 = 49 x 16 positions). The positions past the
// last whole vector (none for LeNet) go one at a time into lane p - nv B, after the vectors.
// Order: each lane chains its part's images in order and its positions in order; the parts
// (fixed by N, as Note [Direct weight gradient]) are added in order, then the lanes from 0 up:
// the same sums at any thread count. The bias gradient sums the same grad_y vectors
// (add_positions).
#if defined(__AVX512F__)
constexpr int kPosMaxOB = 6, kPosMaxNT = 4;  // 24 accumulators, 6 grad_y vectors, an input
#else
constexpr int kPosMaxOB = 3, kPosMaxNT = 3;  // 9 + 3 + 1 of 16 registers
#endif

// acc[o][t] (o < OB, t < NT; rows ostride floats apart, B floats a tap) += the lanes' products
// of grad_y plane o (g, planes gplane floats apart) and the input at offset off[t] from xs, over
// nv vectors of positions in order.
template <class V, int OB, int NT>
void wgrad_pos_tile(const float* xs, const std::int64_t* off, const float* g, std::int64_t gplane,
                    std::int64_t nv, float* acc_mem, std::int64_t ostride) {
  constexpr std::int64_t B = static_cast<std::int64_t>(V::size);
  V acc[OB][NT];
  for (int o = 0; o < OB; ++o)
    for (int t = 0; t < NT; ++t) acc[o][t] = V::load_aligned(acc_mem + o * ostride + t * B);
  for (std::int64_t v = 0; v < nv; ++v) {
    V gv[OB];
#pragma GCC unroll 8
    for (int o = 0; o < OB; ++o) {
      // Kept in a register (the empty asm): GCC otherwise folds the load into each of the NT
      // FMAs, and OB NT + NT loads a step bound the tile (LeNet's conv1, AVX-512: 1.2 -> 0.8 ms).
      typename V::register_type r = V::load_unaligned(g + o * gplane + v * B);
      asm("" : "+v"(r));
      gv[o] = r;
    }
#pragma GCC unroll 8
    for (int t = 0; t < NT; ++t) {
      const V xv = V::load_unaligned(xs + v * B + off[t]);
#pragma GCC unroll 8
      for (int o = 0; o < OB; ++o) acc[o][t] = xsimd::fma(gv[o], xv, acc[o][t]);
    }
  }
  for (int o = 0; o < OB; ++o)
    for (int t = 0; t < NT; ++t) acc[o][t].store_aligned(acc_mem + o * ostride + t * B);
}

using WgradPosFn = void (*)(const float*, const std::int64_t*, const float*, std::int64_t,
                            std::int64_t, float*, std::int64_t);
template <class V, int OB, std::size_t... NT>
WgradPosFn wgrad_pos_fn_nt(int nt, std::index_sequence<NT...>) {
  constexpr WgradPosFn fns[] = {&wgrad_pos_tile<V, OB, static_cast<int>(NT) + 1>...};
  return fns[nt - 1];
}
// The tile for ob output channels and nt taps.
template <class V, std::size_t... OB>
WgradPosFn wgrad_pos_fn(int ob, int nt, std::index_sequence<OB...>) {
  using ByNT = WgradPosFn (*)(int, std::make_index_sequence<kPosMaxNT>);
  constexpr ByNT by_ob[] = {&wgrad_pos_fn_nt<V, static_cast<int>(OB) + 1>...};
  return by_ob[ob - 1](nt, std::make_index_sequence<kPosMaxNT>{});
}

template <class V>
void wgrad_pos_run(const ConvShape& s, const float* x, const float* gy, float* gw, float* gb) {
  constexpr std::int64_t B = static_cast<std::int64_t>(V::size);
  const std::int64_t Cg = s.C / s.G, Og = s.O / s.G, KK = s.KH * s.KW, OHW = s.OH * s.OW;
  const std::int64_t Hp = s.OH + (s.KH - 1) * s.dilation_h;
  const std::int64_t Wp = (s.OW - 1) * s.stride_w + (s.KW - 1) * s.dilation_w + 1;
  const std::int64_t nv = OHW / B;  // whole vectors of positions; the rest one at a time
  const std::int64_t kwplane = Hp * s.OW + B, xplane = s.KW * kwplane;  // sh[c][kw], a spill
  Buffer<std::int64_t> off(static_cast<std::size_t>(KK));
  for (std::int64_t kh = 0; kh < s.KH; ++kh)
    for (std::int64_t kw = 0; kw < s.KW; ++kw)
      off.get()[kh * s.KW + kw] = kw * kwplane + kh * s.dilation_h * s.OW;
  // Tiles: the group's channels and the taps each cut into near-equal runs.
  const std::int64_t otiles = (Og + kPosMaxOB - 1) / kPosMaxOB;
  const std::int64_t ttiles = (KK + kPosMaxNT - 1) / kPosMaxNT;
  constexpr std::int64_t kParts = 16;
  const std::int64_t parts = s.N < kParts ? s.N : kParts;
  const std::int64_t acc_size = s.O * Cg * KK * B;  // [O][Cg][KK][B]
  Buffer<> partials(static_cast<std::size_t>(parts * acc_size));
  const std::int64_t bias_size = s.O * B;  // [O][B] in double, as conv2d_backward_bias
  Buffer<double> bias_partials(static_cast<std::size_t>(gb != nullptr ? parts * bias_size : 1));
  const Placement px{s.C, s.H, s.W, s.H * s.W, s.W, s.pad_top, s.pad_left};
  parallel_for(0, parts, 1, [&](std::int64_t p0, std::int64_t p1) {
    // The padded image (B floats of slack for the copies' last vector) and its shifted copies.
    float* xpad = pad_scratch(0).get(static_cast<std::size_t>(s.C * Hp * Wp + B));
    float* xs = pad_scratch(1).get(static_cast<std::size_t>(s.C * xplane));
    for (std::int64_t i = 0; i < B; ++i) xpad[s.C * Hp * Wp + i] = 0.0f;
    for (std::int64_t part = p0; part < p1; ++part) {
      float* acc = partials.get() + part * acc_size;
      for (std::int64_t i = 0; i < acc_size; ++i) acc[i] = 0.0f;
      double* bias_acc = gb != nullptr ? bias_partials.get() + part * bias_size : nullptr;
      if (gb != nullptr)
        for (std::int64_t i = 0; i < bias_size; ++i) bias_acc[i] = 0.0;
      const std::int64_t n0 = part * s.N / parts, n1 = (part + 1) * s.N / parts;
      for (std::int64_t n = n0; n < n1; ++n) {
        fill_padded(px, x + n * s.C * s.H * s.W, xpad, Hp, Wp, n > n0);
        // sh[c][kw][r][ow] = xpad[c][r][ow sw + kw dw]: whole vectors along the row where the
        // columns are contiguous, each row's spill past OW overwritten by the next row's copy.
        for (std::int64_t c = 0; c < s.C; ++c)
          for (std::int64_t kw = 0; kw < s.KW; ++kw) {
            float* dst = xs + c * xplane + kw * kwplane;
            const float* src = xpad + c * Hp * Wp + kw * s.dilation_w;
            for (std::int64_t r = 0; r < Hp; ++r) {
              if (s.stride_w == 1) {
                for (std::int64_t ow = 0; ow < s.OW; ow += B)
                  V::load_unaligned(src + r * Wp + ow).store_unaligned(dst + r * s.OW + ow);
              } else {
                for (std::int64_t ow = 0; ow < s.OW; ++ow)
                  dst[r * s.OW + ow] = src[r * Wp + ow * s.stride_w];
              }
            }
          }
        const float* gn = gy + n * s.O * OHW;
        if (gb != nullptr)
          for (std::int64_t o = 0; o < s.O; ++o) {
            add_positions<V>(gn + o * OHW, nv, bias_acc + o * B);
            for (std::int64_t p = nv * B; p < OHW; ++p)
              bias_acc[o * B + p - nv * B] += static_cast<double>(gn[o * OHW + p]);
          }
        for (std::int64_t grp = 0; grp < s.G; ++grp)
          for (std::int64_t ot = 0; ot < otiles; ++ot) {
            const std::int64_t o0 = grp * Og + Og * ot / otiles;
            const std::int64_t ob = grp * Og + Og * (ot + 1) / otiles - o0;
            for (std::int64_t c = 0; c < Cg; ++c)
              for (std::int64_t tt = 0; tt < ttiles; ++tt) {
                const std::int64_t t0 = KK * tt / ttiles, nt = KK * (tt + 1) / ttiles - t0;
                const WgradPosFn fn = wgrad_pos_fn<V>(static_cast<int>(ob), static_cast<int>(nt),
                                                      std::make_index_sequence<kPosMaxOB>{});
                const float* xc = xs + (grp * Cg + c) * xplane;
                float* a = acc + ((o0 * Cg + c) * KK + t0) * B;
                fn(xc, off.get() + t0, gn + o0 * OHW, OHW, nv, a, Cg * KK * B);
              }
          }
        // The positions past the whole vectors, each into its lane.
        for (std::int64_t o = 0; o < s.O; ++o)
          for (std::int64_t c = 0; c < Cg; ++c)
            for (std::int64_t t = 0; t < KK; ++t)
              for (std::int64_t p = nv * B; p < OHW; ++p)
                acc[((o * Cg + c) * KK + t) * B + p - nv * B] +=
                    gn[o * OHW + p] * xs[((o / Og) * Cg + c) * xplane + p + off.get()[t]];
      }
    }
  });
  // grad_w[o, c, t] = the lanes (0 up) of the parts' sums (in part order).
  for (std::int64_t i = 0; i < s.O * Cg * KK; ++i) {
    float sum = 0.0f;
    for (std::int64_t j = 0; j < B; ++j) {
      float lane = partials.get()[i * B + j];
      for (std::int64_t part = 1; part < parts; ++part)
        lane += partials.get()[part * acc_size + i * B + j];
      sum += lane;
    }
    gw[i] = sum;
  }
  if (gb == nullptr) return;
  for (std::int64_t o = 0; o < s.O; ++o) {
    double sum = 0.0;
    for (std::int64_t j = 0; j < B; ++j)
      for (std::int64_t part = 0; part < parts; ++part)
        sum += bias_partials.get()[part * bias_size + o * B + j];
    gb[o] = static_cast<float>(sum);
  }
}

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
// sums stored. Per element: the blocks, kh and kw (descending) in order, then the same tree,
// whatever the tile or thread; images are the parallel pieces. LeNet's conv2 at batch 256, 1
// thread (busy machine, CPU time): 2.0 -> 1.65 ms with AVX-512, 8.0 -> 6.1 ms with SSE2; the
// AVX2 build runs over rows (conv2d_direct_backward_input).

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
        V(_mm512_add_ps(_mm512_shuffle_f32x4(v, v, 0x88), _mm512_shuffle_f32x4(v, v, 0xDD))), out,
        TW);
  } else if constexpr (B == 8) {
    const V v(_mm256_add_ps(_mm256_permute2f128_ps(u[0], u[1], 0x20),
                            _mm256_permute2f128_ps(u[0], u[1], 0x31)));
    if constexpr (TW == 8) {
      v.store_unaligned(out);
    } else {
      store_first(v, out, TW);
    }
  } else {
    if constexpr (TW >= 4) {
      V(u[0]).store_unaligned(out);
      if constexpr (TW == 8) {
        V(u[1]).store_unaligned(out + 4);
      } else if constexpr (TW > 4) {
        store_first(V(u[1]), out + 4, TW - 4);
      }
    } else {
      store_first(V(u[0]), out, TW);
    }
  }
}

// One image's input gradient over output channels, as the tiles see it (one group).
struct Dgrad {
  std::int64_t blocks;  // vectors of output channels
  std::int64_t KH;      // kernel rows
  std::int64_t OH, OW;  // grad_y's plane
  std::int64_t pt, pl;  // the forward's padding
};

// Channel blocks of a tile: CB accumulator rows fit beside TW = 8 columns and CB KW weights.
constexpr int kDgradCB = kRegs == 32 ? 2 : 1;
constexpr int kDgradTW = 8;

// grad_x[c0 + cb, ih, i0 + t] for cb < CB, t < TW (out: grad_x at (c0, ih, i0), planes `plane`
// apart, `cbs` of the CB channels stored). gT [blocks][OH][OW][B]: grad_y transposed; wp: the
// channel block's packed weights [blocks][KH][CB][KW][B].
template <class V, int TW, int KW>
void dgrad_tile(const Dgrad& d, const float* gT, const float* wp, std::int64_t ih, std::int64_t i0,
                float* out, std::int64_t plane, std::int64_t cbs) {
  constexpr int CB = kDgradCB;
  constexpr std::int64_t B = static_cast<std::int64_t>(V::size);
  V acc[CB][TW];
  for (int cb = 0; cb < CB; ++cb)
    for (int t = 0; t < TW; ++t) acc[cb][t] = V(0.0f);
  // Kernel rows reading a grad_y row inside the plane: 0 <= ih + pt - kh < OH.
  const std::int64_t kh0 = ih + d.pt - d.OH + 1 > 0 ? ih + d.pt - d.OH + 1 : 0;
  const std::int64_t kh1 = ih + d.pt + 1 < d.KH ? ih + d.pt + 1 : d.KH;
  // Column m of the walk is grad_y's column ow0 + m; tile column t reads it with kw = t + KW - 1
  // - m.
  const std::int64_t ow0 = i0 + d.pl - (KW - 1);
  // Bit m: grad_y's column ow0 + m is inside the plane.
  std::uint32_t inside = 0;
  for (int m = 0; m < TW + KW - 1; ++m)
    if (ow0 + m >= 0 && ow0 + m < d.OW) inside |= 1u << m;
  for (std::int64_t ob = 0; ob < d.blocks; ++ob) {
    for (std::int64_t kh = kh0; kh < kh1; ++kh) {
      const float* g = gT + (ob * d.OH + ih + d.pt - kh) * d.OW * B;
      const float* wr = wp + (ob * d.KH + kh) * CB * KW * B;
      V wv[CB][KW];
      for (int cb = 0; cb < CB; ++cb)
#pragma GCC unroll 8
        for (int kw = 0; kw < KW; ++kw) wv[cb][kw] = V::load_aligned(wr + (cb * KW + kw) * B);
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
  for (std::int64_t cb = 0; cb < cbs; ++cb) sum_lanes<V, TW>(acc[cb], out + cb * plane);
}

using DgradFn = void (*)(const Dgrad&, const float*, const float*, std::int64_t, std::int64_t,
                         float*, std::int64_t, std::int64_t);
template <class V, int KW>
struct DgradByTW {
  static constexpr DgradFn fns[kDgradTW] = {
      &dgrad_tile<V, 1, KW>, &dgrad_tile<V, 2, KW>, &dgrad_tile<V, 3, KW>, &dgrad_tile<V, 4, KW>,
      &dgrad_tile<V, 5, KW>, &dgrad_tile<V, 6, KW>, &dgrad_tile<V, 7, KW>, &dgrad_tile<V, 8, KW>};
};
template <class V>
DgradFn dgrad_fn(std::int64_t kw, std::int64_t tw) {
  switch (kw) {
    case 1:
      return DgradByTW<V, 1>::fns[tw - 1];
    case 2:
      return DgradByTW<V, 2>::fns[tw - 1];
    case 3:
      return DgradByTW<V, 3>::fns[tw - 1];
    case 4:
      return DgradByTW<V, 4>::fns[tw - 1];
    case 5:
      return DgradByTW<V, 5>::fns[tw - 1];
    case 6:
      return DgradByTW<V, 6>::fns[tw - 1];
    default:
      return DgradByTW<V, 7>::fns[tw - 1];
  }
}

template <class V>
void dgrad_run(const ConvShape& s, const float* gy, const float* w, float* gx) {
  constexpr int CB = kDgradCB;
  constexpr std::int64_t B = static_cast<std::int64_t>(V::size);
  const std::int64_t Cg = s.C / s.G, Og = s.O / s.G, KK = s.KH * s.KW, OHW = s.OH * s.OW;
  const Dgrad d{(Og + B - 1) / B, s.KH, s.OH, s.OW, s.pad_top, s.pad_left};
  const std::int64_t cblocks = (Cg + CB - 1) / CB;
  // packed[grp][cblk][ob][kh][cb][kw][j] = w[grp Og + ob B + j, cblk CB + cb, kh, kw] (zero past
  // the group's channels).
  const std::int64_t cblock_size = d.blocks * s.KH * CB * s.KW * B;
  Buffer<> packed(static_cast<std::size_t>(s.G * cblocks * cblock_size));
  for (std::int64_t grp = 0; grp < s.G; ++grp)
    for (std::int64_t cblk = 0; cblk < cblocks; ++cblk)
      for (std::int64_t ob = 0; ob < d.blocks; ++ob)
        for (std::int64_t kh = 0; kh < s.KH; ++kh)
          for (std::int64_t cb = 0; cb < CB; ++cb)
            for (std::int64_t kw = 0; kw < s.KW; ++kw)
              for (std::int64_t j = 0; j < B; ++j) {
                const std::int64_t o = ob * B + j, c = cblk * CB + cb;
                packed.get()[(grp * cblocks + cblk) * cblock_size +
                             (((ob * s.KH + kh) * CB + cb) * s.KW + kw) * B + j] =
                    o < Og && c < Cg ? w[((grp * Og + o) * Cg + c) * KK + kh * s.KW + kw] : 0.0f;
              }
  // A row of W columns in near-equal tiles of at most kDgradTW.
  const std::int64_t tiles = (s.W + kDgradTW - 1) / kDgradTW;
  const double image_flops = 2.0 * static_cast<double>(s.O * OHW * Cg * KK);
  const std::int64_t grain =
      image_flops >= 1.0e6 ? 1 : static_cast<std::int64_t>(1.0e6 / (image_flops + 1.0)) + 1;
  parallel_for(0, s.N, grain, [&](std::int64_t n0, std::int64_t n1) {
    float* gT = pad_scratch(2).get(static_cast<std::size_t>(d.blocks * OHW * B));
    for (std::int64_t n = n0; n < n1; ++n) {
      for (std::int64_t grp = 0; grp < s.G; ++grp) {
        // gT[ob][p][j] = grad_y[n, grp Og + ob B + j, p], zero past the group's channels.
        for (std::int64_t ob = 0; ob < d.blocks; ++ob) {
          const std::int64_t lanes = Og - ob * B < B ? Og - ob * B : B;
          transpose_planes<B>(gy + (n * s.O + grp * Og + ob * B) * OHW, OHW, lanes,
                              gT + ob * OHW * B);
        }
        for (std::int64_t cblk = 0; cblk < cblocks; ++cblk) {
          const std::int64_t c0 = cblk * CB;
          const std::int64_t cbs = Cg - c0 < CB ? Cg - c0 : CB;
          const float* wp = packed.get() + (grp * cblocks + cblk) * cblock_size;
          float* out = gx + (n * s.C + grp * Cg + c0) * s.H * s.W;
          for (std::int64_t ih = 0; ih < s.H; ++ih)
            for (std::int64_t i = 0; i < tiles; ++i) {
              const std::int64_t i0 = s.W * i / tiles, tw = s.W * (i + 1) / tiles - i0;
              dgrad_fn<V>(s.KW, tw)(d, gT, wp, ih, i0, out + ih * s.W + i0, s.H * s.W, cbs);
            }
        }
      }
    }
  });
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
  dgrad_run<Batch>(s, grad_y, w, grad_x);
}

void conv2d_direct_backward_weight(const ConvShape& s, const float* x, const float* grad_y,
                                   float* grad_w, float* grad_b) {
  // Over positions (Note [Weight gradient over positions]) where stride_h 1 and a group's
  // output channels would leave lanes empty (fewer than a vector, or than the half vector the
  // direct kernel then uses); the positions fill all but the last vector.
  const std::int64_t Og = s.O / s.G, B = static_cast<std::int64_t>(Batch::size);
  const std::int64_t Bo = Og <= static_cast<std::int64_t>(HalfBatch::size)
                              ? static_cast<std::int64_t>(HalfBatch::size)
                              : B;
  if (s.stride_h == 1 && Og % Bo != 0 && s.OH * s.OW >= 2 * B) {
    wgrad_pos_run<Batch>(s, x, grad_y, grad_w, grad_b);
    return;
  }
  if (s.O / s.G <= static_cast<std::int64_t>(HalfBatch::size)) {
    wgrad_run<HalfBatch>(s, x, grad_y, grad_w, grad_b);
  } else {
    wgrad_run<Batch>(s, x, grad_y, grad_w, grad_b);
  }
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
