// Elementwise ops with broadcasting, graph-free (autograd/src/ops/elementwise.cpp records them),
// and the in-place and copying methods.
#include <cmath>
#include <cstring>

#include <ember/core/checked.h>
#include <ember/core/grad_mode.h>
#include <ember/core/ops.h>
#include <ember/core/parallel.h>

#include "ops/dispatch.h"
#include "ops/strided.h"

namespace ember {

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const std::size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (std::size_t i = 0; i < rank; ++i) {
    const std::int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const std::int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    EMBER_CHECK(da == db || da == 1 || db == 1, op, ": shapes ", to_string(a), " and ",
                to_string(b), " cannot be broadcast together (dim ", i, ": ", da, " vs ", db, ")");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

namespace {

// out[i] = f(a[i], b[i]) over the broadcast shape; out is a new contiguous tensor of dtype Out.
template <class In, class Out, class F>
void binary_loop(const Tensor& a, const Tensor& b, Tensor& out, F f) {
  const Shape& shape = out.sizes();
  const Shape sa = detail::broadcast_strides(a.sizes(), a.strides(), shape);
  const Shape sb = detail::broadcast_strides(b.sizes(), b.strides(), shape);
  const Shape& so = out.strides();
  const In* pa = reinterpret_cast<const In*>(a.storage()->data);
  const In* pb = reinterpret_cast<const In*>(b.storage()->data);
  Out* po = out.data_ptr<Out>() - out.storage_offset();
  detail::for_each_row<3>(shape, {&so, &sa, &sb},
                          {out.storage_offset(), a.storage_offset(), b.storage_offset()},
                          [&](auto off, std::int64_t n, auto inner) {
                            Out* o = po + off[0];
                            const In* x = pa + off[1];
                            const In* y = pb + off[2];
                            if (inner[1] == 1 && inner[2] == 1) {
                              for (std::int64_t i = 0; i < n; ++i)
                                o[i] = f(x[i], y[i]);  // vectorized by the compiler
                            } else if (inner[1] == 1 && inner[2] == 0) {
                              const In yv = *y;
                              for (std::int64_t i = 0; i < n; ++i) o[i] = f(x[i], yv);
                            } else {
                              for (std::int64_t i = 0; i < n; ++i)
                                o[i] = f(x[i * inner[1]], y[i * inner[2]]);
                            }
                          });
}

template <class F>
Tensor arithmetic(const char* op, const Tensor& a, const Tensor& b, F f) {
  EMBER_CHECK(a.defined() && b.defined(), op, ": an input is undefined");
  const Dtype type = result_type(a, b);  // compute in the promoted dtype (ops.h)
  if (a.dtype() != type || b.dtype() != type) return arithmetic(op, a.to(type), b.to(type), f);
  Tensor out = empty(broadcast_shapes(a.sizes(), b.sizes(), op), a.dtype());
  detail::dispatch(a.dtype(),
                   [&]<class T>() { binary_loop<T, T>(a, b, out, f.template operator()<T>()); });
  return out;
}

template <class F>
Tensor compare(const char* op, const Tensor& a, const Tensor& b, F f) {
  EMBER_CHECK(a.defined() && b.defined(), op, ": an input is undefined");
  const Dtype type = result_type(a, b);
  if (a.dtype() != type || b.dtype() != type) return compare(op, a.to(type), b.to(type), f);
  Tensor out = empty(broadcast_shapes(a.sizes(), b.sizes(), op), kUInt8);
  detail::dispatch(a.dtype(), [&]<class T>() {
    binary_loop<T, std::uint8_t>(a, b, out, [&](T x, T y) { return std::uint8_t(f(x, y)); });
  });
  return out;
}

// f over a in float32. Integer tensors are converted first, as PyTorch promotes the integer
// input of a floating op (torch.exp(torch.arange(3)) is float32).
template <class F>
Tensor unary_float(const char* op, const Tensor& a, F f) {
  EMBER_CHECK(a.defined(), op, ": the tensor is undefined");
  Tensor src = core::contiguous(a.to(kFloat32));
  Tensor out = empty(a.sizes());
  const float* x = src.data_ptr<float>();
  float* y = out.data_ptr<float>();
  for (std::int64_t i = 0, n = a.numel(); i < n; ++i) y[i] = f(x[i]);
  return out;
}

// A number as a 0-d tensor of t's dtype; `op` names the op in the error when it does not fit.
Tensor scalar_like(const Tensor& t, double value, const char* op) {
  check_value_fits(value, t.dtype(), op);
  return scalar_tensor(value, t.dtype());
}

// Note [Integer overflow]: int64 arithmetic wraps around (two's complement), as PyTorch's does. It
// is computed in uint64, where wrapping is defined: signed overflow is undefined behaviour. (uint8
// is computed in int and converted back, which wraps by definition.)
template <class T>
constexpr bool kWide = std::is_same_v<T, std::int64_t>;
template <class T>
T wrapping_add(T x, T y) {
  if constexpr (kWide<T>) return T(std::uint64_t(x) + std::uint64_t(y));
  return T(x + y);
}
template <class T>
T wrapping_sub(T x, T y) {
  if constexpr (kWide<T>) return T(std::uint64_t(x) - std::uint64_t(y));
  return T(x - y);
}
template <class T>
T wrapping_mul(T x, T y) {
  if constexpr (kWide<T>) return T(std::uint64_t(x) * std::uint64_t(y));
  return T(x * y);
}
// INT64_MIN / -1 overflows (and traps on x86): it wraps to INT64_MIN, as -INT64_MIN does.
template <class T>
T wrapping_div(T x, T y) {
  if constexpr (kWide<T>)
    if (y == -1) return wrapping_sub(T(0), x);
  return T(x / y);
}

}  // namespace

namespace core {

Tensor add(const Tensor& a, const Tensor& b) {
  return arithmetic("add", a, b, []<class T>() {
    return [](T x, T y) {
      return wrapping_add(x, y);
    };
  });
}

Tensor sub(const Tensor& a, const Tensor& b) {
  return arithmetic("sub", a, b, []<class T>() {
    return [](T x, T y) {
      return wrapping_sub(x, y);
    };
  });
}

Tensor mul(const Tensor& a, const Tensor& b) {
  return arithmetic("mul", a, b, []<class T>() {
    return [](T x, T y) {
      return wrapping_mul(x, y);
    };
  });
}

// True division, as PyTorch: integers are divided as float32.
Tensor div(const Tensor& a, const Tensor& b) {
  EMBER_CHECK(a.defined() && b.defined(), "div: an input is undefined");
  if (!is_floating_point(result_type(a, b))) return div(a.to(kFloat32), b.to(kFloat32));
  return arithmetic("div", a, b, []<class T>() {
    return [](T x, T y) {
      return wrapping_div(x, y);
    };
  });
}

Tensor neg(const Tensor& a) {
  return arithmetic("neg", zeros({}, a.dtype()), a, []<class T>() {
    return [](T x, T y) {
      return wrapping_sub(x, y);
    };
  });
}

Tensor exp(const Tensor& a) {
  return unary_float("exp", a, [](float x) { return std::exp(x); });
}

Tensor log(const Tensor& a) {
  return unary_float("log", a, [](float x) { return std::log(x); });
}

}  // namespace core

Tensor eq(const Tensor& a, const Tensor& b) {
  return compare("eq", a, b, [](auto x, auto y) { return x == y; });
}
Tensor ne(const Tensor& a, const Tensor& b) {
  return compare("ne", a, b, [](auto x, auto y) { return x != y; });
}
Tensor lt(const Tensor& a, const Tensor& b) {
  return compare("lt", a, b, [](auto x, auto y) { return x < y; });
}
Tensor le(const Tensor& a, const Tensor& b) {
  return compare("le", a, b, [](auto x, auto y) { return x <= y; });
}
Tensor gt(const Tensor& a, const Tensor& b) {
  return compare("gt", a, b, [](auto x, auto y) { return x > y; });
}
Tensor ge(const Tensor& a, const Tensor& b) {
  return compare("ge", a, b, [](auto x, auto y) { return x >= y; });
}
Tensor operator==(const Tensor& a, const Tensor& b) {
  return eq(a, b);
}
Tensor operator!=(const Tensor& a, const Tensor& b) {
  return ne(a, b);
}
Tensor operator<(const Tensor& a, const Tensor& b) {
  return lt(a, b);
}
Tensor operator<=(const Tensor& a, const Tensor& b) {
  return le(a, b);
}
Tensor operator>(const Tensor& a, const Tensor& b) {
  return gt(a, b);
}
Tensor operator>=(const Tensor& a, const Tensor& b) {
  return ge(a, b);
}

// --- In-place ---

namespace {
// In-place writes bump the version (so saved tensors can tell) and are refused on tensors that
// take part in a graph: their old values may be needed by a backward.
void check_inplace(const Tensor& t, const char* op) {
  EMBER_CHECK(t.defined(), op, ": the tensor is undefined");
  EMBER_CHECK(!(autograd::grad_enabled() && t.requires_grad()), op,
              ": in-place change of a tensor that requires grad",
              t.is_leaf() ? " (a leaf: update it inside a NoGradGuard)"
                          : " (an op's output: use the out-of-place op)");
  ++t.storage()->version;
}

template <class Dst, class Src>
void copy_loop(Tensor& dst, const Tensor& src) {
  const Shape ss = detail::broadcast_strides(src.sizes(), src.strides(), dst.sizes());
  Dst* pd = reinterpret_cast<Dst*>(dst.storage()->data);
  const Src* ps = reinterpret_cast<const Src*>(src.storage()->data);
  detail::for_each_row<2>(dst.sizes(), {&dst.strides(), &ss},
                          {dst.storage_offset(), src.storage_offset()},
                          [&](auto off, std::int64_t n, auto inner) {
                            Dst* d = pd + off[0];
                            const Src* s = ps + off[1];
                            if (inner[0] == 1 && inner[1] == 1) {
                              for (std::int64_t i = 0; i < n; ++i) d[i] = static_cast<Dst>(s[i]);
                            } else {
                              for (std::int64_t i = 0; i < n; ++i)
                                d[i * inner[0]] = static_cast<Dst>(s[i * inner[1]]);
                            }
                          });
}

// Converting float32 to an integer dtype can overflow, which is undefined behaviour in C++: every
// source value is checked before anything is written. The conversion drops the fraction first, so
// the truncated value is what must fit (255.5 -> 255 fits uint8, as torch's .to(torch.uint8)).
// int64 -> uint8 wraps (mod 256), as PyTorch.
void check_convertible(const Tensor& src, Dtype to, const char* op) {
  if (src.dtype() != kFloat32 || to == kFloat32) return;
  detail::dispatch(src.dtype(), [&]<class S>() {
    const S* base = reinterpret_cast<const S*>(src.storage()->data);
    detail::for_each_row<1>(src.sizes(), {&src.strides()}, {src.storage_offset()},
                            [&](auto off, std::int64_t n, auto inner) {
                              for (std::int64_t i = 0; i < n; ++i) {
                                const S v = base[off[0] + i * inner[0]];
                                if constexpr (std::is_same_v<S, float>)
                                  check_value_fits(std::trunc(static_cast<double>(v)), to, op);
                                else
                                  check_value_fits(static_cast<std::int64_t>(v), to, op);
                              }
                            });
  });
}

// The lowest and one past the highest element offset a tensor reads (empty: lo == hi).
std::pair<std::int64_t, std::int64_t> extent(const Tensor& t) {
  if (t.numel() == 0) return {0, 0};
  std::int64_t lo = t.storage_offset(), hi = t.storage_offset();
  for (std::size_t d = 0; d < t.sizes().size(); ++d) {
    const std::int64_t span = (t.sizes()[d] - 1) * t.strides()[d];
    (span < 0 ? lo : hi) += span;
  }
  return {lo, hi + 1};
}

// True when a and b share storage and the element ranges they span intersect.
bool may_overlap(const Tensor& a, const Tensor& b) {
  if (a.storage() != b.storage()) return false;
  const auto [alo, ahi] = extent(a);
  const auto [blo, bhi] = extent(b);
  return alo < bhi && blo < ahi;
}

// dst = src (broadcast, converting dtypes), no checks, no graph.
void copy_into(Tensor& dst, const Tensor& src) {
  if (dst.dtype() == src.dtype() && dst.is_contiguous() && src.is_contiguous() &&
      dst.sizes() == src.sizes()) {
    const auto element = static_cast<std::int64_t>(element_size(dst.dtype()));
    std::byte* to = dst.storage()->data + dst.storage_offset() * element;
    const std::byte* from = src.storage()->data + src.storage_offset() * element;
    // Large copies are split across threads: a copy has no order to keep.
    parallel_for(0, dst.numel() * element, std::int64_t{1} << 20,
                 [&](std::int64_t begin, std::int64_t end) {
                   std::memcpy(to + begin, from + begin, static_cast<std::size_t>(end - begin));
                 });
    return;
  }
  detail::dispatch(dst.dtype(), [&]<class D>() {
    detail::dispatch(src.dtype(), [&]<class S>() { copy_loop<D, S>(dst, src); });
  });
}
}  // namespace

// Source and destination may share memory (a.copy_(a.t())): reading the source while writing the
// destination would read elements already overwritten, so an overlapping source is first copied
// aside, unless it is the destination itself (same offset, sizes and strides: nothing to do).
Tensor& Tensor::copy_(const Tensor& src) {
  EMBER_CHECK(defined(), "copy_: the tensor is undefined");
  EMBER_CHECK(src.defined(), "copy_: the source is undefined");
  EMBER_CHECK(broadcast_shapes(sizes(), src.sizes(), "copy_") == sizes(), "copy_: source shape ",
              to_string(src.sizes()), " does not broadcast to destination shape ",
              to_string(sizes()));
  check_convertible(src, dtype(), "copy_");
  check_inplace(*this, "copy_");
  if (!may_overlap(*this, src)) {
    copy_into(*this, src);
  } else if (src.storage_offset() != storage_offset() || src.sizes() != sizes() ||
             src.strides() != strides()) {
    Tensor aside = empty(src.sizes(), src.dtype());
    copy_into(aside, src);
    copy_into(*this, aside);
  }
  return *this;
}

Tensor& Tensor::fill_(double value) {
  EMBER_CHECK(defined(), "fill_: the tensor is undefined");
  check_value_fits(value, dtype(), "fill_");
  check_inplace(*this, "fill_");
  detail::dispatch(dtype(), [&]<class T>() {
    T* base = reinterpret_cast<T*>(storage()->data);
    const T v = static_cast<T>(value);
    detail::for_each_row<1>(sizes(), {&strides()}, {storage_offset()},
                            [&](auto off, std::int64_t n, auto inner) {
                              for (std::int64_t i = 0; i < n; ++i) base[off[0] + i * inner[0]] = v;
                            });
  });
  return *this;
}

Tensor& Tensor::zero_() {
  return fill_(0.0);
}

namespace {
// Every in-place op writes its result into this tensor, so the result's broadcast shape must be
// this tensor's shape (zeros({3}).add_(ones({2, 3})) has 6 results for 3 places).
void check_inplace_shape(const Tensor& self, const Tensor& other, const char* op) {
  EMBER_CHECK(self.defined() && other.defined(), op, ": an input is undefined");
  const Shape out = broadcast_shapes(self.sizes(), other.sizes(), op);
  EMBER_CHECK(out == self.sizes(), op, ": output with shape ", to_string(self.sizes()),
              " doesn't match the broadcast shape ", to_string(out));
}
}  // namespace

Tensor& Tensor::add_(const Tensor& other, double alpha) {
  check_inplace_shape(*this, other, "add_");
  EMBER_CHECK(can_cast(result_type(*this, other), dtype()) &&
                  (is_floating_point(other.dtype()) || alpha == std::trunc(alpha)),
              "add_: a ", other.dtype(), " other with alpha ", alpha, " can't be added into a ",
              dtype(), " tensor (float into integer)");
  const Tensor scale = alpha == 1.0 ? Tensor() : scalar_like(other, alpha, "add_");
  check_inplace(*this, "add_");
  copy_into(*this,
            scale.defined() ? core::add(*this, core::mul(other, scale)) : core::add(*this, other));
  return *this;
}

Tensor& Tensor::mul_(double factor) {
  EMBER_CHECK(defined(), "mul_: the tensor is undefined");
  EMBER_CHECK(can_cast(result_type(*this, factor), dtype()),
              "mul_: result type float32 can't be cast to the desired output type ", dtype());
  const Tensor scale = scalar_like(*this, factor, "mul_");
  check_inplace(*this, "mul_");
  copy_into(*this, core::mul(*this, scale));
  return *this;
}

// --- Copies ---

namespace core {

Tensor clone(const Tensor& t) {
  Tensor out = empty(t.sizes(), t.dtype());
  copy_into(out, t);
  return out;
}

Tensor contiguous(const Tensor& t) {
  return t.is_contiguous() ? t : clone(t);
}

}  // namespace core

// Conversions between dtypes cut the graph (only float32 carries gradients), like PyTorch's
// integer casts; converting to the same dtype returns the tensor itself.
Tensor Tensor::to(Dtype target) const {
  if (target == dtype()) return *this;
  check_convertible(*this, target, "to");
  Tensor out = empty(sizes(), target);
  copy_into(out, *this);
  return out;
}

}  // namespace ember
