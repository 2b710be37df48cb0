/// \file
/// Checked arithmetic for sizes, strides, offsets and byte counts, and checked conversion of
/// numbers into element types.
///
/// Every such computation in ember goes through these: a hostile shape or value throws
/// ember::Error naming the op and the shape, never wraps around or hits undefined behaviour.
#pragma once

#include <cstdint>

#include <ember/core/dtype.h>
#include <ember/core/scalar.h>

namespace ember {

/// `a * b`, or `a + b`, checked for int64 overflow.
/// \throws ember::Error "<op>: integer overflow: <a> * <b> does not fit in int64 (shape [..])"
///         naming `shape`, the shape the op was working on, when the result overflows.
/// \{
std::int64_t checked_mul(std::int64_t a, std::int64_t b, const char* op, const Shape& shape);
std::int64_t checked_add(std::int64_t a, std::int64_t b, const char* op, const Shape& shape);
/// \}

/// The number of elements of `shape`.
/// \throws ember::Error naming `op` if a size is negative or the product does not fit in int64.
std::int64_t checked_numel(const Shape& shape, const char* op);

/// The bytes of a contiguous `shape` of `dtype` (numel * element size).
/// \throws ember::Error naming `op` unless it fits in int64 (so that every byte offset into the
///         storage does too).
std::int64_t checked_nbytes(const Shape& shape, Dtype dtype, const char* op);

/// Checks that `value` converts to an element of `dtype`, as PyTorch's checked scalar conversion
/// (c10::checked_convert): float32 takes any value within its range, and inf and NaN; int64 takes
/// finite values in [-2^63, 2^63) (the fraction is dropped, toward zero); uint8 takes a float
/// value in [0, 255] (so 255.9 and -0.5 are refused, as torch.full((1,), 255.9, dtype=torch.uint8))
/// and an integer in [-255, 255], a negative one wrapping as PyTorch's (-1 is 255, so that
/// `a - b` can be written `a + (-b)`). An integer always fits int64 and float32 (rounded to
/// nearest). A Scalar is checked as the double or the integer it was made from. This is the one
/// check behind every op that writes a number into a tensor of a given dtype: fill_, full,
/// masked_fill, clamp, pow of an integer tensor, index_put_ of a scalar_tensor, in-place ops.
/// \throws ember::Error otherwise: "<op>: value 300 cannot be converted to type uint8 without
///         overflow".
/// \{
void check_value_fits(double value, Dtype dtype, const char* op);
void check_value_fits(std::int64_t value, Dtype dtype, const char* op);
void check_value_fits(const Scalar& value, Dtype dtype, const char* op);
/// \}

/// True when `value` converts to an element of `dtype` without overflow (see check_value_fits).
bool value_fits(double value, Dtype dtype);

}  // namespace ember
