#include "kernels/gather.h"

namespace ember::datasets::kernels {

// Note [uint8 -> float without xsimd]: xsimd 8.1 has no uint8 -> float widening; its converting
// load (batch<float>::load_unaligned(const uint8_t*)) goes element by element through a buffer
// and measured 2.8x slower than the plain loop below, which GCC and Clang vectorize at -O3
// (vpmovzxbd, vcvtdq2ps, vdivps on x86; the same shape on NEON) for whatever SIMD width the build
// targets. Division, not multiplication by 1/255: x * (1.0f / 255) differs from x / 255.0f in the
// last bit for some bytes, and torchvision's ToTensor divides. IEEE division is exact-rounded in
// every lane, so the vector and scalar paths agree bitwise.
namespace {
inline void scale_row(const std::uint8_t* __restrict src, std::int64_t n, float* __restrict dst) {
  for (std::int64_t j = 0; j < n; ++j) dst[j] = static_cast<float>(src[j]) / 255.0f;
}
}  // namespace

void gather_scale(const std::uint8_t* images, std::int64_t row_size, const std::int64_t* index,
                  std::int64_t count, float* out) {
  // One thread on purpose: this is memory-bound and one core already moves ~11 GB/s (a shuffled
  // Fashion-MNIST epoch in ~21 ms, bench_data), while splitting a 256-row batch over OpenMP
  // threads measured 2-14x slower whenever the other core was busy (e.g. with the training step).
  for (std::int64_t b = 0; b < count; ++b) {
    scale_row(images + index[b] * row_size, row_size, out + b * row_size);
  }
}

void gather_scale_reference(const std::uint8_t* images, std::int64_t row_size,
                            const std::int64_t* index, std::int64_t count, float* out) {
  for (std::int64_t b = 0; b < count; ++b) {
    for (std::int64_t j = 0; j < row_size; ++j) {
      out[b * row_size + j] = static_cast<float>(images[index[b] * row_size + j]) / 255.0f;
    }
  }
}

}  // namespace ember::datasets::kernels
