// The weight gradient of a convolution (see conv_direct.h: conv2d_direct_backward_weight),
// vectorized over output channels (Note [Direct weight gradient]) or over output positions (Note
// [Weight gradient over positions]), compiled once per instruction set (Note [ISA dispatch] in
// kernels/isa.h).
#include "kernels/conv_direct.h"
#include "kernels/conv_support.h"

#include <ember/core/parallel.h>

#include "kernels/tile_table.h"

namespace ember::kernels {

EMBER_ISA_VARIANTS(conv2d_direct_backward_weight)

#if EMBER_ISA_BASELINE
void conv2d_direct_backward_weight(const ConvShape& s, const float* x, const float* grad_y,
                                   float* grad_w, float* grad_b) {
  EMBER_ISA_CALL(conv2d_direct_backward_weight, s, x, grad_y, grad_w, grad_b);
}
#endif

namespace EMBER_ISA {
namespace {

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

// acc_mem[r][t] += the taps (kh0 + r, kw0 + t) of one input channel over every output position:
// xs is the channel's input at (kh0, kw0), rows rs floats apart; gT its grad_y vectors.
template <class V, int RH, int NT>
void wgrad_tile(const ConvShape& s, const float* xs, std::int64_t rs, const float* gT,
                float* acc_mem) {
  constexpr std::int64_t B = static_cast<std::int64_t>(V::size);
  V acc[RH][NT];
  for (int r = 0; r < RH; ++r)
    for (int t = 0; t < NT; ++t) acc[r][t] = V::load_aligned(acc_mem + (r * s.KW + t) * B);
  const std::int64_t rstep = s.dilation_h * rs;
  for (std::int64_t oh = 0; oh < s.OH; ++oh) {
    const float* xr = xs + oh * s.stride_h * rs;
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

template <class V>
struct WgradTiles {
  template <int RH, int NT>
  static constexpr WgradFn fn = &wgrad_tile<V, RH, NT>;
};

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
  // Without padding the windows lie inside the image, which is read in place (planes cs, rows rs
  // floats apart; LeNet's conv2, whose copies took 2.55% of its forward and backward at 1 thread:
  // bench/results/profiles/conv2_fwdbwd_1thread_zen4_e57db9c.txt); else from a zero-padded copy.
  const bool padded = s.pad_top != 0 || s.pad_left != 0 || Hp > s.H || Wp > s.W;
  const std::int64_t cs = padded ? Hp * Wp : s.H * s.W, rs = padded ? Wp : s.W;
  parallel_for(0, parts, 1, [&](std::int64_t p0, std::int64_t p1) {
    float* buf = padded ? pad_scratch(1).get(static_cast<std::size_t>(s.C * Hp * Wp)) : nullptr;
    float* gT = pad_scratch(2).get(static_cast<std::size_t>(s.G * blocks * OHW * B));
    for (std::int64_t part = p0; part < p1; ++part) {
      float* acc = partials.get() + part * acc_size;
      for (std::int64_t i = 0; i < acc_size; ++i) acc[i] = 0.0f;
      double* bias_acc = gb != nullptr ? bias_partials.get() + part * bias_size : nullptr;
      if (gb != nullptr)
        for (std::int64_t i = 0; i < bias_size; ++i) bias_acc[i] = 0.0;
      for (std::int64_t n = part * s.N / parts; n < (part + 1) * s.N / parts; ++n) {
        const float* img = x + n * s.C * s.H * s.W;
        if (padded) {
          fill_padded(pl, img, buf, Hp, Wp, n > part * s.N / parts);
          img = buf;
        }
        // gT[grp][ob][p][j] = grad_y[n, grp Og + ob B + j, p], zero past the group's channels.
        const float* gn = gy + n * s.O * OHW;
        for (std::int64_t grp = 0; grp < s.G; ++grp)
          for (std::int64_t ob = 0; ob < blocks; ++ob) {
            float* dst = gT + (grp * blocks + ob) * OHW * B;
            const float* src = gn + (grp * Og + ob * B) * OHW;
            const std::int64_t lanes = Og - ob * B < B ? Og - ob * B : B;
            transpose_planes<B>(src, OHW, OHW, lanes, dst);
            if (gb != nullptr) add_positions<V>(dst, OHW, bias_acc + (grp * blocks + ob) * B);
          }
        for (std::int64_t grp = 0; grp < s.G; ++grp)
          for (std::int64_t ob = 0; ob < blocks; ++ob)
            for (std::int64_t c = 0; c < Cg; ++c) {
              const float* xs = img + (grp * Cg + c) * cs;
              const float* g = gT + (grp * blocks + ob) * OHW * B;
              float* a = acc + ((grp * blocks + ob) * Cg + c) * KK * B;
              for (std::int64_t kh0 = 0; kh0 < s.KH; kh0 += RH) {
                const std::int64_t rh = s.KH - kh0 < RH ? s.KH - kh0 : RH;
                for (std::int64_t run = 0; run < runs; ++run) {
                  const std::int64_t kw0 = s.KW * run / runs;
                  const std::int64_t nt = s.KW * (run + 1) / runs - kw0;
                  tile_fn<WgradTiles<V>, kMaxRH, kMaxNT>(rh, nt)(
                      s, xs + kh0 * s.dilation_h * rs + kw0 * s.dilation_w, rs, g,
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
template <class V>
struct WgradPosTiles {
  template <int OB, int NT>
  static constexpr WgradPosFn fn = &wgrad_pos_tile<V, OB, NT>;
};

// sh[c][kw][r][ow] = xpad[c][r][ow sw + kw dw] for r < Hp (xpad: the zero-padded image), each
// [kw] plane kwplane floats, read from the image itself: copied from a padded image just written
// (fill_padded), the vector loads straddled its stores and waited on store forwarding (perf, a
// 1-thread LeNet epoch on Zen 4: 3.09% of it in these copies, 2.38% now, bench/results/profiles/
// lenet_epoch_1thread_zen4_{05ad8bc,4dbdcd7}.txt; what is left mostly waits on the image's lines,
// last touched by the forward; prefetching the next image's did not help).
// `zeroed`: sh holds an earlier image's copies of this call, so only the image's cells are
// written. With stride_w 1 a row's cells go as whole vectors, the last one through a load that
// reads nothing past the row and zeros its other lanes: its store spills zeros into cells that are
// zero (the row's right padding, the next row's left padding, the plane's B floats of slack) or
// written after it (the next row's image cells).
void shifted_copies(const ConvShape& s, const float* img, float* sh, std::int64_t Hp,
                    std::int64_t kwplane, bool zeroed) {
  const std::int64_t OW = s.OW, W = s.W, sw = s.stride_w;
  const std::int64_t r0 = s.pad_top, r1 = s.pad_top + s.H < Hp ? s.pad_top + s.H : Hp;
  for (std::int64_t c = 0; c < s.C; ++c)
    for (std::int64_t kw = 0; kw < s.KW; ++kw) {
      float* dst = sh + (c * s.KW + kw) * kwplane;
      if (!zeroed)
        for (std::int64_t i = 0; i < kwplane; ++i) dst[i] = 0.0f;
      // Output column ow reads image column ow sw + shift; [lo, hi) are those inside the image.
      const std::int64_t shift = kw * s.dilation_w - s.pad_left;
      const std::int64_t lo = shift >= 0 ? 0 : (-shift + sw - 1) / sw;
      std::int64_t hi = W - shift <= 0 ? 0 : (W - shift + sw - 1) / sw;
      if (hi > OW) hi = OW;
      if (hi <= lo) continue;
      for (std::int64_t r = r0; r < r1; ++r) {
        const float* src = img + c * s.H * W + (r - s.pad_top) * W;
        float* d = dst + r * OW;
        if (sw == 1) {
          for (std::int64_t ow = lo; ow < hi; ow += kLanes)
            load_first(src + (ow + shift), hi - ow < kLanes ? hi - ow : kLanes)
                .store_unaligned(d + ow);
        } else {
          for (std::int64_t ow = lo; ow < hi; ++ow) d[ow] = src[ow * sw + shift];
        }
      }
    }
}

template <class V>
void wgrad_pos_run(const ConvShape& s, const float* x, const float* gy, float* gw, float* gb) {
  constexpr std::int64_t B = static_cast<std::int64_t>(V::size);
  const std::int64_t Cg = s.C / s.G, Og = s.O / s.G, KK = s.KH * s.KW, OHW = s.OH * s.OW;
  const std::int64_t Hp = s.OH + (s.KH - 1) * s.dilation_h;
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
  parallel_for(0, parts, 1, [&](std::int64_t p0, std::int64_t p1) {
    float* xs = pad_scratch(1).get(static_cast<std::size_t>(s.C * xplane));
    for (std::int64_t part = p0; part < p1; ++part) {
      float* acc = partials.get() + part * acc_size;
      for (std::int64_t i = 0; i < acc_size; ++i) acc[i] = 0.0f;
      double* bias_acc = gb != nullptr ? bias_partials.get() + part * bias_size : nullptr;
      if (gb != nullptr)
        for (std::int64_t i = 0; i < bias_size; ++i) bias_acc[i] = 0.0;
      const std::int64_t n0 = part * s.N / parts, n1 = (part + 1) * s.N / parts;
      for (std::int64_t n = n0; n < n1; ++n) {
        shifted_copies(s, x + n * s.C * s.H * s.W, xs, Hp, kwplane, n > n0);
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
                const WgradPosFn fn = tile_fn<WgradPosTiles<V>, kPosMaxOB, kPosMaxNT>(ob, nt);
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

}  // namespace

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

}  // namespace EMBER_ISA
}  // namespace ember::kernels
