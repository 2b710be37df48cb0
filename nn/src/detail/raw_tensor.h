// Raw element access for nn's in-place fills (init): no graph, any strides.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include <ember/core/error.h>
#include <ember/core/tensor.h>

namespace ember::nn::detail {

// Calls fn(float& element) on every element of a float32 tensor in row-major order, for any
// strides: one in-place write, so one version bump (Tensor::mutable_data_ptr, as PyTorch's fill_).
template <class Fn>
void for_each_float(const Tensor& t, const char* op, Fn fn) {
  EMBER_CHECK(t.defined(), op, ": the tensor is undefined");
  EMBER_CHECK(t.dtype() == kFloat32, op, ": expected a float32 tensor, got ",
              dtype_name(t.dtype()));
  float* base = t.mutable_data_ptr<float>();
  const std::int64_t n = t.numel();
  if (n > 0) {
    if (t.is_contiguous()) {
      for (std::int64_t i = 0; i < n; ++i) fn(base[i]);
    } else {
      const Shape& sizes = t.sizes();
      const Shape& strides = t.strides();
      const std::size_t rank = sizes.size();
      std::vector<std::int64_t> index(rank, 0);
      std::int64_t offset = 0;
      for (std::int64_t i = 0; i < n; ++i) {
        fn(base[offset]);
        // Odometer increment from the last dim.
        for (std::size_t d = rank; d-- > 0;) {
          if (++index[d] < sizes[d]) {
            offset += strides[d];
            break;
          }
          offset -= strides[d] * (sizes[d] - 1);
          index[d] = 0;
        }
      }
    }
  }
}

}  // namespace ember::nn::detail
