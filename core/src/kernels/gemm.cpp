// Single-precision GEMM without BLAS: a packed, cache-blocked product over an xsimd register-blocked
// micro-kernel, plus two paths for the skinny shapes of a small network (see gemm()).
#include "kernels/gemm.h"

#include <ember/core/parallel.h>

#include <xsimd/xsimd.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>
#include <new>
#include <utility>

namespace ember::kernels {

void gemm_reference(bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K,
                    const float* A, std::int64_t lda, const float* B, std::int64_t ldb, float* C,
                    std::int64_t ldc, bool accumulate, const float* bias) {
  for (std::int64_t m = 0; m < M; ++m) {
    for (std::int64_t n = 0; n < N; ++n) {
      float sum = 0.0f;
      for (std::int64_t k = 0; k < K; ++k) {
        const float a = trans_a ? A[k * lda + m] : A[m * lda + k];
        const float b = trans_b ? B[n * ldb + k] : B[k * ldb + n];
        sum += a * b;
      }
      float& c = C[m * ldc + n];
      c = (accumulate ? c : 0.0f) + sum + (bias != nullptr ? bias[n] : 0.0f);
    }
  }
}

namespace {

using Batch = xsimd::batch<float>;
constexpr int W = static_cast<int>(Batch::size);  // 16 with AVX-512, 8 with AVX2, 4 with SSE2
// Micro-tile: MR rows x NR columns of C held in MR * 2 vector accumulators. With 32 vector
// registers (AVX-512) 12 x 2 accumulators leave room for the two B vectors; with 16, 6 x 2.
constexpr int NR = 2 * W;
constexpr int MR = W >= 16 ? 12 : 6;
// Cache blocking: a K-block of a B micro-panel (KC x NR floats, <= 32 KiB) stays in L1 while the
// packed A block (MC x KC) streams from L2.
constexpr std::int64_t KC_MAX = 256;
constexpr std::int64_t MC_MAX = 16 * MR;
// Below this many flops per thread, a thread is not worth waking.
constexpr double MIN_FLOPS_PER_THREAD = 1.0e6;

// A read-only matrix view: element (r, c) is p[r * rs + c * cs].
struct View {
  const float* p;
  std::int64_t rs, cs;
  const float* at(std::int64_t r, std::int64_t c) const { return p + r * rs + c * cs; }
  View t() const { return {p, cs, rs}; }
};

// The output view: element (r, c) is p[r * rs + c * cs].
struct Out {
  float* p;
  std::int64_t rs, cs;
  float* at(std::int64_t r, std::int64_t c) const { return p + r * rs + c * cs; }
  Out sub(std::int64_t r, std::int64_t c) const { return {at(r, c), rs, cs}; }
  Out t() const { return {p, cs, rs}; }
};

// A 64-byte aligned scratch buffer that only grows: one per thread, so the hot path allocates
// only on a thread's first large call.
class Scratch {
 public:
  float* get(std::size_t count) {
    if (count > size_) {
      release();
      data_ = static_cast<float*>(::operator new(count * sizeof(float), std::align_val_t{64}));
      size_ = count;
    }
    return data_;
  }
  ~Scratch() { release(); }

 private:
  void release() {
    if (data_ != nullptr) ::operator delete(data_, std::align_val_t{64});
    data_ = nullptr;
    size_ = 0;
  }
  float* data_ = nullptr;
  std::size_t size_ = 0;
};

float* a_scratch(std::size_t count) {
  thread_local Scratch scratch;
  return scratch.get(count);
}
float* b_scratch(std::size_t count) {
  thread_local Scratch scratch;
  return scratch.get(count);
}

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

// How many pieces to split `units` of `flops_per_unit` into so each thread gets enough work:
// returned as the grain for parallel_for.
std::int64_t grain_for(std::int64_t units, double flops_per_unit) {
  const double total = static_cast<double>(units) * flops_per_unit;
  if (total < 2.0 * MIN_FLOPS_PER_THREAD) return std::max<std::int64_t>(units, 1);
  const auto g = static_cast<std::int64_t>(MIN_FLOPS_PER_THREAD / std::max(flops_per_unit, 1.0));
  return std::max<std::int64_t>(g, 1);
}

// Note [Determinism]: every element of C is computed by the same sequence of operations whatever
// tile, panel or thread computes it: per K-block an FMA chain from zero over k in order (the
// micro-kernel), then c = load_c ? c + acc : acc, then (at the very end) c += bias[n]. The
// K-blocking depends on K only and the path (dot, direct, packed, transposed or not) on the
// shape and strides only, so results are bitwise identical at any thread count.

// ---- The micro-kernel -------------------------------------------------------------------------

// acc[R x NR] = sum over k < kc of a[k * a_ks + r] * b[k * b_ks + j]: R rows of A read with unit
// stride (a packed panel, or a transposed operand used in place) and NR contiguous floats of B.
template <int R>
inline void micro_kernel(std::int64_t kc, const float* a, std::int64_t a_ks, const float* b,
                         std::int64_t b_ks, Batch (&acc)[R][2]) {
  for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = Batch(0.0f);
  for (std::int64_t k = 0; k < kc; ++k) {
    const Batch b0 = Batch::load_unaligned(b);
    const Batch b1 = Batch::load_unaligned(b + W);
    for (int r = 0; r < R; ++r) {
      const Batch ar(a[r]);
      acc[r][0] = xsimd::fma(ar, b0, acc[r][0]);
      acc[r][1] = xsimd::fma(ar, b1, acc[r][1]);
    }
    a += a_ks;
    b += b_ks;
  }
}

// C tile (R rows x cols <= NR) = load_c ? C + acc : acc.
template <int R>
inline void store_tile(const Batch (&acc)[R][2], Out c, std::int64_t cols, bool load_c) {
  if (c.cs == 1 && cols == NR) {
    for (int r = 0; r < R; ++r) {
      float* row = c.p + r * c.rs;
      for (int v = 0; v < 2; ++v) {
        Batch x = acc[r][v];
        if (load_c) x = Batch::load_unaligned(row + v * W) + x;
        x.store_unaligned(row + v * W);
      }
    }
    return;
  }
  alignas(64) float tmp[R][NR];
  for (int r = 0; r < R; ++r) {
    acc[r][0].store_aligned(&tmp[r][0]);
    acc[r][1].store_aligned(&tmp[r][W]);
  }
  for (int r = 0; r < R; ++r) {
    for (std::int64_t j = 0; j < cols; ++j) {
      float& d = c.p[r * c.rs + j * c.cs];
      d = load_c ? d + tmp[r][j] : tmp[r][j];
    }
  }
}

template <int R>
void tile(std::int64_t kc, const float* a, std::int64_t a_ks, const float* b, std::int64_t b_ks,
          Out c, std::int64_t cols, bool load_c) {
  Batch acc[R][2];
  micro_kernel<R>(kc, a, a_ks, b, b_ks, acc);
  store_tile<R>(acc, c, cols, load_c);
}

using TileFn = void (*)(std::int64_t, const float*, std::int64_t, const float*, std::int64_t, Out,
                        std::int64_t, bool);

template <std::size_t... I>
constexpr std::array<TileFn, sizeof...(I)> make_tiles(std::index_sequence<I...>) {
  return {&tile<static_cast<int>(I) + 1>...};
}
// tiles[R - 1] computes an R-row tile, 1 <= R <= MR.
constexpr auto tiles = make_tiles(std::make_index_sequence<MR>{});

// ---- Packing ----------------------------------------------------------------------------------

// dst[k * NR + j] = B(k0 + k, n0 + j) for k < kc, j < cols, zero for cols <= j < NR.
void pack_b_panel(View B, std::int64_t k0, std::int64_t kc, std::int64_t n0, std::int64_t cols,
                  float* dst) {
  if (B.cs == 1) {
    for (std::int64_t k = 0; k < kc; ++k) {
      const float* src = B.at(k0 + k, n0);
      float* d = dst + k * NR;
      std::memcpy(d, src, static_cast<std::size_t>(cols) * sizeof(float));
      std::fill(d + cols, d + NR, 0.0f);
    }
    return;
  }
  // Columns of B are contiguous (a transposed operand): transpose NR x 16 blocks.
  if (cols < NR) std::fill(dst, dst + kc * NR, 0.0f);
  constexpr std::int64_t KB = 16;
  for (std::int64_t kb = 0; kb < kc; kb += KB) {
    const std::int64_t kn = std::min(KB, kc - kb);
    for (std::int64_t j = 0; j < cols; ++j) {
      const float* src = B.at(k0 + kb, n0 + j);
      float* d = dst + kb * NR + j;
      for (std::int64_t k = 0; k < kn; ++k) d[k * NR] = src[k * B.rs];
    }
  }
}

// dst[k * MR + i] = A(m0 + i, k0 + k) for k < kc, i < rows (rows <= MR).
void pack_a_panel(View A, std::int64_t m0, std::int64_t rows, std::int64_t k0, std::int64_t kc,
                  float* dst) {
  if (A.rs == 1) {
    for (std::int64_t k = 0; k < kc; ++k)
      std::memcpy(dst + k * MR, A.at(m0, k0 + k), static_cast<std::size_t>(rows) * sizeof(float));
    return;
  }
  constexpr std::int64_t KB = 16;
  for (std::int64_t kb = 0; kb < kc; kb += KB) {
    const std::int64_t kn = std::min(KB, kc - kb);
    for (std::int64_t i = 0; i < rows; ++i) {
      const float* src = A.at(m0 + i, k0 + kb);
      float* d = dst + kb * MR + i;
      for (std::int64_t k = 0; k < kn; ++k) d[k * MR] = src[k * A.cs];
    }
  }
}

// ---- Paths ------------------------------------------------------------------------------------

// The general path: B packed once per call into NR-column panels (in parallel), then threads
// take blocks of MR-row tiles (or, when M is small, ranges of panels), pack their A block per
// K-block and run the micro-kernel with the B micro-panel in L1.
void gemm_packed(View A, View B, Out C, std::int64_t M, std::int64_t N, std::int64_t K,
                 bool accumulate) {
  const std::int64_t nkb = ceil_div(K, KC_MAX);
  const std::int64_t kc_step = ceil_div(K, nkb);
  const std::int64_t panels = ceil_div(N, NR);
  const std::int64_t m_tiles = ceil_div(M, MR);
  const std::int64_t mc_tiles = MC_MAX / MR;

  float* bp = b_scratch(static_cast<std::size_t>(panels * K * NR));
  // Panel p holds B(:, p*NR : p*NR+NR) as [K x NR]; its K-block starting at k0 is at k0 * NR.
  parallel_for(0, panels, grain_for(panels, 64.0 * static_cast<double>(K * NR)),
               [&](std::int64_t p0, std::int64_t p1) {
                 for (std::int64_t p = p0; p < p1; ++p) {
                   const std::int64_t n0 = p * NR;
                   pack_b_panel(B, 0, K, n0, std::min<std::int64_t>(NR, N - n0), bp + p * K * NR);
                 }
               });

  // Computes tiles [t0, t1) x panels [p0, p1).
  auto compute = [&](std::int64_t t0, std::int64_t t1, std::int64_t p0, std::int64_t p1) {
    float* ap = a_scratch(static_cast<std::size_t>(mc_tiles * MR * kc_step));
    for (std::int64_t tb = t0; tb < t1; tb += mc_tiles) {
      const std::int64_t te = std::min(t1, tb + mc_tiles);
      for (std::int64_t kb = 0; kb < nkb; ++kb) {
        const std::int64_t k0 = kb * kc_step;
        const std::int64_t kc = std::min(kc_step, K - k0);
        const bool load_c = accumulate || kb > 0;
        for (std::int64_t t = tb; t < te; ++t) {
          const std::int64_t m0 = t * MR;
          pack_a_panel(A, m0, std::min<std::int64_t>(MR, M - m0), k0, kc,
                       ap + (t - tb) * MR * kc);
        }
        for (std::int64_t p = p0; p < p1; ++p) {
          const std::int64_t n0 = p * NR;
          const std::int64_t cols = std::min<std::int64_t>(NR, N - n0);
          const float* b = bp + p * K * NR + k0 * NR;
          for (std::int64_t t = tb; t < te; ++t) {
            const std::int64_t m0 = t * MR;
            const std::int64_t rows = std::min<std::int64_t>(MR, M - m0);
            tiles[rows - 1](kc, ap + (t - tb) * MR * kc, MR, b, NR, C.sub(m0, n0), cols, load_c);
          }
        }
      }
    }
  };

  const double tile_flops = 2.0 * MR * NR * static_cast<double>(K);
  if (m_tiles >= 2 * get_num_threads()) {
    parallel_for(0, m_tiles, grain_for(m_tiles, tile_flops * static_cast<double>(panels)),
                 [&](std::int64_t t0, std::int64_t t1) { compute(t0, t1, 0, panels); });
  } else {
    parallel_for(0, panels, grain_for(panels, tile_flops * static_cast<double>(m_tiles)),
                 [&](std::int64_t p0, std::int64_t p1) { compute(0, m_tiles, p0, p1); });
  }
}

// The direct path for M <= MR with A's rows contiguous along m (a transposed operand, as in
// dW = g^T x) and B's rows contiguous along n: no packing (but for a ragged last panel); each
// thread sweeps a range of NR-column panels through the whole K with C in registers.
void gemm_direct(View A, View B, Out C, std::int64_t M, std::int64_t N, std::int64_t K,
                 bool accumulate) {
  const std::int64_t panels = ceil_div(N, NR);
  const double panel_flops = 2.0 * static_cast<double>(M * NR * K);
  parallel_for(0, panels, grain_for(panels, panel_flops), [&](std::int64_t p0, std::int64_t p1) {
    for (std::int64_t p = p0; p < p1; ++p) {
      const std::int64_t n0 = p * NR;
      const std::int64_t cols = std::min<std::int64_t>(NR, N - n0);
      const float* b = B.at(0, n0);
      std::int64_t b_ks = B.rs;
      if (cols < NR) {
        float* bp = a_scratch(static_cast<std::size_t>(K * NR));
        pack_b_panel(B, 0, K, n0, cols, bp);
        b = bp;
        b_ks = NR;
      }
      tiles[M - 1](K, A.p, A.cs, b, b_ks, C.sub(0, n0), cols, accumulate);
    }
  });
}

// The dot path for N <= 16 with rows of A and columns of B both contiguous along k (Linear's
// forward x W^T with few outputs): each output is a dot product. 4 x 4 outputs at a time keep 16
// vector accumulators along k; xsimd::haddp reduces them together. Rows of a 4-row tile past M
// (and columns past N) repeat the last valid one and are discarded, so every stored element goes
// through the same operations wherever it sits.
void gemm_dot(View A, View B, Out C, std::int64_t M, std::int64_t N, std::int64_t K,
              bool accumulate) {
  constexpr int T = 4;
  const std::int64_t row_tiles = ceil_div(M, T);
  const std::int64_t col_tiles = ceil_div(N, T);
  const std::int64_t kv = K - K % W;
  const double tile_flops = 2.0 * T * T * static_cast<double>(K * col_tiles);
  parallel_for(0, row_tiles, grain_for(row_tiles, tile_flops), [&](std::int64_t r0,
                                                                    std::int64_t r1) {
    for (std::int64_t rt = r0; rt < r1; ++rt) {
      const float* a[T];
      for (int i = 0; i < T; ++i) a[i] = A.at(std::min(rt * T + i, M - 1), 0);
      for (std::int64_t ct = 0; ct < col_tiles; ++ct) {
        const float* b[T];
        for (int j = 0; j < T; ++j) b[j] = B.at(0, std::min(ct * T + j, N - 1));
        Batch acc[T * T];
        for (auto& x : acc) x = Batch(0.0f);
        for (std::int64_t k = 0; k < kv; k += W) {
          Batch bv[T];
          for (int j = 0; j < T; ++j) bv[j] = Batch::load_unaligned(b[j] + k);
          for (int i = 0; i < T; ++i) {
            const Batch av = Batch::load_unaligned(a[i] + k);
            for (int j = 0; j < T; ++j) acc[i * T + j] = xsimd::fma(av, bv[j], acc[i * T + j]);
          }
        }
        alignas(64) float sums[T * T];
        for (int g = 0; g < T * T; g += W) xsimd::haddp(acc + g).store_aligned(sums + g);
        for (int i = 0; i < T; ++i) {
          for (int j = 0; j < T; ++j) {
            float s = sums[i * T + j];
            for (std::int64_t k = kv; k < K; ++k) s += a[i][k] * b[j][k];
            sums[i * T + j] = s;
          }
        }
        const std::int64_t rows = std::min<std::int64_t>(T, M - rt * T);
        const std::int64_t cols = std::min<std::int64_t>(T, N - ct * T);
        for (std::int64_t i = 0; i < rows; ++i) {
          for (std::int64_t j = 0; j < cols; ++j) {
            float& d = *C.at(rt * T + i, ct * T + j);
            d = accumulate ? d + sums[i * T + j] : sums[i * T + j];
          }
        }
      }
    }
  });
}

// Picks the path for C[M,N] (+)= A[M,K] @ B[K,N] given as views; also tried on the transposed
// problem C^T = B^T A^T.
bool try_skinny(View A, View B, Out C, std::int64_t M, std::int64_t N, std::int64_t K,
                bool accumulate) {
  if (N <= 4 * 4 && A.cs == 1 && B.rs == 1) {
    gemm_dot(A, B, C, M, N, K, accumulate);
    return true;
  }
  if (M <= MR && A.rs == 1 && B.cs == 1) {
    gemm_direct(A, B, C, M, N, K, accumulate);
    return true;
  }
  return false;
}

}  // namespace

void gemm(bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K,
          const float* A, std::int64_t lda, const float* B, std::int64_t ldb, float* C,
          std::int64_t ldc, bool accumulate, const float* bias) {
  if (M <= 0 || N <= 0) return;
  const Out c{C, ldc, 1};
  if (K <= 0) {
    if (!accumulate)
      for (std::int64_t m = 0; m < M; ++m) std::fill(c.at(m, 0), c.at(m, 0) + N, 0.0f);
  } else {
    const View a = trans_a ? View{A, 1, lda} : View{A, lda, 1};
    const View b = trans_b ? View{B, 1, ldb} : View{B, ldb, 1};
    if (!try_skinny(a, b, c, M, N, K, accumulate) &&
        !try_skinny(b.t(), a.t(), c.t(), N, M, K, accumulate)) {
      gemm_packed(a, b, c, M, N, K, accumulate);
    }
  }
  if (bias != nullptr) {
    for (std::int64_t m = 0; m < M; ++m) {
      float* row = c.at(m, 0);
      std::int64_t n = 0;
      for (; n + W <= N; n += W)
        (Batch::load_unaligned(row + n) + Batch::load_unaligned(bias + n)).store_unaligned(row + n);
      for (; n < N; ++n) row[n] += bias[n];
    }
  }
}

}  // namespace ember::kernels
