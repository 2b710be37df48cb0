// Element types and shapes.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace ember {

// float32 for math, int64 for class indices (and counts), uint8 for raw pixels and masks.
enum class Dtype : std::uint8_t { Float32, Int64, UInt8 };
inline constexpr Dtype kFloat32 = Dtype::Float32;
inline constexpr Dtype kInt64 = Dtype::Int64;
inline constexpr Dtype kUInt8 = Dtype::UInt8;

const char* dtype_name(Dtype dtype);  // "float32", "int64", "uint8"
std::size_t element_size(Dtype dtype);
std::ostream& operator<<(std::ostream& out, Dtype dtype);

template <class T>
constexpr Dtype dtype_of();
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

// Sizes or strides, outermost dim first.
using Shape = std::vector<std::int64_t>;
std::string to_string(const Shape& shape);  // "[256, 784]"
std::int64_t numel_of(const Shape& shape);  // throws if a size is negative or it overflows
// A dim in [-rank, rank) made non-negative; throws naming `op` when out of range.
std::int64_t wrap_dim(std::int64_t dim, std::int64_t rank, const char* op);

}  // namespace ember
