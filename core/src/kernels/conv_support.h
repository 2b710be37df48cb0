// What the convolution kernels share (conv_direct.cpp, conv_weight_grad.cpp, conv_input_grad.cpp):
// vector types, register counts, aligned and per-thread buffers, the zero-padded copy of an image,
// the transpose of planes into vectors (and, through lanes.h, the masked loads and stores of a
// row's first floats). Compiled into each kernel file's per-instruction-set build, so everything is
// in that build's namespace (Note [ISA dispatch] in kernels/isa.h): no standard containers or
// out-of-line standard algorithms.
#pragma once

#include "kernels/simd.h"  // first: see the note on GCC 12 there

#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <new>

#include "kernels/isa.h"
#include "kernels/lanes.h"  // store_first

namespace ember::kernels::EMBER_ISA {

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
inline PadScratch& pad_scratch(int which = 0) {
  thread_local PadScratch scratch[3];
  return scratch[which];
}

// Where one image's source planes go in the zero-padded buffer: plane ci of the buffer holds
// image plane ci (H x W, rows `rs` floats apart, planes `cs`) at row `top`, column `left`.
struct Placement {
  std::int64_t C, H, W, cs, rs, top, left;
};

// Copies the image into buf; `zeroed`: buf already holds this placement's zeros (a previous
// image of the same call), so only the image's cells are written. Rows are short (LeNet's: 10
// to 28 floats): a plain loop, not a call to memcpy per row.
inline void fill_padded(const Placement& pl, const float* img, float* buf, std::int64_t Hs,
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

#if defined(__AVX2__)
// r[i][j] <- r[j][i]: an 8 x 8 transpose in registers (unpacks, shuffles, then 128-bit halves).
inline void transpose8x8(__m256 (&r)[8]) {
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
  r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
  r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
  r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
  r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
  r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
  r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
  r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
  r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}
#endif

// dst[p B + j] = src[j stride + p] for p < plane, j < lanes, and 0 for lanes <= j < B: `lanes`
// planes of `plane` floats (stride floats apart) as vectors of B lanes, one per position. Eight
// positions and eight lanes at a time in registers where B is a multiple of 8 and AVX is there
// (LeNet's conv1: 6 planes of 784; conv2: 16 planes of 100), else lane by lane.
template <std::int64_t B>
void transpose_planes(const float* src, std::int64_t stride, std::int64_t plane, std::int64_t lanes,
                      float* dst) {
  std::int64_t p0 = 0;
#if defined(__AVX2__)
  if constexpr (B % 8 == 0) {
    for (; p0 + 8 <= plane; p0 += 8) {
      for (std::int64_t j0 = 0; j0 < B; j0 += 8) {
        __m256 r[8];
        for (std::int64_t j = 0; j < 8; ++j)
          r[j] =
              j0 + j < lanes ? _mm256_loadu_ps(src + (j0 + j) * stride + p0) : _mm256_setzero_ps();
        transpose8x8(r);
        for (std::int64_t i = 0; i < 8; ++i) _mm256_store_ps(dst + (p0 + i) * B + j0, r[i]);
      }
    }
  }
#endif
  for (std::int64_t j = 0; j < B; ++j) {
    if (j < lanes) {
      for (std::int64_t p = p0; p < plane; ++p) dst[p * B + j] = src[j * stride + p];
    } else {
      for (std::int64_t p = p0; p < plane; ++p) dst[p * B + j] = 0.0f;
    }
  }
}

// The inverse: dst[j stride + p] = src[p B + j] for p < plane, j < lanes (the other lanes of src
// are not read back).
template <std::int64_t B>
void untranspose_planes(const float* src, std::int64_t plane, std::int64_t lanes, float* dst,
                        std::int64_t stride) {
  std::int64_t p0 = 0;
#if defined(__AVX2__)
  if constexpr (B % 8 == 0) {
    for (; p0 + 8 <= plane; p0 += 8) {
      for (std::int64_t j0 = 0; j0 < lanes; j0 += 8) {
        __m256 r[8];
        for (std::int64_t i = 0; i < 8; ++i) r[i] = _mm256_load_ps(src + (p0 + i) * B + j0);
        transpose8x8(r);
        for (std::int64_t j = 0; j < 8 && j0 + j < lanes; ++j)
          _mm256_storeu_ps(dst + (j0 + j) * stride + p0, r[j]);
      }
    }
  }
#endif
  for (std::int64_t j = 0; j < lanes; ++j)
    for (std::int64_t p = p0; p < plane; ++p) dst[j * stride + p] = src[p * B + j];
}

}  // namespace ember::kernels::EMBER_ISA
