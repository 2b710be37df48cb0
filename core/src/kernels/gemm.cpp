// Single-precision GEMM without BLAS: a packed, cache-blocked product over an xsimd
// register-blocked micro-kernel, plus two paths for the skinny shapes of a small network (see
// gemm()). Compiled once per instruction set (Note [ISA dispatch] in kernels/isa.h).
#include "kernels/gemm.h"
#include "kernels/isa.h"

#include <ember/core/parallel.h>

#include "kernels/simd.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <cstddef>
#include <cstring>
#include <new>
#include <utility>

namespace ember::kernels {

EMBER_ISA_VARIANTS(gemm)

#if EMBER_ISA_BASELINE
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

// The entry point: the build of this file for the CPU's instruction set.
void gemm(bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K,
          const float* A, std::int64_t lda, const float* B, std::int64_t ldb, float* C,
          std::int64_t ldc, bool accumulate, const float* bias) {
  EMBER_ISA_CALL(gemm, trans_a, trans_b, M, N, K, A, lda, B, ldb, C, ldc, accumulate, bias);
}
#endif

namespace EMBER_ISA {
namespace {

using Batch = xsimd::batch<float>;
constexpr int W = static_cast<int>(Batch::size);  // 16 with AVX-512, 8 with AVX2, 4 with SSE2
// Micro-tile: MR rows x NR columns of C held in MR * 2 vector accumulators. With 32 vector
// registers (AVX-512) 12 x 2 accumulators leave room for the two B vectors; with 16, 6 x 2.
constexpr int NR = 2 * W;
constexpr int MR = W >= 16 ? 12 : 6;
// Cache blocking: K is cut into equal blocks of at most KC_MAX (784 -> 4 x 196, 1024 -> 4 x 256);
// a K-block of a B micro-panel (KC x NR floats, <= 32 KiB) stays in L1 next to the A micro-panel
// (MR x KC, <= 12 KiB) while the piece's A block (MC_TILES * MR x KC, <= 192 KiB) streams from
// L2. KC 192, 256 and 384 with MC 8, 16 and 24 tiles timed within noise of each other on the
// 784- and 1024-deep shapes (Zen 5); on an Ice Lake Xeon the 12 x 32 micro-kernel alone, on
// packed panels in cache, ran 1.7-1.8 vector FMAs per cycle at every kc from 112 to 256 (rdtsc,
// best of 6 runs of 128 calls). 256 keeps both micro-panels inside a 48 KiB L1; on a 32 KiB L1
// (Skylake, Zen 2-4) the B micro-panel still fits, the A micro-panel streams from L2.
constexpr std::int64_t KC_MAX = 256;
constexpr std::int64_t MC_TILES = 16;
// Note [Balanced tiles]: gemm_packed cuts M into ceil(M / MR) tiles of near-equal height (M / tiles
// rounded down or up) rather than full MR-row tiles and a short last one: a 4-row tile (256 =
// 21 x 12 + 4, 64 = 5 x 12 + 4, 1024 = 85 x 12 + 4) has 8 accumulators, too few to hide the FMA
// latency, and ran at 0.8 vector FMAs per cycle against 1.7-1.9 for 10- to 12-row tiles (AVX-512,
// Ice Lake Xeon, packed panels in L1, a standalone rdtsc loop); perf put 2.7% of 256 x 784 @ 784 x
// 256 at 1 thread in it for 1.6% of the flops. 256 rows are now 14 tiles of 12 and 8 of 11. A
// tile's height changes no element's operations (Note [Determinism]).
// Note [Unpacked A]: when A is row-major (its rows contiguous along k, as x in x W^T) the
// micro-kernel broadcasts A's elements from MR rows of A itself, lda apart, instead of from a
// packed [K x MR] copy: the copy is a transpose (16 x 16 blocks in registers) whose loads waited on
// L3 (perf: 9.5% of 256 x 784 @ 784 x 256 at 1 thread, in the loads of transpose_block;
// prefetching its rows ahead did not help), while read in place those loads overlap the FMAs.
// The tile's MR rows x kc floats stay in L1 all the same (12 x 196 floats at K = 784) as long as
// the rows' lines fall in different L1 sets: a row stride of a multiple of 4 KiB (1024^3) puts all
// of them in one set, so such an A is still packed (rows_in_distinct_sets; read in place anyway,
// 1024^3 was no faster). In L1 both forms ran at the same 1.7-1.8 vector FMAs per cycle (rdtsc,
// Ice Lake Xeon). bench/results/gemm3 (Ice Lake Xeon, with Note [Balanced tiles]): 256 x 784 @ 784
// x 256 0.829 -> 0.781 ms at 1 thread (PyTorch on OpenBLAS 0.874), 0.456 -> 0.449 at 2 (0.435);
// 64 x 784 @ 784 x 256 0.256 -> 0.230 (0.265) and 0.148 -> 0.105 (0.142). Not measured on AMD:
// its L1 (32 KiB 8-way on Zen 2-4, 48 KiB 12-way on Zen 5) has the same 64 sets, so the rows stay
// apart there too. Which layout A is read from changes no element's operations (Note
// [Determinism]).
// Note [Own B panels]: when the product has one row block (all of M in each piece), each B panel
// is used by one piece only, and that piece packs it into its thread's scratch just before using
// it, instead of step 1 packing all of B for every piece: the panel is then still in L1/L2 when
// the k loop reads it, no thread reads a panel the other core packed, and the threads do not wait
// for each other between packing and multiplying. An A read in place (Note [Unpacked A]) of at
// most 2 * MC_TILES tiles (M <= 384) is cut into one row block for this: each piece then reads all
// of A's rows (784 x 256 floats at batch 256, from L2 on an Ice Lake Xeon's 1.25 MiB; from L3
// on a 512 KiB Zen 2-3 L2, where the current kc x MR micro-panel still sits in L1, so the
// hardware prefetchers stream it; not measured there). bench/results/gemm3b (Ice Lake Xeon, a
// slow sitting, all three Notes against 38ed059): 256 x 784 @ 784 x 256 0.896 -> 0.791 ms at 1
// thread, 0.595 -> 0.488 at 2; 64 x 784 @ 784 x 256 0.283 -> 0.208 and 0.175 -> 0.124. The
// packed values and every element's operations are the same (Note [Determinism]).
// A piece spans at most NC_PANELS panels of B (256 columns with AVX-512).
constexpr std::int64_t NC_PANELS = 8;
// Packed B beyond this many floats (1 MiB, about an L2) is read from L3: prefetch (Note
// [Prefetch]).
constexpr std::int64_t PREFETCH_MIN_B = std::int64_t{1} << 18;
// Each operand is packed at most this many floats (8 MiB) at a time: all of it for the network's
// shapes.
constexpr std::int64_t PACK_MAX = std::int64_t{1} << 21;
// The direct path's K-blocks: at least DIRECT_KC deep (a batch of 256 is two blocks), at most
// DIRECT_MAX_BLOCKS of them.
constexpr std::int64_t DIRECT_KC = 128;
constexpr std::int64_t DIRECT_MAX_BLOCKS = 8;
// A piece of parallel work is at least this many flops (smaller ones cost more to hand over than
// they save)... 2.5e5 (2-4 us of work): with 1e6 the MLP's output layer (256 x 256 @ 256 x 10
// and its two gradients, 1.3 MFLOP each) ran on one thread, 2.2% of the 1-thread epoch that
// did not scale (perf: samples in the epoch outside any parallel job).
constexpr double MIN_FLOPS_PER_PIECE = 2.5e5;
// ...and gemm_packed cuts its product into at least this many pieces when it is large enough, so
// that two threads (or more) share the work evenly even if one is descheduled for a while.
constexpr std::int64_t MIN_PIECES = 8;

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

// A 64-byte aligned scratch buffer that only grows, so the hot path allocates only on a thread's
// first large call.
class Scratch {
 public:
  float* get(std::size_t count) {
    if (count > size_) {
      release();
      data_ = static_cast<float*>(::operator new (count * sizeof(float), std::align_val_t{64}));
      size_ = count;
    }
    return data_;
  }
  ~Scratch() { release(); }

 private:
  void release() {
    if (data_ != nullptr) ::operator delete (data_, std::align_val_t{64});
    data_ = nullptr;
    size_ = 0;
  }
  float* data_ = nullptr;
  std::size_t size_ = 0;
};

// Each thread's own buffers (the caller's and every pool worker's): a_scratch for a ragged B panel
// of the direct path, b_scratch for what a caller shares with its helpers (packed A and B, or the
// direct path's partial products).
Scratch& a_scratch() {
  thread_local Scratch scratch;
  return scratch;
}
Scratch& b_scratch() {
  thread_local Scratch scratch;
  return scratch;
}

std::int64_t ceil_div(std::int64_t a, std::int64_t b) {
  return (a + b - 1) / b;
}

// How many of `units` (of `flops_per_unit` each) one piece of parallel work takes so that it is
// worth handing to another thread: the grain for parallel_for. Depends on the shape alone.
std::int64_t grain_for(std::int64_t units, double flops_per_unit) {
  const double total = static_cast<double>(units) * flops_per_unit;
  if (total < 2.0 * MIN_FLOPS_PER_PIECE) return std::max<std::int64_t>(units, 1);
  const auto g = static_cast<std::int64_t>(MIN_FLOPS_PER_PIECE / std::max(flops_per_unit, 1.0));
  return std::max<std::int64_t>(g, 1);
}

// Note [Determinism]: every element of C is computed by the same sequence of operations whatever
// tile, panel or thread computes it: per K-block an FMA chain from zero over k in order (the
// micro-kernel), then c = load_c ? c + acc : acc, then (at the very end) c += bias[n]. The
// K-blocking depends on K only and the path (dot, direct, packed, transposed or not) on the
// shape and strides only, so results are bitwise identical at any thread count.

// ---- The micro-kernel -------------------------------------------------------------------------

// Note [Prefetch]: when packed B does not fit in L2 (1024^3: 4 MiB), every B micro-panel (kc x NR,
// 32 KiB) is first read from L3 by the first tile of its panel, which the hardware prefetchers
// (they follow one stream within a 4 KiB page) do not hide: that tile stalls. So the last tile of
// a panel prefetches the next micro-panel into L1, two lines per step of k, as fast as it
// consumes its own. And a C tile (12 rows 4 KiB apart at N = 1024, so all in one L1 set: evicted
// between K-blocks) is prefetched before the k loop, so its loads at the end do not stall. On an
// Ice Lake Xeon at 1 thread, 1024^3 went from 19.3 to 17.2 ms (thread CPU time, best of 3 x 5
// runs, a loaded machine). Below PREFETCH_MIN_B (the network's shapes, whose packed B stays in
// L2) the extra instructions cost more than they save: none. Prefetching changes no arithmetic.
// With B streaming from L3, a piece's A block and the C tiles it accumulates must stay in L2
// across K-blocks beside it: gemm_packed then cuts row blocks of MC_TILES / 2 tiles (1024^3 at
// 1 thread: 16.94 against 17.25 ms, best of 5 x 20 runs in thread CPU time, OpenBLAS 16.55 ms
// in the same rounds; a loaded machine), which also gives 2 threads 44 pieces to share instead
// of 24. The network's shapes keep MC_TILES: at batch 256 the half blocks cut 256 x 256 x 784
// into 9 unequal pieces instead of 8 equal ones.

// acc[R x NR] = sum over k < kc of a[k * a_ks + r * a_rs] * b[k * b_ks + j]: R rows of A (a
// packed panel or a transposed operand used in place, a_rs = 1; or, with RowsApart, rows of a
// row-major A used in place: Note [Unpacked A]) and NR contiguous floats of B. With Prefetch,
// step k also prefetches next_b[k * NR, k * NR + NR): the next packed B micro-panel (Note
// [Prefetch]).
template <int R, bool Prefetch, bool RowsApart>
inline void micro_kernel(std::int64_t kc, const float* a, std::int64_t a_ks, std::int64_t a_rs,
                         const float* b, std::int64_t b_ks, const float* next_b,
                         Batch (&acc)[R][2]) {
  // Unrolled, so that acc stays in registers (a loop here became a memset of acc on the stack).
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = Batch(0.0f);
  for (std::int64_t k = 0; k < kc; ++k) {
    const Batch b0 = Batch::load_unaligned(b);
    const Batch b1 = Batch::load_unaligned(b + W);
    if constexpr (Prefetch) {
      __builtin_prefetch(next_b + k * NR);
      __builtin_prefetch(next_b + k * NR + NR / 2);
    }
    for (int r = 0; r < R; ++r) {
      const Batch ar(RowsApart ? a[r * a_rs] : a[r]);
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
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      float* row = c.p + r * c.rs;
#pragma GCC unroll 2
      for (int v = 0; v < 2; ++v) {
        Batch x = acc[r][v];
        if (load_c) x = Batch::load_unaligned(row + v * W) + x;
        x.store_unaligned(row + v * W);
      }
    }
    return;
  }
  alignas(64) float tmp[R][NR];
#pragma GCC unroll 16
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

// One micro-tile's work: C (R rows x cols) = (load_c ? C : 0) + A panel @ B panel over kc.
struct Tile {
  std::int64_t kc;
  const float* a;  // a[k * a_ks + r * a_rs]
  std::int64_t a_ks;
  std::int64_t a_rs;
  const float* b;  // b[k * b_ks + j]
  std::int64_t b_ks;
  Out c;
  std::int64_t cols;
  bool load_c;
  bool prefetch_c = false;        // prefetch the C tile before the k loop (Note [Prefetch])
  const float* next_b = nullptr;  // a packed [kc x NR] B micro-panel to prefetch, or none
};

// Taken by reference: a by-value Tile (or Out) is copied through the stack with wide moves that
// stall store forwarding on every call.
template <int R>
void tile(const Tile& t) {
  if (t.prefetch_c) {
    for (int r = 0; r < R; ++r) {
      __builtin_prefetch(t.c.at(r, 0), 1);
      __builtin_prefetch(t.c.at(r, t.cols - 1), 1);
    }
  }
  Batch acc[R][2];
  if (t.a_rs != 1) {
    if (t.next_b != nullptr)
      micro_kernel<R, true, true>(t.kc, t.a, t.a_ks, t.a_rs, t.b, t.b_ks, t.next_b, acc);
    else
      micro_kernel<R, false, true>(t.kc, t.a, t.a_ks, t.a_rs, t.b, t.b_ks, nullptr, acc);
  } else if (t.next_b != nullptr) {
    micro_kernel<R, true, false>(t.kc, t.a, t.a_ks, 1, t.b, t.b_ks, t.next_b, acc);
  } else {
    micro_kernel<R, false, false>(t.kc, t.a, t.a_ks, 1, t.b, t.b_ks, nullptr, acc);
  }
  store_tile<R>(acc, t.c, t.cols, t.load_c);
}

using TileFn = void (*)(const Tile&);

template <std::size_t... I>
constexpr std::array<TileFn, sizeof...(I)> make_tiles(std::index_sequence<I...>) {
  return {&tile<static_cast<int>(I) + 1>...};
}
// tiles_fn[R - 1] computes an R-row tile, 1 <= R <= MR.
constexpr auto tiles_fn = make_tiles(std::make_index_sequence<MR>{});

// ---- Packing ----------------------------------------------------------------------------------

// dst[k * dst_ld + j] = src[j * src_ld + k] for j < rows <= 16, k < kn <= 16: one block of a
// transposing pack. Other elements of dst are left alone.
#if defined(__AVX512F__)
// In registers: 16 row loads, 64 shuffles, 16 masked stores.
inline void transpose_block(const float* src, std::int64_t src_ld, int rows, int kn, float* dst,
                            std::int64_t dst_ld) {
  const auto load_mask = static_cast<__mmask16>((1u << kn) - 1u);
  const auto store_mask = static_cast<__mmask16>((1u << rows) - 1u);
  __m512 r[16];
  for (int j = 0; j < 16; ++j)
    r[j] = j < rows ? _mm512_maskz_loadu_ps(load_mask, src + j * src_ld) : _mm512_setzero_ps();
  __m512 t[16], u[16];
  for (int j = 0; j < 16; j += 2) {  // t[j] = a0 b0 a1 b1 | a4 b4 ..., t[j+1] = a2 b2 a3 b3 | ...
    t[j] = _mm512_unpacklo_ps(r[j], r[j + 1]);
    t[j + 1] = _mm512_unpackhi_ps(r[j], r[j + 1]);
  }
  for (int j = 0; j < 16; j += 4) {  // u[j + c] holds column c (+4, +8, +12) of rows j..j+3
    u[j] = _mm512_shuffle_ps(t[j], t[j + 2], 0x44);
    u[j + 1] = _mm512_shuffle_ps(t[j], t[j + 2], 0xEE);
    u[j + 2] = _mm512_shuffle_ps(t[j + 1], t[j + 3], 0x44);
    u[j + 3] = _mm512_shuffle_ps(t[j + 1], t[j + 3], 0xEE);
  }
  for (int c = 0; c < 4; ++c) {
    const __m512 v0 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x88);  // columns c, c+8 of rows 0-7
    const __m512 v1 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xDD);  // columns c+4, c+12
    const __m512 v2 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x88);  // rows 8-15
    const __m512 v3 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xDD);
    const __m512 col[4] = {_mm512_shuffle_f32x4(v0, v2, 0x88), _mm512_shuffle_f32x4(v1, v3, 0x88),
                           _mm512_shuffle_f32x4(v0, v2, 0xDD), _mm512_shuffle_f32x4(v1, v3, 0xDD)};
    for (int q = 0; q < 4; ++q) {
      const int k = c + 4 * q;
      if (k < kn) _mm512_mask_storeu_ps(dst + k * dst_ld, store_mask, col[q]);
    }
  }
}
#else
inline void transpose_block(const float* src, std::int64_t src_ld, int rows, int kn, float* dst,
                            std::int64_t dst_ld) {
  for (int j = 0; j < rows; ++j)
    for (int k = 0; k < kn; ++k) dst[k * dst_ld + j] = src[j * src_ld + k];
}
#endif

// dst[k * dst_ld + j] = src[j * src_ld + k] for j < rows, k < kc, in 16 x 16 blocks.
void transpose_pack(const float* src, std::int64_t src_ld, std::int64_t rows, std::int64_t kc,
                    float* dst, std::int64_t dst_ld) {
  for (std::int64_t j0 = 0; j0 < rows; j0 += 16) {
    const int nj = static_cast<int>(std::min<std::int64_t>(16, rows - j0));
    for (std::int64_t k0 = 0; k0 < kc; k0 += 16) {
      const int nk = static_cast<int>(std::min<std::int64_t>(16, kc - k0));
      transpose_block(src + j0 * src_ld + k0, src_ld, nj, nk, dst + k0 * dst_ld + j0, dst_ld);
    }
  }
}

// dst[k * NR + j] = B(k0 + k, n0 + j) for k < kc, j < cols, zero for cols <= j < NR.
void pack_b_panel(View B, std::int64_t k0, std::int64_t kc, std::int64_t n0, std::int64_t cols,
                  float* dst) {
  if (B.cs == 1) {
    // Two vector copies per row when the panel is full: a memcpy call per 128-byte row cost
    // about 1 cycle per float (timed on an Ice Lake Xeon), as much as the transposing pack.
    if (cols == NR) {
      for (std::int64_t k = 0; k < kc; ++k) {
        const float* src = B.at(k0 + k, n0);
        Batch::load_unaligned(src).store_unaligned(dst + k * NR);
        Batch::load_unaligned(src + W).store_unaligned(dst + k * NR + W);
      }
      return;
    }
    for (std::int64_t k = 0; k < kc; ++k) {
      const float* src = B.at(k0 + k, n0);
      float* d = dst + k * NR;
      std::memcpy(d, src, static_cast<std::size_t>(cols) * sizeof(float));
      std::fill(d + cols, d + NR, 0.0f);
    }
    return;
  }
  // Columns of B are contiguous along k (a transposed operand): transpose.
  assert(B.rs == 1);
  if (cols < NR) std::fill(dst, dst + kc * NR, 0.0f);
  transpose_pack(B.at(k0, n0), B.cs, cols, kc, dst, NR);
}

// dst[k * MR + i] = A(m0 + i, k0 + k) for k < kc, i < rows (rows <= MR).
void pack_a_panel(View A, std::int64_t m0, std::int64_t rows, std::int64_t k0, std::int64_t kc,
                  float* dst) {
  if (A.rs == 1) {
    for (std::int64_t k = 0; k < kc; ++k)
      std::memcpy(dst + k * MR, A.at(m0, k0 + k), static_cast<std::size_t>(rows) * sizeof(float));
    return;
  }
  assert(A.cs == 1);  // every view has one unit stride (see gemm())
  transpose_pack(A.at(m0, k0), A.rs, rows, kc, dst, MR);
}

// ---- Paths ------------------------------------------------------------------------------------

// Whether the first lines of MR rows of floats, rs apart, fall in MR different sets of a 64-set L1
// (32 KiB 8-way or 48 KiB 12-way, 64-byte lines): then the rows of an unpacked A tile do not
// evict each other (Note [Unpacked A]). False for rs a multiple of 1024 (all in one set).
bool rows_in_distinct_sets(std::int64_t rs) {
  std::array<bool, 64> used{};
  for (std::uint64_t r = 0; r < static_cast<std::uint64_t>(MR); ++r) {
    const std::uint64_t set = r * static_cast<std::uint64_t>(rs) / 16 % 64;
    if (used[set]) return false;
    used[set] = true;
  }
  return true;
}

// The general path, in two parallel steps per chunk of the operands:
// 1. Pack: every MR-row tile of A into [K x MR] and every NR-column panel of B into [K x NR]
//    (k-major, so the micro-kernel reads both with unit stride), each element once per call.
// 2. Multiply: the product is cut into pieces of at most MC_TILES tiles x NC_PANELS panels
//    (cut by the shape alone). A piece runs K-block by K-block; within one, each B
//    micro-panel (kc x NR) stays in L1 while the piece's A micro-panels (MR x kc each, the block
//    at most MC_TILES * MR x kc) stream through it from L2.
// Why a piece is a block of rows and not one tile row: the first version made a piece of one
// MR-row tile by all of N, so every 12 rows of C streamed all of packed B (4 MiB at 1024^3,
// beyond L2) from L3: 1024^3 ran at 0.74x OpenBLAS on an Ice Lake Xeon at 1 thread and 0.60x
// at 2 (issue 22; both threads streaming B from the shared L3), while the shapes whose packed B
// fits in L2 ran at or above OpenBLAS. A block of MC_TILES tiles reads each B micro-panel from
// L3 once for MC_TILES * MR rows. Packing A once per call (not per piece) lets pieces be cut
// along N too without packing A again.
void gemm_packed(View A, View B, Out C, std::int64_t M, std::int64_t N, std::int64_t K,
                 bool accumulate) {
  const std::int64_t nkb = ceil_div(K, KC_MAX);
  const std::int64_t kc_step = ceil_div(K, nkb);
  const std::int64_t panels = ceil_div(N, NR);
  const std::int64_t m_tiles = ceil_div(M, MR);
  // Tile t holds rows [tile_row(t), tile_row(t + 1)): M / m_tiles rounded down or up, at most MR
  // (Note [Balanced tiles]).
  const auto tile_row = [M, m_tiles](std::int64_t t) {
    return t * M / m_tiles;
  };
  // Operands are packed PACK_MAX floats at a time at most (each, all of it for the network's
  // shapes): B's panels [c0, c0 + b_chunk), A's tiles [a0, a0 + a_chunk).
  const std::int64_t b_chunk = std::clamp<std::int64_t>(PACK_MAX / (K * NR), 1, panels);
  // A is packed unless its rows are read in place (Note [Unpacked A]).
  const bool pack_a = !(A.cs == 1 && rows_in_distinct_sets(A.rs));
  const std::int64_t a_chunk =
      pack_a ? std::clamp<std::int64_t>(PACK_MAX / (K * MR), 1, m_tiles) : m_tiles;
  float* bp =
      b_scratch().get(static_cast<std::size_t>((b_chunk * NR + (pack_a ? a_chunk * MR : 0)) * K));
  float* ap = bp + b_chunk * NR * K;

  for (std::int64_t c0 = 0; c0 < panels; c0 += b_chunk) {
    const std::int64_t c1 = std::min(panels, c0 + b_chunk);
    for (std::int64_t a0 = 0; a0 < m_tiles; a0 += a_chunk) {
      const std::int64_t a1 = std::min(m_tiles, a0 + a_chunk);
      // The pieces of step 2, row blocks x panel groups; the cut depends on the shape alone.
      const std::int64_t tiles = a1 - a0, group_panels = c1 - c0;
      // Packed B read from L3 (Note [Prefetch]): row blocks of half the tiles.
      const bool prefetch = K * group_panels * NR > PREFETCH_MIN_B;
      std::int64_t row_blocks = ceil_div(tiles, prefetch ? MC_TILES / 2 : MC_TILES);
      // An A read in place of at most 2 * MC_TILES tiles is one row block (Note [Own B panels]).
      if (!pack_a && !prefetch && tiles <= 2 * MC_TILES) row_blocks = 1;
      std::int64_t groups = ceil_div(group_panels, NC_PANELS);
      if (row_blocks * groups < MIN_PIECES)
        groups = std::min(group_panels, ceil_div(MIN_PIECES, row_blocks));
      if (row_blocks * groups < MIN_PIECES)
        row_blocks = std::min(tiles, ceil_div(MIN_PIECES, groups));
      // ...but no piece under MIN_FLOPS_PER_PIECE: fewer groups first, then fewer row blocks.
      const double flops = 2.0 * static_cast<double>(tiles * MR * group_panels * NR * K);
      const auto max_pieces =
          std::max<std::int64_t>(1, static_cast<std::int64_t>(flops / MIN_FLOPS_PER_PIECE));
      while (row_blocks * groups > max_pieces && groups > 1) --groups;
      while (row_blocks * groups > max_pieces && row_blocks > 1) --row_blocks;
      // One row block uses each B panel in one piece: the piece packs it (Note [Own B panels]).
      const bool own_b = row_blocks == 1;
      // Step 1: units [0, a_units) are A's tiles, then (first A chunk only, unless the pieces pack
      // their own) B's panels.
      const std::int64_t a_units = pack_a ? a1 - a0 : 0;
      const std::int64_t b_units = a0 == 0 && !own_b ? c1 - c0 : 0;
      const std::int64_t units = a_units + b_units;
      parallel_for(0, units, grain_for(units, 64.0 * static_cast<double>(K * MR)),
                   [&](std::int64_t u0, std::int64_t u1) {
                     for (std::int64_t u = u0; u < u1; ++u) {
                       if (u < a_units) {
                         const std::int64_t m0 = tile_row(a0 + u);
                         pack_a_panel(A, m0, tile_row(a0 + u + 1) - m0, 0, K, ap + u * K * MR);
                       } else {
                         const std::int64_t p = c0 + u - a_units;
                         const std::int64_t n0 = p * NR;
                         pack_b_panel(B, 0, K, n0, std::min<std::int64_t>(NR, N - n0),
                                      bp + (p - c0) * K * NR);
                       }
                     }
                   });
      // Step 2: the pieces.
      parallel_for(0, row_blocks * groups, 1, [&](std::int64_t q0, std::int64_t q1) {
        for (std::int64_t q = q0; q < q1; ++q) {
          const std::int64_t r = q / groups, g = q % groups;
          const std::int64_t t0 = a0 + r * tiles / row_blocks;
          const std::int64_t t1 = a0 + (r + 1) * tiles / row_blocks;
          const std::int64_t p0 = c0 + g * group_panels / groups;
          const std::int64_t p1 = c0 + (g + 1) * group_panels / groups;
          float* own = nullptr;
          if (own_b) {
            own = a_scratch().get(static_cast<std::size_t>((p1 - p0) * K * NR));
            for (std::int64_t p = p0; p < p1; ++p)
              pack_b_panel(B, 0, K, p * NR, std::min<std::int64_t>(NR, N - p * NR),
                           own + (p - p0) * K * NR);
          }
          const auto panel = [&](std::int64_t p) {
            return own_b ? own + (p - p0) * K * NR : bp + (p - c0) * K * NR;
          };
          for (std::int64_t kb = 0; kb < nkb; ++kb) {
            const std::int64_t k0 = kb * kc_step;
            const std::int64_t kc = std::min(kc_step, K - k0);
            const bool load_c = accumulate || kb > 0;
            for (std::int64_t p = p0; p < p1; ++p) {
              const std::int64_t n0 = p * NR;
              const std::int64_t cols = std::min<std::int64_t>(NR, N - n0);
              const float* b = panel(p) + k0 * NR;
              // The B micro-panel after this one: the next panel's, or (after the last panel)
              // the first panel's of the next K-block if that is as deep as this one (so the
              // prefetched kc x NR floats lie inside it).
              const float* next_b = nullptr;
              if (prefetch && p + 1 < p1)
                next_b = b + K * NR;
              else if (prefetch && k0 + 2 * kc_step <= K)
                next_b = panel(p0) + (k0 + kc_step) * NR;
              for (std::int64_t t = t0; t < t1; ++t) {
                const std::int64_t m0 = tile_row(t);
                const std::int64_t rows = tile_row(t + 1) - m0;
                const Tile tile{kc,
                                pack_a ? ap + (t - a0) * K * MR + k0 * MR : A.at(m0, k0),
                                pack_a ? MR : 1,
                                pack_a ? 1 : A.rs,
                                b,
                                NR,
                                C.sub(m0, n0),
                                cols,
                                load_c,
                                prefetch,
                                t + 1 == t1 ? next_b : nullptr};
                tiles_fn[rows - 1](tile);
              }
            }
          }
        }
      });
    }
  }
}

// The direct path for M <= MR with A's rows contiguous along m (a transposed operand, as in
// dW = g^T x) and B's rows contiguous along n: no packing (but for a ragged last panel). K is cut
// into blocks (by K alone: Note [Determinism]); each (K-block, NR-column panel) unit sweeps its
// k range with C in registers. Block 0 writes C, block j > 0 a partial product P_j, and then
// C += P_1, C += P_2, ... in order: the same c = c + acc sequence as the packed path.
// Why blocks of K: in dW = g^T x the batch rows of x were written by the threads that gathered
// and multiplied them forward, each into its own core's cache; splitting by column panels made
// every thread read the other half of x from the other core (the softmax-regression epoch at 2
// threads spent 9 ms more in dW than with K-blocks). Splitting by batch rows keeps reads local.
void gemm_direct(View A, View B, Out C, std::int64_t M, std::int64_t N, std::int64_t K,
                 bool accumulate) {
  // At most DIRECT_MAX_BLOCKS blocks of at least DIRECT_KC: a few partials of M x N floats.
  const std::int64_t kb = std::max(DIRECT_KC, ceil_div(K, DIRECT_MAX_BLOCKS));
  const std::int64_t blocks = ceil_div(K, kb);
  const std::int64_t panels = ceil_div(N, NR);
  const double unit_flops = 2.0 * static_cast<double>(M * NR * kb);
  float* partials = b_scratch().get(static_cast<std::size_t>((blocks - 1) * M * N));
  const std::int64_t units = blocks * panels;
  parallel_for(0, units, grain_for(units, unit_flops), [&](std::int64_t u0, std::int64_t u1) {
    for (std::int64_t u = u0; u < u1; ++u) {
      const std::int64_t block = u / panels;
      const std::int64_t k0 = block * kb;
      const std::int64_t kc = std::min(kb, K - k0);
      const std::int64_t n0 = (u % panels) * NR;
      const std::int64_t cols = std::min<std::int64_t>(NR, N - n0);
      const float* b = B.at(k0, n0);
      std::int64_t b_ks = B.rs;
      if (cols < NR) {
        float* bp = a_scratch().get(static_cast<std::size_t>(kb * NR));
        pack_b_panel(B, k0, kc, n0, cols, bp);
        b = bp;
        b_ks = NR;
      }
      const Out c = block == 0 ? C.sub(0, n0) : Out{partials + (block - 1) * M * N + n0, N, 1};
      tiles_fn[M - 1]({kc, A.at(0, k0), A.cs, 1, b, b_ks, c, cols, block == 0 && accumulate});
    }
  });
  if (blocks == 1) return;
  parallel_for(0, N, grain_for(N, static_cast<double>(M * blocks)),
               [&](std::int64_t n0, std::int64_t n1) {
                 for (std::int64_t m = 0; m < M; ++m) {
                   for (std::int64_t j = 1; j < blocks; ++j) {
                     const float* p = partials + (j - 1) * M * N + m * N;
                     for (std::int64_t n = n0; n < n1; ++n) *C.at(m, n) += p[n];
                   }
                 }
               });
}

// xsimd::haddp(rows)[l] is the sum of rows[order[l]]. xsimd 8.1 documents order[l] = l but its
// AVX-512 version returns them permuted (0 1 4 5 2 3 6 7 ...): ask it once.
std::array<int, W> find_haddp_order() {
  Batch rows[W];
  for (int i = 0; i < W; ++i) rows[i] = Batch(static_cast<float>(i));
  alignas(64) float sums[W];
  xsimd::haddp(rows).store_aligned(sums);
  std::array<int, W> order{};
  for (int l = 0; l < W; ++l) order[l] = static_cast<int>(sums[l]) / W;
  return order;
}

// The dot path for N <= 16 with rows of A and columns of B both contiguous along k (Linear's
// forward x W^T with few outputs): each output is a dot product. A tile is TR rows by all N
// columns, TR * N vector accumulators that stay in registers through the whole of K (each lane
// an FMA chain in k order), reduced together by xsimd::haddp at the end (no per-output
// horizontal sums). Per step of k, N + TR loads feed TR * N FMAs, and B's N columns (31 KiB for
// Linear(784, 10)) stay in L1 while A's rows stream through once. A row of a tile past M repeats
// the last valid one and is discarded, so every stored element goes through the same operations
// wherever it sits (Note [Determinism]).
constexpr std::int64_t DOT_MAX_N = 16;
// Two rows while 2 N accumulators leave registers for the loads (of 32 with AVX-512, 16 else).
constexpr int dot_rows(std::int64_t n) {
  return n <= (W >= 16 ? 12 : 6) ? 2 : 1;
}

template <int TC>
void dot_row_tiles(View A, View B, Out C, std::int64_t M, std::int64_t K, bool accumulate,
                   std::int64_t r0, std::int64_t r1) {
  constexpr int TR = dot_rows(TC), T = TR * TC;
  constexpr int TP = (T + W - 1) / W * W;  // haddp reduces W accumulators at a time
  static const std::array<int, W> haddp_order = find_haddp_order();
  const std::int64_t kv = K - K % W;  // k < kv in vectors, the rest scalar
  const float* b[TC];
  for (int j = 0; j < TC; ++j) b[j] = B.at(0, j);
  for (std::int64_t rt = r0; rt < r1; ++rt) {
    const float* a[TR];
    for (int i = 0; i < TR; ++i) a[i] = A.at(std::min(rt * TR + i, M - 1), 0);
    // Zeroed unrolled: as a loop this was a memset of acc on the stack for every tile, then the
    // loads of its zeros into the registers.
    Batch acc[TP];
#pragma GCC unroll 32
    for (int t = 0; t < TP; ++t) acc[t] = Batch(0.0f);
    for (std::int64_t k = 0; k < kv; k += W) {
      Batch av[TR];
      for (int i = 0; i < TR; ++i) av[i] = Batch::load_unaligned(a[i] + k);
      for (int j = 0; j < TC; ++j) {
        const Batch bv = Batch::load_unaligned(b[j] + k);
        for (int i = 0; i < TR; ++i) acc[i * TC + j] = xsimd::fma(av[i], bv, acc[i * TC + j]);
      }
    }
    alignas(64) float sums[TP];
    for (int g = 0; g < TP; g += W) {
      alignas(64) float lane_sums[W];
      xsimd::haddp(acc + g).store_aligned(lane_sums);
      for (int l = 0; l < W; ++l) sums[g + haddp_order[l]] = lane_sums[l];
    }
    const std::int64_t rows = std::min<std::int64_t>(TR, M - rt * TR);
    for (std::int64_t i = 0; i < rows; ++i) {
      for (int j = 0; j < TC; ++j) {
        float s = sums[i * TC + j];
        for (std::int64_t k = kv; k < K; ++k) s += a[i][k] * b[j][k];
        float& d = *C.at(rt * TR + i, j);
        d = accumulate ? d + s : s;
      }
    }
  }
}

using DotFn = void (*)(View, View, Out, std::int64_t, std::int64_t, bool, std::int64_t,
                       std::int64_t);
template <std::size_t... I>
constexpr std::array<DotFn, sizeof...(I)> make_dot_kernels(std::index_sequence<I...>) {
  return {&dot_row_tiles<static_cast<int>(I) + 1>...};
}
// dot_kernels[N - 1] handles N columns, 1 <= N <= DOT_MAX_N.
constexpr auto dot_kernels = make_dot_kernels(std::make_index_sequence<DOT_MAX_N>{});

void gemm_dot(View A, View B, Out C, std::int64_t M, std::int64_t N, std::int64_t K,
              bool accumulate) {
  const int rows = dot_rows(N);
  const std::int64_t row_tiles = ceil_div(M, rows);
  const double tile_flops = 2.0 * rows * static_cast<double>(N * K);
  parallel_for(0, row_tiles, grain_for(row_tiles, tile_flops),
               [&](std::int64_t r0, std::int64_t r1) {
                 dot_kernels[N - 1](A, B, C, M, K, accumulate, r0, r1);
               });
}

// Picks the path for C[M,N] (+)= A[M,K] @ B[K,N] given as views; also tried on the transposed
// problem C^T = B^T A^T.
bool try_skinny(View A, View B, Out C, std::int64_t M, std::int64_t N, std::int64_t K,
                bool accumulate) {
  if (N <= DOT_MAX_N && A.cs == 1 && B.rs == 1) {
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
    // Rows in parallel, a piece at least BIAS_GRAIN floats (on one thread, the MLP's 256 x 256
    // bias add was 0.5% of the 1-thread epoch that did not scale).
    constexpr std::int64_t BIAS_GRAIN = std::int64_t{1} << 14;
    parallel_for(0, M, std::max<std::int64_t>(1, BIAS_GRAIN / N),
                 [&](std::int64_t m0, std::int64_t m1) {
                   for (std::int64_t m = m0; m < m1; ++m) {
                     float* row = c.at(m, 0);
                     std::int64_t n = 0;
                     for (; n + W <= N; n += W)
                       (Batch::load_unaligned(row + n) + Batch::load_unaligned(bias + n))
                           .store_unaligned(row + n);
                     for (; n < N; ++n) row[n] += bias[n];
                   }
                 });
  }
}

}  // namespace EMBER_ISA
}  // namespace ember::kernels
