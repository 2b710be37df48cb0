// The DataLoader's batch kernel: gather rows of uint8 images and scale them to float in [0, 1].
#pragma once

#include <cstdint>

namespace ember::datasets::kernels {

// out[b, j] = float(images[index[b], j]) / 255.0f for b < count, j < row_size (D).
// images: uint8 [N, D] rows; index: `count` row numbers in [0, N); out: float [count, D].
// Exactly a division, as torchvision's ToTensor (x * (1.0f / 255) differs in the last bit for
// some bytes). Vectorized by the compiler (Note [uint8 -> float without xsimd]); rows split over
// the threads.
void gather_scale(const std::uint8_t* images, std::int64_t row_size, const std::int64_t* index,
                  std::int64_t count, float* out);

// The plain scalar reference the tests compare against.
void gather_scale_reference(const std::uint8_t* images, std::int64_t row_size,
                            const std::int64_t* index, std::int64_t count, float* out);

}  // namespace ember::datasets::kernels
