/// \file
/// Element types (Dtype) and shapes (Shape).
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace ember {

/// The element type of a tensor: float32 for math, int64 for class indices (and counts), uint8 for
/// raw pixels and masks.
enum class Dtype : std::uint8_t {
  Float32,  ///< 32-bit IEEE float (`float`); the only dtype autograd differentiates.
  Int64,    ///< 64-bit signed integer (`std::int64_t`): class labels, indices, counts.
  UInt8     ///< 8-bit unsigned integer (`std::uint8_t`): raw pixels and comparison masks.
};
inline constexpr Dtype kFloat32 = Dtype::Float32;  ///< Shorthand for Dtype::Float32.
inline constexpr Dtype kInt64 = Dtype::Int64;      ///< Shorthand for Dtype::Int64.
inline constexpr Dtype kUInt8 = Dtype::UInt8;      ///< Shorthand for Dtype::UInt8.

/// The name of `dtype` as ember prints it: "float32", "int64" or "uint8".
const char* dtype_name(Dtype dtype);
/// The bytes of one element of `dtype`: 4, 8 or 1.
std::size_t element_size(Dtype dtype);
/// Prints dtype_name(dtype).
std::ostream& operator<<(std::ostream& out, Dtype dtype);

/// The Dtype of the C++ element type `T`: `float`, `std::int64_t` or `std::uint8_t` (declared
/// only for those three, so any other `T` fails to compile).
template <class T>
constexpr Dtype dtype_of();
/// \cond INTERNAL
// The three specializations behind dtype_of.
template <>
constexpr Dtype dtype_of<float>() {
  return kFloat32;
}
template <>
constexpr Dtype dtype_of<std::int64_t>() {
  return kInt64;
}
template <>
constexpr Dtype dtype_of<std::uint8_t>() {
  return kUInt8;
}
/// \endcond

/// Sizes or strides, outermost dim first.
///
/// A std::vector in all but name: its own type so that `std::cout << t.sizes()` finds the printer
/// below (as libtorch's IntArrayRef prints). Constructs from braces: `Shape{256, 784}`.
struct Shape : std::vector<std::int64_t> {
  using std::vector<std::int64_t>::vector;
  /// An empty shape: the shape of a 0-d tensor (one element).
  Shape() = default;
  /// Takes over the sizes in `v` (implicit, so a std::vector converts where a Shape is expected).
  Shape(std::vector<std::int64_t> v) : std::vector<std::int64_t>(std::move(v)) {}  // NOLINT
};
/// `shape` as text: "[256, 784]" ("[]" for a 0-d shape).
std::string to_string(const Shape& shape);
/// Prints to_string(shape): `[256, 784]`.
std::ostream& operator<<(std::ostream& out, const Shape& shape);
/// The number of elements of `shape`: the product of its sizes (1 for `[]`).
/// \throws ember::Error when a size is negative or the product overflows int64.
std::int64_t numel_of(const Shape& shape);
/// A dim in `[-rank, rank)` made non-negative (negative dims count from the end, as in PyTorch; a
/// 0-d tensor accepts -1 and 0).
/// \throws ember::Error naming `op` when `dim` is out of range.
std::int64_t wrap_dim(std::int64_t dim, std::int64_t rank, const char* op);

}  // namespace ember
