// pow, square, sqrt, abs, clamp, minimum, maximum: forward, then the backward right below.
// NaN propagates as in PyTorch: clamp(NaN) and minimum(NaN, x) are NaN.
#include <cmath>
#include <limits>
#include <optional>

#include <ember/autograd/node.h>
#include <ember/core/ops.h>

#include "ops/dispatch.h"
#include "ops/strided.h"

namespace ember {

using autograd::SavedTensor;
using Grads = std::vector<Tensor>;

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
  const Tensor x = x_in.to(type).contiguous();
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

// d/da of a^b: b a^(b-1), taken as 0 where b = 0 (as PyTorch: a^0 is 1 for every a, 0 and NaN
// included).
Tensor pow_grad_base(const Tensor& g, const Tensor& a, const Tensor& b) {
  return where(b == 0, zeros({}), g * b * pow(a, b - 1));
}

Tensor number(const Scalar& s, Dtype type) {
  Tensor t = empty({}, type);
  detail::dispatch(type, [&]<class T>() {
    *t.data_ptr<T>() =
        s.is_floating_point() ? static_cast<T>(s.to_double()) : static_cast<T>(s.to_int64());
  });
  return t;
}

}  // namespace

// out = a^b.
// d/da = b a^(b-1) (0 where b = 0); d/db = a^b log(a), taken as 0 where a = 0 and b >= 0 (as
// PyTorch: the limit of a^b log a there).
Tensor pow(const Tensor& a, const Tensor& b) {
  const Dtype type = result_type(a, b);
  Tensor out = binary_map("pow", a, b, type, []<class T>(T x, T y) { return power(x, y); });
  if (autograd::needs_graph({&a, &b})) {
    autograd::record("PowBackward", {a, b}, out,
                     [sa = SavedTensor(a), sb = SavedTensor(b), so = SavedTensor(out)](
                         const Tensor& g, const std::vector<bool>& needs) {
                       const Tensor av = sa.get("pow"), bv = sb.get("pow"), ov = so.get("pow");
                       Tensor grad_a, grad_b;
                       if (needs[0])
                         grad_a = autograd::sum_to(pow_grad_base(g, av, bv), av.sizes());
                       if (needs[1])
                         grad_b = autograd::sum_to(
                             where((av == 0) * (bv >= 0), zeros({}), g * ov * log(av.to(kFloat32))),
                             bv.sizes());
                       return Grads{grad_a, grad_b};
                     });
  }
  return out;
}

// out = x^s. d/dx = s x^(s-1), and 0 everywhere for s = 0 (as PyTorch, even at x = 0).
Tensor pow(const Tensor& x, const Scalar& exponent) {
  EMBER_CHECK(x.defined(), "pow: the tensor is undefined");
  const Dtype type = result_type(x, exponent);
  EMBER_CHECK(is_floating_point(type) || exponent.to_int64() >= 0,
              "pow: integers to negative integer powers are not allowed (", x.dtype(),
              " tensor of shape ", to_string(x.sizes()), ", exponent ", exponent, ")");
  const Tensor e = number(exponent, type);
  Tensor out =
      binary_map("pow", x, e, type, []<class T>(T a, T b) { return power_of_number(a, b); });
  if (autograd::needs_graph({&x})) {
    autograd::record("PowBackward", {x}, out,
                     [sx = SavedTensor(x), exponent](const Tensor& g, const std::vector<bool>&) {
                       const Tensor xv = sx.get("pow");
                       if (exponent.to_double() == 0.0) return Grads{zeros(xv.sizes())};
                       return Grads{g * exponent * pow(xv, exponent.to_double() - 1.0)};
                     });
  }
  return out;
}

// out = s^x. d/dx = s^x log(s), 0 where s = 0 and x >= 0.
Tensor pow(const Scalar& base, const Tensor& x) {
  EMBER_CHECK(x.defined(), "pow: the tensor is undefined");
  const Dtype type = result_type(x, base);
  return pow(number(base, type), x.to(type));
}

Tensor square(const Tensor& x) {
  return x * x;  // d/dx = 2x: mul's backward reaches x along both edges
}

// out = sqrt(x) (NaN below 0). d/dx = 1 / (2 sqrt(x)) = 1 / (2 out); inf at 0, as PyTorch.
Tensor sqrt(const Tensor& x) {
  EMBER_CHECK(x.defined(), "sqrt: the tensor is undefined");
  Tensor out = unary_map(x, kFloat32, [](float v) { return std::sqrt(v); });
  if (autograd::needs_graph({&x})) {
    autograd::record("SqrtBackward", {x}, out,
                     [so = SavedTensor(out)](const Tensor& g, const std::vector<bool>&) {
                       return Grads{g / (so.get("sqrt") * 2.0)};
                     });
  }
  return out;
}

// out = |x|. d/dx = sign(x), with sign(0) = sign(NaN) = 0 (PyTorch's sgn).
Tensor abs(const Tensor& x) {
  EMBER_CHECK(x.defined(), "abs: the tensor is undefined");
  Tensor out = unary_map(x, x.dtype(), []<class T>(T v) {
    if constexpr (std::is_unsigned_v<T>)
      return v;
    else
      return v < 0 ? T(-v) : v;
  });
  if (autograd::needs_graph({&x})) {
    autograd::record("AbsBackward", {x}, out,
                     [sx = SavedTensor(x)](const Tensor& g, const std::vector<bool>&) {
                       const Tensor xv = sx.get("abs");
                       return Grads{g * ((xv > 0).to(kFloat32) - (xv < 0).to(kFloat32))};
                     });
  }
  return out;
}

// out = min(max(x, low), high); NaN stays NaN. d/dx = 1 where low <= x <= high, else 0.
Tensor clamp(const Tensor& x, const std::optional<Scalar>& low, const std::optional<Scalar>& high) {
  EMBER_CHECK(x.defined(), "clamp: the tensor is undefined");
  EMBER_CHECK(low || high, "clamp: at least one of min and max must be given (shape ",
              to_string(x.sizes()), ")");
  Dtype type = x.dtype();
  if (low) type = promote_types(type, result_type(x, *low));
  if (high) type = promote_types(type, result_type(x, *high));
  Tensor out = x.to(type);
  const Tensor lo = low ? number(*low, type) : Tensor(), hi = high ? number(*high, type) : Tensor();
  if (low)
    out = binary_map("clamp", out, lo, type, []<class T>(T v, T l) { return v < l ? l : v; });
  if (high)
    out = binary_map("clamp", out, hi, type, []<class T>(T v, T h) { return v > h ? h : v; });
  if (autograd::needs_graph({&x})) {
    autograd::record("ClampBackward", {x}, out,
                     [sx = SavedTensor(x), lo, hi](const Tensor& g, const std::vector<bool>&) {
                       const Tensor xv = sx.get("clamp");
                       Tensor inside = ones(xv.sizes(), kUInt8);
                       if (lo.defined()) inside = inside * (xv >= lo);
                       if (hi.defined()) inside = inside * (xv <= hi);
                       return Grads{where(inside, g, zeros({}))};
                     });
  }
  return out;
}
Tensor clamp_min(const Tensor& x, const Scalar& low) {
  return clamp(x, low, std::nullopt);
}
Tensor clamp_max(const Tensor& x, const Scalar& high) {
  return clamp(x, std::nullopt, high);
}

namespace {
// minimum/maximum share their backward (PyTorch's): the gradient goes to the smaller (larger)
// input, is split in half where they are equal, and goes to both where either is NaN.
Tensor extremum(const char* name, const Tensor& a, const Tensor& b, bool is_max) {
  const Dtype type = result_type(a, b);
  Tensor out = binary_map(is_max ? "maximum" : "minimum", a, b, type, [is_max]<class T>(T x, T y) {
    if constexpr (std::is_same_v<T, float>)
      if (std::isnan(x) || std::isnan(y)) return std::numeric_limits<float>::quiet_NaN();
    return (is_max ? x < y : y < x) ? y : x;
  });
  if (autograd::needs_graph({&a, &b})) {
    autograd::record(
        name, {a, b}, out,
        [sa = SavedTensor(a), sb = SavedTensor(b), is_max](const Tensor& g,
                                                           const std::vector<bool>& needs) {
          const Tensor av = sa.get("maximum"), bv = sb.get("maximum");
          const Tensor shared = where(av == bv, g / 2.0, g);
          const Tensor a_loses = is_max ? av < bv : av > bv;
          const Tensor b_loses = is_max ? av > bv : av < bv;
          return Grads{
              needs[0] ? autograd::sum_to(where(a_loses, zeros({}), shared), av.sizes()) : Tensor(),
              needs[1] ? autograd::sum_to(where(b_loses, zeros({}), shared), bv.sizes())
                       : Tensor()};
        });
  }
  return out;
}
}  // namespace

Tensor maximum(const Tensor& a, const Tensor& b) {
  return extremum("MaximumBackward", a, b, true);
}
Tensor minimum(const Tensor& a, const Tensor& b) {
  return extremum("MinimumBackward", a, b, false);
}

Tensor Tensor::pow(const Scalar& exponent) const {
  return ember::pow(*this, exponent);
}
Tensor Tensor::pow(const Tensor& exponent) const {
  return ember::pow(*this, exponent);
}
Tensor Tensor::square() const {
  return ember::square(*this);
}
Tensor Tensor::sqrt() const {
  return ember::sqrt(*this);
}
Tensor Tensor::abs() const {
  return ember::abs(*this);
}
Tensor Tensor::clamp(const std::optional<Scalar>& low, const std::optional<Scalar>& high) const {
  return ember::clamp(*this, low, high);
}
Tensor Tensor::clamp_min(const Scalar& low) const {
  return ember::clamp_min(*this, low);
}
Tensor Tensor::clamp_max(const Scalar& high) const {
  return ember::clamp_max(*this, high);
}

}  // namespace ember
