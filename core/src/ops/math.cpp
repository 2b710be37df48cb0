// pow, square, sqrt, abs, clamp, minimum, maximum, graph-free (autograd/src/ops/math.cpp records
// them). NaN propagates as in PyTorch: clamp(NaN) and minimum(NaN, x) are NaN.
#include <cmath>
#include <limits>
#include <optional>

#include <ember/core/ops.h>

#include "ops/dispatch.h"
#include "ops/strided.h"

namespace ember::core {

namespace {

// out[i] = f(a[i], b[i]) over the broadcast shape, both converted to `type` first.
template <class F>
Tensor binary_map(const char* op, const Tensor& a_in, const Tensor& b_in, Dtype type, F f) {
  EMBER_CHECK(a_in.defined() && b_in.defined(), op, ": an input is undefined");
  const Tensor a = a_in.to(type), b = b_in.to(type);
  const Shape shape = broadcast_shapes(a.sizes(), b.sizes(), op);
  Tensor out = empty(shape, type);
  const Shape sa = detail::broadcast_strides(a.sizes(), a.strides(), shape);
  const Shape sb = detail::broadcast_strides(b.sizes(), b.strides(), shape);
  detail::dispatch(type, [&]<class T>() {
    const T* pa = reinterpret_cast<const T*>(a.storage()->data);
    const T* pb = reinterpret_cast<const T*>(b.storage()->data);
    T* po = out.data_ptr<T>();
    detail::for_each_row<3>(
        shape, {&out.strides(), &sa, &sb}, {0, a.storage_offset(), b.storage_offset()},
        [&](auto off, std::int64_t n, auto in) {
          for (std::int64_t i = 0; i < n; ++i)
            po[off[0] + i * in[0]] = f(pa[off[1] + i * in[1]], pb[off[2] + i * in[2]]);
        });
  });
  return out;
}

template <class F>
Tensor unary_map(const Tensor& x_in, Dtype type, F f) {
  const Tensor x = contiguous(x_in.to(type));
  Tensor out = empty(x.sizes(), type);
  detail::dispatch(type, [&]<class T>() {
    const T* px = x.data_ptr<T>();
    T* po = out.data_ptr<T>();
    for (std::int64_t i = 0, n = x.numel(); i < n; ++i) po[i] = f(px[i]);
  });
  return out;
}

// base^exp for integers by squaring, wrapping on overflow like PyTorch's integer pow (computed
// unsigned, so the wrap is defined).
template <class T>
T int_pow(T base, T exp) {
  using U = std::make_unsigned_t<T>;
  U result = 1, b = static_cast<U>(base);
  for (auto e = static_cast<std::uint64_t>(exp); e > 0; e >>= 1, b = static_cast<U>(b * b))
    if (e & 1) result = static_cast<U>(result * b);
  return static_cast<T>(result);
}

template <class T>
T power(T base, T exp) {
  if constexpr (std::is_same_v<T, float>) {
    return std::pow(base, exp);
  } else {
    // A negative exponent in an exponent tensor, as PyTorch's integer pow: 1 / base^-exp
    // truncated, so 1 for base 1, +-1 for base -1, and 0 otherwise (base 0 included). (A
    // negative number as exponent throws instead, see pow(Tensor, Scalar).)
    if constexpr (std::is_signed_v<T>) {
      if (exp < 0) return base == 1 ? T(1) : base == -1 ? T(exp % 2 == 0 ? 1 : -1) : T(0);
    }
    return int_pow(base, exp);
  }
}

// x^0.5 and x^-0.5 as PyTorch's pow(tensor, number) computes them, sqrt(x) and 1 / sqrt(x):
// they differ from std::pow at -0 (sqrt(-0) is -0, 1 / sqrt(-0) is -inf) and at -inf (NaN).
template <class T>
T power_of_number(T base, T exp) {
  if constexpr (std::is_same_v<T, float>) {
    if (exp == 0.5f) return std::sqrt(base);
    if (exp == -0.5f) return 1.0f / std::sqrt(base);
  }
  return power(base, exp);
}

// The number of pow(tensor, number) and pow(number, tensor), checked as PyTorch does: an integer
// power must fit the integer dtype (uint8 ** 256 is refused, it gave 1), a float power is not
// checked (float32 ** 1e39 is inf, as torch.ones(1) ** 1e39).
Tensor exponent_number(const Scalar& s, Dtype type) {
  return is_floating_point(type) ? number_tensor(s, type) : fill_value(s, type, "pow");
}

}  // namespace

Tensor pow(const Tensor& a, const Tensor& b) {
  const Dtype type = result_type(a, b);
  return binary_map("pow", a, b, type, []<class T>(T x, T y) { return power(x, y); });
}

Tensor pow(const Tensor& x, const Scalar& exponent) {
  EMBER_CHECK(x.defined(), "pow: the tensor is undefined");
  const Dtype type = result_type(x, exponent);
  EMBER_CHECK(is_floating_point(type) || exponent.to_int64() >= 0,
              "pow: integers to negative integer powers are not allowed (", x.dtype(),
              " tensor of shape ", to_string(x.sizes()), ", exponent ", exponent, ")");
  const Tensor e = exponent_number(exponent, type);
  return binary_map("pow", x, e, type, []<class T>(T a, T b) { return power_of_number(a, b); });
}

Tensor pow(const Scalar& base, const Tensor& x) {
  EMBER_CHECK(x.defined(), "pow: the tensor is undefined");
  const Dtype type = result_type(x, base);
  return pow(exponent_number(base, type), x.to(type));
}

Tensor square(const Tensor& x) {
  return mul(x, x);
}

Tensor sqrt(const Tensor& x) {
  EMBER_CHECK(x.defined(), "sqrt: the tensor is undefined");
  return unary_map(x, kFloat32, [](float v) { return std::sqrt(v); });
}

Tensor abs(const Tensor& x) {
  EMBER_CHECK(x.defined(), "abs: the tensor is undefined");
  return unary_map(x, x.dtype(), []<class T>(T v) {
    if constexpr (std::is_unsigned_v<T>)
      return v;
    else
      return v < 0 ? T(-v) : v;
  });
}

// out = min(max(x, low), high); NaN stays NaN.
Tensor clamp(const Tensor& x, const std::optional<Scalar>& low, const std::optional<Scalar>& high) {
  EMBER_CHECK(x.defined(), "clamp: the tensor is undefined");
  EMBER_CHECK(low || high, "clamp: at least one of min and max must be given (shape ",
              to_string(x.sizes()), ")");
  Dtype type = x.dtype();
  if (low) type = promote_types(type, result_type(x, *low));
  if (high) type = promote_types(type, result_type(x, *high));
  // A bound must fit the result's dtype (clamp(uint8, max=300) is refused, as PyTorch; it lowered
  // 200 to 44); a float bound of an integer tensor promotes it to float32, so 256.0 fits.
  const Tensor lo = low ? fill_value(*low, type, "clamp") : Tensor();
  const Tensor hi = high ? fill_value(*high, type, "clamp") : Tensor();
  Tensor out = x.to(type);
  if (low)
    out = binary_map("clamp", out, lo, type, []<class T>(T v, T l) { return v < l ? l : v; });
  if (high)
    out = binary_map("clamp", out, hi, type, []<class T>(T v, T h) { return v > h ? h : v; });
  return out;
}
Tensor clamp_min(const Tensor& x, const Scalar& low) {
  return clamp(x, low, std::nullopt);
}
Tensor clamp_max(const Tensor& x, const Scalar& high) {
  return clamp(x, std::nullopt, high);
}

namespace {
Tensor extremum(const Tensor& a, const Tensor& b, bool is_max) {
  const Dtype type = result_type(a, b);
  return binary_map(is_max ? "maximum" : "minimum", a, b, type, [is_max]<class T>(T x, T y) {
    if constexpr (std::is_same_v<T, float>)
      if (std::isnan(x) || std::isnan(y)) return std::numeric_limits<float>::quiet_NaN();
    return (is_max ? x < y : y < x) ? y : x;
  });
}
}  // namespace

Tensor maximum(const Tensor& a, const Tensor& b) {
  return extremum(a, b, true);
}
Tensor minimum(const Tensor& a, const Tensor& b) {
  return extremum(a, b, false);
}

}  // namespace ember::core
