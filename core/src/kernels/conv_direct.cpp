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

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <xsimd/xsimd.hpp>
#pragma GCC diagnostic pop

#include <cstddef>
#include <cstring>
#include <new>

namespace ember::kernels {

EMBER_ISA_VARIANTS(conv2d_direct)

#if EMBER_ISA_BASELINE
void conv2d_direct(const ConvShape& s, const float* x, const float* w, const float* bias,
                   float* y) {
  EMBER_ISA_CALL(conv2d_direct, s, x, w, bias, y);
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

// 64-byte aligned floats, freed on scope exit.
class Buffer {
 public:
  explicit Buffer(std::size_t n)
      : p_(static_cast<float*>(::operator new (n * sizeof(float), std::align_val_t{64}))) {}
  ~Buffer() { ::operator delete (p_, std::align_val_t{64}); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  float* get() const { return p_; }

 private:
  float* p_;
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

PadScratch& pad_scratch() {
  thread_local PadScratch scratch;
  return scratch;
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

// Tile of TT columns at (oh, ow0) for channels [o0, o0 + lanes) of image n: compute and store.
template <class V, int TT>
void run_tile(const ConvShape& s, const Source& src, std::int64_t Cg, const float* wp,
              const float* bias, float* y_image, std::int64_t o0, std::int64_t lanes,
              std::int64_t oh, std::int64_t ow0) {
  constexpr int B = static_cast<int>(V::size);
  V acc[TT];
  tile<V, TT>(s, src, Cg, wp, oh * s.stride_h, ow0 * s.stride_w, acc);
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
// Tiles<V>::fns[k - 1] runs a tile of k columns.
template <class V>
struct Tiles {
  static constexpr TileFn fns[T] = {&run_tile<V, 1>,  &run_tile<V, 2>,  &run_tile<V, 3>,
                                    &run_tile<V, 4>,  &run_tile<V, 5>,  &run_tile<V, 6>,
                                    &run_tile<V, 7>,  &run_tile<V, 8>,  &run_tile<V, 9>,
                                    &run_tile<V, 10>, &run_tile<V, 11>, &run_tile<V, 12>};
};

template <class V>
void run(const ConvShape& s, const float* x, const float* w, const float* bias, float* y) {
  constexpr int B = static_cast<int>(V::size);  // output channels per vector
  constexpr const TileFn* tiles = Tiles<V>::fns;
  const std::int64_t Cg = s.C / s.G, Og = s.O / s.G, CgKK = Cg * s.KH * s.KW;
  const std::int64_t blocks = (Og + B - 1) / B;  // vectors of output channels per group
  // Packed weights: block (grp, ob) holds CgKK vectors, lane j of vector r being
  // w[grp Og + ob B + j, r] (zero past the group's channels).
  const std::int64_t pack_size = s.G * blocks * CgKK * B;
  Buffer pack(static_cast<std::size_t>(pack_size > 0 ? pack_size : 1));
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
  const std::int64_t row_tiles = (s.OW + T - 1) / T;
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

}  // namespace

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
