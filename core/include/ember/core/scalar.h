/// \file
/// ember::Scalar: a plain C++ number (bool, integer or floating) on one side of a tensor op.
#pragma once

#include <cstdint>
#include <ostream>
#include <type_traits>

namespace ember {

/// A plain C++ number on one side of a tensor op, remembering its kind (bool, integer or floating).
///
/// It keeps the kind of the number the user wrote, because type promotion depends on it as in
/// PyTorch (c10::Scalar): `arange(4) * 2` stays int64 but `arange(4) * 0.5` is float32. Converts
/// implicitly from any arithmetic type, so `x > 0`, `1 - x` and `x * 0.5f` all work.
class Scalar {
 public:
  /// The kind of number written; it decides type promotion (see result_type).
  enum class Kind : std::uint8_t {
    Bool,  ///< `true` or `false`, held as 1 or 0; never changes a tensor's dtype.
    Int,   ///< Any integer type, held as int64.
    Float  ///< `float` or `double`, held as double; makes an integer tensor's result float32.
  };

  /// `value` with the kind of its type: bool, integral or floating.
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

  /// The kind of the number it was made from.
  Kind kind() const { return kind_; }
  /// True when it was made from a `float` or `double`.
  bool is_floating_point() const { return kind_ == Kind::Float; }
  /// The value as a double (an integer above 2^53 is rounded).
  double to_double() const { return kind_ == Kind::Float ? float_ : static_cast<double>(int_); }
  /// The value as an int64: integers keep every bit (an int64 above 2^53 survives); floats
  /// truncate toward zero.
  std::int64_t to_int64() const {
    return kind_ == Kind::Float ? static_cast<std::int64_t>(float_) : int_;
  }

 private:
  Kind kind_ = Kind::Int;
  std::int64_t int_ = 0;
  double float_ = 0.0;
};

/// Prints the number as written: `3`, `0.5`, `true`.
std::ostream& operator<<(std::ostream& out, const Scalar& s);

}  // namespace ember
