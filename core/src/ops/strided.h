// Walking tensors of any strides: the loop under every elementwise op, copy and reduction.
#pragma once

#include <array>
#include <cstdint>

#include <ember/core/dtype.h>

namespace ember::detail {

// Visits the elements of a `sizes`-shaped index space in row-major order, a row at a time: calls
// row(offsets, length, inner_strides) where offsets[k] is operand k's element offset at the start
// of the row and inner_strides[k] its stride along the row. Operands are broadcast by giving them
// stride 0. Rows are as long as the strides allow: dims of size 1 are dropped, and a dim is merged
// into the next one when every operand steps over it as over the whole next dim (so a contiguous
// [256, 10] is one row of 2560, not 256 rows of 10). A space with no dims left is one row of 1.
template <std::size_t N, class Row>
void for_each_row(const Shape& sizes, const std::array<const Shape*, N>& strides,
                  const std::array<std::int64_t, N>& base, const Row& row) {
  for (auto s : sizes)
    if (s == 0) return;
  Shape dims;
  std::array<Shape, N> steps;
  for (std::size_t d = 0; d < sizes.size(); ++d) {
    if (sizes[d] == 1) continue;
    bool merge = !dims.empty();
    for (std::size_t k = 0; k < N && merge; ++k)
      merge = steps[k].back() == (*strides[k])[d] * sizes[d];
    if (merge) {
      dims.back() *= sizes[d];
      for (std::size_t k = 0; k < N; ++k) steps[k].back() = (*strides[k])[d];
    } else {
      dims.push_back(sizes[d]);
      for (std::size_t k = 0; k < N; ++k) steps[k].push_back((*strides[k])[d]);
    }
  }
  const std::size_t rank = dims.size();
  std::array<std::int64_t, N> inner{};
  std::int64_t length = 1;
  if (rank > 0) {
    length = dims[rank - 1];
    for (std::size_t k = 0; k < N; ++k) inner[k] = steps[k][rank - 1];
  }
  std::array<std::int64_t, N> offsets = base;
  Shape index(rank > 0 ? rank - 1 : 0, 0);
  while (true) {
    row(offsets, length, inner);
    // Advance the odometer over the outer dims.
    std::int64_t d = static_cast<std::int64_t>(rank) - 2;
    for (; d >= 0; --d) {
      const auto ud = static_cast<std::size_t>(d);
      ++index[ud];
      for (std::size_t k = 0; k < N; ++k) offsets[k] += steps[k][ud];
      if (index[ud] < dims[ud]) break;
      for (std::size_t k = 0; k < N; ++k) offsets[k] -= steps[k][ud] * dims[ud];
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
