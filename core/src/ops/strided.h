// Walking tensors of any strides: the loop under every elementwise op, copy and reduction.
#pragma once

#include <array>
#include <cstdint>

#include <ember/core/dtype.h>

namespace ember::detail {

// Visits the rows of a `sizes`-shaped index space: for each index of all dims but the last,
// calls row(offsets, length, inner_strides) where offsets[k] is operand k's element offset at the
// start of the row and inner_strides[k] its stride along the last dim. A 0-d space is one row of
// length 1. Operands are broadcast by giving them stride 0.
template <std::size_t N, class Row>
void for_each_row(const Shape& sizes, const std::array<const Shape*, N>& strides,
                  const std::array<std::int64_t, N>& base, const Row& row) {
  const std::size_t rank = sizes.size();
  std::array<std::int64_t, N> inner{};
  std::int64_t length = 1;
  if (rank > 0) {
    length = sizes[rank - 1];
    for (std::size_t k = 0; k < N; ++k) inner[k] = (*strides[k])[rank - 1];
  }
  for (auto s : sizes)
    if (s == 0) return;
  std::array<std::int64_t, N> offsets = base;
  Shape index(rank > 0 ? rank - 1 : 0, 0);
  while (true) {
    row(offsets, length, inner);
    // Advance the odometer over the outer dims.
    std::int64_t d = static_cast<std::int64_t>(rank) - 2;
    for (; d >= 0; --d) {
      const auto ud = static_cast<std::size_t>(d);
      ++index[ud];
      for (std::size_t k = 0; k < N; ++k) offsets[k] += (*strides[k])[ud];
      if (index[ud] < sizes[ud]) break;
      for (std::size_t k = 0; k < N; ++k) offsets[k] -= (*strides[k])[ud] * sizes[ud];
      index[ud] = 0;
    }
    if (d < 0) return;
  }
}

// Strides of a contiguous row-major tensor of this shape.
Shape contiguous_strides(const Shape& sizes);

// Strides that make `strides` (of a tensor of shape `sizes`) read as `out_sizes` under
// broadcasting: 0 along broadcast dims. `out_sizes` has at least as many dims.
Shape broadcast_strides(const Shape& sizes, const Shape& strides, const Shape& out_sizes);

}  // namespace ember::detail
