#include <ember/core/checked.h>

#include <cmath>
#include <limits>

#include <ember/core/error.h>

namespace ember {

std::int64_t checked_mul(std::int64_t a, std::int64_t b, const char* op, const Shape& shape) {
  std::int64_t result = 0;
  EMBER_CHECK(!__builtin_mul_overflow(a, b, &result), op, ": integer overflow: ", a, " * ", b,
              " does not fit in int64 (shape ", to_string(shape), ")");
  return result;
}

std::int64_t checked_add(std::int64_t a, std::int64_t b, const char* op, const Shape& shape) {
  std::int64_t result = 0;
  EMBER_CHECK(!__builtin_add_overflow(a, b, &result), op, ": integer overflow: ", a, " + ", b,
              " does not fit in int64 (shape ", to_string(shape), ")");
  return result;
}

std::int64_t checked_numel(const Shape& shape, const char* op) {
  std::int64_t n = 1;
  bool overflow = false;
  for (std::int64_t s : shape) {
    EMBER_CHECK(s >= 0, op, ": negative size ", s, " in shape ", to_string(shape));
    // Keep going after an overflow: a later 0 makes the tensor empty, which is fine.
    if (!overflow) overflow = __builtin_mul_overflow(n, s, &n);
    if (s == 0) return 0;
  }
  EMBER_CHECK(!overflow, op, ": shape ", to_string(shape),
              " has too many elements (the count overflows int64)");
  return n;
}

std::int64_t checked_nbytes(const Shape& shape, Dtype dtype, const char* op) {
  const std::int64_t n = checked_numel(shape, op);
  std::int64_t bytes = 0;
  EMBER_CHECK(!__builtin_mul_overflow(n, static_cast<std::int64_t>(element_size(dtype)), &bytes),
              op, ": storage size calculation overflowed with sizes=", to_string(shape), " (",
              dtype, ", ", element_size(dtype), " bytes each)");
  return bytes;
}

bool value_fits(double value, Dtype dtype) {
  switch (dtype) {
    case kFloat32:
      return !std::isfinite(value) ||
             std::fabs(value) <= static_cast<double>(std::numeric_limits<float>::max());
    case kInt64:
      // [-2^63, 2^63): both bounds are exact doubles. NaN fails both comparisons.
      return value >= -0x1p63 && value < 0x1p63;
    case kUInt8:
      // As PyTorch's check, before any truncation: 255.9 does not fit (a tensor conversion,
      // which truncates first, checks the truncated value: see check_convertible).
      return value >= 0.0 && value <= 255.0;
  }
  return false;
}

void check_value_fits(double value, Dtype dtype, const char* op) {
  EMBER_CHECK(value_fits(value, dtype), op, ": value ", value, " cannot be converted to type ",
              dtype, " without overflow");
}

void check_value_fits(std::int64_t value, Dtype dtype, const char* op) {
  // -255..-1 wrap into uint8 as PyTorch's (c10::overflows lets a negative integer wrap).
  EMBER_CHECK(dtype != kUInt8 || (value >= -255 && value <= 255), op, ": value ", value,
              " cannot be converted to type ", dtype, " without overflow");
}

void check_value_fits(const Scalar& value, Dtype dtype, const char* op) {
  if (value.is_floating_point())
    check_value_fits(value.to_double(), dtype, op);
  else
    check_value_fits(value.to_int64(), dtype, op);
}

}  // namespace ember
