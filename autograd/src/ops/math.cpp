// pow, square, sqrt, abs, clamp, minimum, maximum, differentiable: each computes with its
// ember::core function (core/src/ops/math.cpp), then records its backward right below.
#include <ember/autograd/node.h>
#include <ember/autograd/ops.h>

namespace ember {

using autograd::Grads;
using autograd::SavedTensor;

namespace {

// d/da of a^b: b a^(b-1), taken as 0 where b = 0 (as PyTorch: a^0 is 1 for every a, 0 and NaN
// included).
Tensor pow_grad_base(const Tensor& g, const Tensor& a, const Tensor& b) {
  return where(b == 0, zeros({}), g * b * pow(a, b - 1));
}

// A number as the 0-d float32 tensor core computes with (a graph needs a float32 input).
Tensor float_number(const Scalar& s) {
  return core::number_tensor(s, kFloat32);
}

}  // namespace

// out = a^b.
// d/da = b a^(b-1) (0 where b = 0); d/db = a^b log(a), taken as 0 where a = 0 and b >= 0 (as
// PyTorch: the limit of a^b log a there).
Tensor pow(const Tensor& a, const Tensor& b) {
  Tensor out = core::pow(a, b);
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
  Tensor out = core::pow(x, exponent);
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

// out = s^x. d/dx = s^x log(s), 0 where s = 0 and x >= 0: pow(Tensor, Tensor)'s.
Tensor pow(const Scalar& base, const Tensor& x) {
  if (!autograd::needs_graph({&x})) return core::pow(base, x);
  return pow(float_number(base), x);  // x requires grad, so it is float32, and so is the result
}

Tensor square(const Tensor& x) {
  return x * x;  // d/dx = 2x: mul's backward reaches x along both edges
}

// out = sqrt(x) (NaN below 0). d/dx = 1 / (2 sqrt(x)) = 1 / (2 out); inf at 0, as PyTorch.
Tensor sqrt(const Tensor& x) {
  Tensor out = core::sqrt(x);
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
  Tensor out = core::abs(x);
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
  Tensor out = core::clamp(x, low, high);
  if (autograd::needs_graph({&x})) {
    // x requires grad, so it is float32, and so are the bounds core compared with.
    const Tensor lo = low ? float_number(*low) : Tensor(),
                 hi = high ? float_number(*high) : Tensor();
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
Tensor record_extremum(const char* name, const Tensor& a, const Tensor& b, Tensor out,
                       bool is_max) {
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
  return record_extremum("MaximumBackward", a, b, core::maximum(a, b), true);
}
Tensor minimum(const Tensor& a, const Tensor& b) {
  return record_extremum("MinimumBackward", a, b, core::minimum(a, b), false);
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
