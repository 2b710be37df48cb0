// ember::Scalar: a plain C++ number (bool, integer or floating) on one side of a tensor op.
#pragma once

#include <cstdint>
#include <ostream>
#include <type_traits>

namespace ember {

// Keeps the kind of the number the user wrote, because type promotion depends on it as in
// PyTorch: `arange(4) * 2` stays int64 but `arange(4) * 0.5` is float32. Converts implicitly
// from any arithmetic type, so `x > 0`, `1 - x` and `x * 0.5f` all work.
class Scalar {
 public:
  enum class Kind : std::uint8_t { Bool, Int, Float };

  template <class T>
  requires std::is_arithmetic_v<T> Scalar(
      T value) {  // NOLINT(google-explicit-constructor): implicit on purpose, as c10::Scalar
    if constexpr (std::is_same_v<T, bool>) {
      kind_ = Kind::Bool;
      int_ = value ? 1 : 0;
    } else if constexpr (std::is_integral_v<T>) {
      kind_ = Kind::Int;
      int_ = static_cast<std::int64_t>(value);
    } else {
      kind_ = Kind::Float;
      float_ = static_cast<double>(value);
    }
  }

  Kind kind() const { return kind_; }
  bool is_floating_point() const { return kind_ == Kind::Float; }
  double to_double() const { return kind_ == Kind::Float ? float_ : static_cast<double>(int_); }
  // Integers keep every bit (an int64 above 2^53 survives); floats truncate toward zero.
  std::int64_t to_int64() const {
    return kind_ == Kind::Float ? static_cast<std::int64_t>(float_) : int_;
  }

 private:
  Kind kind_ = Kind::Int;
  std::int64_t int_ = 0;
  double float_ = 0.0;
};

std::ostream& operator<<(std::ostream& out, const Scalar& s);

}  // namespace ember
