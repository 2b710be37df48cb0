// Sigmoid then 2x2 average pooling, forward and backward, each in one pass over memory (Note
// [Fused sigmoid and average pooling] in nn/src/sequential.cpp). Compiled once per instruction
// set (Note [ISA dispatch] in kernels/isa.h).
//
// Forward: the image is walked in blocks of whole row pairs (rows 2oh and 2oh + 1, contiguous), a
// block at most kBuf floats. The sigmoid of a block is computed over its contiguous input in full
// vectors (so LeNet's short rows, 10 and 28 floats, cost no more sigmoid than a flat pass would)
// and stored twice: into the tensor s the backward reads, and into a buffer on the stack (L1) the
// windows are summed from, over output columns, with the even and odd columns of two vectors
// taken apart (deinterleave, in core/src/kernels/lanes.h); each row's results are stored with a
// masked store. Backward, row by row: the pooled gradient's shares, each repeated for the two
// columns of its window, times (1 - s) s read from s (masked loads and stores, so no pass goes
// through a buffer). Recomputing s from x instead of storing it measured slower: vsigmoid is
// compute bound (its division). Bitwise equality with the unfused ops: every s is vsigmoid's lane
// result; the sums are 0 + s00 + s01 + s10 + s11 in that order then divided by the divisor
// (core/src/ops/pool.cpp's tiled path), computed as a product by 1 / divisor when that is exact (a
// power of two: 4 by default), which rounds the same real number the same way; the gradient is (0 +
// g / divisor) (1 - s) s in sigmoid_backward's order.
#include "kernels/nn_sigmoid_pool.h"
#include "kernels/nn_math.h"  // first: see the note on GCC 12 there

#include <ember/core/parallel.h>

namespace ember::nn::kernels {

EMBER_ISA_VARIANTS(sigmoid_avg_pool2x2_forward)
EMBER_ISA_VARIANTS(sigmoid_avg_pool2x2_backward)

namespace EMBER_ISA {
namespace {

// Floats of input (whole row pairs) per block; one row pair always fits (kSigmoidPoolMaxWidth).
constexpr std::int64_t kBuf = 2 * kSigmoidPoolMaxWidth;
// Room past a block's end: the loads and stores of a row's last vectors may run over it.
constexpr std::int64_t kPad = 4 * kLanes;
// Output cells per piece of parallel work (whole planes; fixed by the problem size).
constexpr std::int64_t kGrainCells = 4096;

// The first kLanes / 2 elements of g, each twice: g0 g0 g1 g1 ...
inline Vec repeat_pairs(Vec g) {
#if XSIMD_WITH_AVX512F
  return Vec(
      _mm512_permutexvar_ps(_mm512_set_epi32(7, 7, 6, 6, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 0, 0), g));
#elif XSIMD_WITH_AVX2
  return Vec(_mm256_permutevar8x32_ps(g, _mm256_set_epi32(3, 3, 2, 2, 1, 1, 0, 0)));
#else
  return Vec(_mm_unpacklo_ps(g, g));
#endif
}

// True if x / d == x * (1 / d) for every float x (both the correctly rounded x / d): d a power
// of two whose reciprocal is a normal float.
bool reciprocal_is_exact(float d) {
  std::uint32_t bits = 0;
  __builtin_memcpy(&bits, &d, sizeof bits);
  const std::uint32_t exponent = (bits >> 23) & 0xFFu;
  return (bits & 0x7FFFFFu) == 0 && exponent >= 1 && exponent <= 253;
}

// buf[0, n) = sigmoid(x[0, n)), n <= kBuf, and s[0, n) too unless s is null: into the stack buffer
// the windows are summed from and the tensor s. The last partial vector through a padded load.
template <bool kStoreS>
void sigmoid_block(const float* x, float* s, float* buf, std::int64_t n) {
  std::int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    const Vec v = vsigmoid(Vec::load_unaligned(x + i));
    v.store_aligned(buf + i);
    if constexpr (kStoreS) v.store_unaligned(s + i);
  }
  if (i < n) {
    const Vec v = vsigmoid(load_tail(x + i, n - i, 0.0f));
    v.store_aligned(buf + i);
    if constexpr (kStoreS) store_tail(s + i, n - i, v);
  }
}

// For `pairs` row pairs of width W at x (contiguous): their sigmoid at s (unless s is null), and
// the (pairs W/2) pooled values at y.
void forward_rows(const float* x, float* s, float* y, std::int64_t pairs, std::int64_t W,
                  float divisor) {
  alignas(64) float buf[kBuf + kPad] = {};
  const std::int64_t OW = W / 2, block = kBuf / (2 * W);
  // sum / divisor, as a product when that is the same (the default divisor 4): a division per
  // short row costs more than the rest of the pooling.
  const bool exact = reciprocal_is_exact(divisor);
  const Vec d(divisor), inv(1.0f / divisor);
  for (std::int64_t b0 = 0; b0 < pairs; b0 += block) {
    const std::int64_t nb = pairs - b0 < block ? pairs - b0 : block;
    if (s != nullptr) {
      sigmoid_block<true>(x + b0 * 2 * W, s + b0 * 2 * W, buf, nb * 2 * W);
    } else {
      sigmoid_block<false>(x + b0 * 2 * W, nullptr, buf, nb * 2 * W);
    }
    float* out = y + b0 * OW;
    for (std::int64_t j = 0; j < nb; ++j) {
      const float* r0 = buf + j * 2 * W;
      const float* r1 = r0 + W;
      for (std::int64_t ow = 0; ow < OW; ow += kLanes) {
        Vec e0, o0, e1, o1;
        deinterleave(Vec::load_unaligned(r0 + 2 * ow), Vec::load_unaligned(r0 + 2 * ow + kLanes),
                     e0, o0);
        deinterleave(Vec::load_unaligned(r1 + 2 * ow), Vec::load_unaligned(r1 + 2 * ow + kLanes),
                     e1, o1);
        const Vec sum = (((Vec(0.0f) + e0) + o0) + e1) + o1;
        store_first(out + j * OW + ow, OW - ow < kLanes ? OW - ow : kLanes,
                    exact ? sum * inv : sum / d);
      }
    }
  }
}

// grad_x of `pairs` row pairs of width W from their sigmoid s and the (pairs W/2) output
// gradients at grad_out.
void backward_rows(const float* s, const float* grad_out, float* grad_x, std::int64_t pairs,
                   std::int64_t W, float divisor) {
  alignas(64) float g[kBuf / 4 + kPad] = {};
  const std::int64_t OW = W / 2, block = kBuf / (2 * W);
  for (std::int64_t b0 = 0; b0 < pairs; b0 += block) {
    const std::int64_t nb = pairs - b0 < block ? pairs - b0 : block;
    const std::int64_t m = nb * OW;
    // Each window's share, 0 + grad_out / divisor, as core's tiled avg_pool2d_backward.
    const float* go = grad_out + b0 * OW;
    std::int64_t i = 0;
    for (; i + kLanes <= m; i += kLanes)
      (Vec(0.0f) + Vec::load_unaligned(go + i) / Vec(divisor)).store_aligned(g + i);
    if (i < m) (Vec(0.0f) + load_tail(go + i, m - i, 0.0f) / Vec(divisor)).store_aligned(g + i);
    for (std::int64_t r = 0; r < 2 * nb; ++r) {
      const float* sr = s + (b0 * 2 + r) * W;
      const float* gr = g + (r / 2) * OW;
      float* dr = grad_x + (b0 * 2 + r) * W;
      for (std::int64_t k = 0; k < W; k += kLanes) {
        const std::int64_t n = W - k < kLanes ? W - k : kLanes;
        const Vec gv = repeat_pairs(Vec::load_unaligned(gr + k / 2));
        const Vec sv = load_first(sr + k, n);
        store_first(dr + k, n, gv * (Vec(1.0f) - sv) * sv);
      }
      // An odd last column lies in no window: its gradient is sigmoid_backward's of 0.
      if (W % 2 != 0) dr[W - 1] = 0.0f * (1.0f - sr[W - 1]) * sr[W - 1];
    }
  }
}

// An odd last row, in no window: its sigmoid forward, and sigmoid_backward's gradient of 0.
void forward_unpooled_row(const float* x, float* s, std::int64_t W) {
  std::int64_t k = 0;
  for (; k + kLanes <= W; k += kLanes) vsigmoid(Vec::load_unaligned(x + k)).store_unaligned(s + k);
  if (k < W) store_tail(s + k, W - k, vsigmoid(load_tail(x + k, W - k, 0.0f)));
}
void backward_unpooled_row(const float* s, float* grad_x, std::int64_t W) {
  std::int64_t k = 0;
  for (; k + kLanes <= W; k += kLanes) {
    const Vec sv = Vec::load_unaligned(s + k);
    (Vec(0.0f) * (Vec(1.0f) - sv) * sv).store_unaligned(grad_x + k);
  }
  if (k < W) {
    const Vec sv = load_tail(s + k, W - k, 0.0f);
    store_tail(grad_x + k, W - k, Vec(0.0f) * (Vec(1.0f) - sv) * sv);
  }
}

std::int64_t plane_grain(std::int64_t H, std::int64_t W) {
  const std::int64_t cells = (H / 2) * (W / 2);
  return cells >= kGrainCells ? 1 : kGrainCells / cells;
}

}  // namespace

void sigmoid_avg_pool2x2_forward(const float* x, float* s, float* y, std::int64_t P, std::int64_t H,
                                 std::int64_t W, float divisor) {
  const std::int64_t OH = H / 2, OW = W / 2;
  parallel_for(0, P, plane_grain(H, W), [&](std::int64_t p0, std::int64_t p1) {
    const auto at = [s](std::int64_t i) {
      return s != nullptr ? s + i : nullptr;
    };
    // With an even H the planes' row pairs follow each other: one run over all of them.
    if (H % 2 == 0) {
      forward_rows(x + p0 * H * W, at(p0 * H * W), y + p0 * OH * OW, (p1 - p0) * OH, W, divisor);
      return;
    }
    for (std::int64_t p = p0; p < p1; ++p) {
      forward_rows(x + p * H * W, at(p * H * W), y + p * OH * OW, OH, W, divisor);
      if (s != nullptr) forward_unpooled_row(x + (p * H + H - 1) * W, s + (p * H + H - 1) * W, W);
    }
  });
}

void sigmoid_avg_pool2x2_backward(const float* s, const float* grad_out, float* grad_x,
                                  std::int64_t P, std::int64_t H, std::int64_t W, float divisor) {
  const std::int64_t OH = H / 2, OW = W / 2;
  parallel_for(0, P, plane_grain(H, W), [&](std::int64_t p0, std::int64_t p1) {
    if (H % 2 == 0) {
      backward_rows(s + p0 * H * W, grad_out + p0 * OH * OW, grad_x + p0 * H * W, (p1 - p0) * OH, W,
                    divisor);
      return;
    }
    for (std::int64_t p = p0; p < p1; ++p) {
      backward_rows(s + p * H * W, grad_out + p * OH * OW, grad_x + p * H * W, OH, W, divisor);
      backward_unpooled_row(s + (p * H + H - 1) * W, grad_x + (p * H + H - 1) * W, W);
    }
  });
}

}  // namespace EMBER_ISA

#if EMBER_ISA_BASELINE
// The entry points: the build of this file for the CPU's instruction set.
void sigmoid_avg_pool2x2_forward(const float* x, float* s, float* y, std::int64_t P, std::int64_t H,
                                 std::int64_t W, float divisor) {
  EMBER_ISA_CALL(sigmoid_avg_pool2x2_forward, x, s, y, P, H, W, divisor);
}
void sigmoid_avg_pool2x2_backward(const float* s, const float* grad_out, float* grad_x,
                                  std::int64_t P, std::int64_t H, std::int64_t W, float divisor) {
  EMBER_ISA_CALL(sigmoid_avg_pool2x2_backward, s, grad_out, grad_x, P, H, W, divisor);
}
#endif

}  // namespace ember::nn::kernels
