// Reductions: sum, mean, max and argmax, over everything or along one dim.
// Note [Fixed reduction order]: every sum runs in one order fixed by the shape alone (serially, in
// double for floats), so results are bitwise identical whatever the thread count. A contiguous
// run is summed into kSumLanes interleaved accumulators, combined pairwise at the end: one running
// sum would be a single chain of dependent adds (~4 cycles each, 4 us for 2560 floats).
#include <cmath>
#include <limits>

#include <ember/autograd/node.h>
#include <ember/core/checked.h>
#include <ember/core/ops.h>

#include "ops/dispatch.h"

namespace ember {

using Grads = std::vector<Tensor>;

namespace {

// A contiguous tensor seen as [outer, R, inner] around the reduced dim. An empty tensor's sizes
// may multiply past int64 ([2^40, 2^40, 5, 0] reduced over dim 2): the strides' check at creation
// bounds every product without dim 0, so inner fits, and outer is taken as 0 when inner is 0;
// otherwise outer * inner is the size of the output, which exists.
struct Around {
  std::int64_t outer = 1, reduced = 1, inner = 1;
};
Around around(const Shape& sizes, std::size_t d) {
  const auto at = sizes.begin() + static_cast<std::ptrdiff_t>(d);
  Around a;
  a.reduced = sizes[d];
  a.inner = checked_numel(Shape(at + 1, sizes.end()), "reduce");
  a.outer = a.inner == 0 ? 0 : checked_numel(Shape(sizes.begin(), at), "reduce");
  return a;
}

Shape reduced_shape(const Shape& sizes, std::size_t d, bool keepdim) {
  Shape out = sizes;
  if (keepdim)
    out[d] = 1;
  else
    out.erase(out.begin() + static_cast<std::ptrdiff_t>(d));
  return out;
}

Dtype sum_dtype(Dtype dtype) {
  return dtype == kFloat32 ? kFloat32 : kInt64;
}

// sum of x[0..n): accumulator j takes the elements j, j + kSumLanes, ...; then
// ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)).
constexpr std::int64_t kSumLanes = 8;
template <class Acc, class T>
Acc sum_run(const T* x, std::int64_t n) {
  Acc acc[kSumLanes] = {};
  std::int64_t i = 0;
  for (; i + kSumLanes <= n; i += kSumLanes)
    for (std::int64_t j = 0; j < kSumLanes; ++j) acc[j] += static_cast<Acc>(x[i + j]);
  for (std::int64_t j = 0; i + j < n; ++j) acc[j] += static_cast<Acc>(x[i + j]);
  for (std::int64_t width = kSumLanes / 2; width > 0; width /= 2)
    for (std::int64_t j = 0; j < width; ++j) acc[j] = acc[2 * j] + acc[2 * j + 1];
  return acc[0];
}

// out[o, i] = sum_r x[o, r, i], accumulated in double (floats) or int64 (integers): r ascending,
// or sum_run's order when inner == 1.
Tensor sum_kernel(const Tensor& input, std::size_t d, bool keepdim) {
  Tensor x = input.contiguous();
  Tensor out = empty(reduced_shape(x.sizes(), d, keepdim), sum_dtype(x.dtype()));
  if (out.numel() == 0) return out;  // no loop over a huge reduced dim of empty rows
  const Around a = around(x.sizes(), d);
  detail::dispatch(x.dtype(), [&]<class T>() {
    // Integers sum in uint64, which wraps (Note [Integer overflow] in elementwise.cpp).
    using Acc = std::conditional_t<std::is_same_v<T, float>, double, std::uint64_t>;
    using Out = std::conditional_t<std::is_same_v<T, float>, float, std::int64_t>;
    const T* src = x.data_ptr<T>();
    Out* dst = out.data_ptr<Out>();
    std::vector<Acc> acc(static_cast<std::size_t>(a.inner));
    for (std::int64_t o = 0; o < a.outer; ++o) {
      if (a.inner == 1) {  // each output sums one contiguous run
        dst[o] = static_cast<Out>(sum_run<Acc>(src + o * a.reduced, a.reduced));
        continue;
      }
      std::fill(acc.begin(), acc.end(), Acc(0));
      for (std::int64_t r = 0; r < a.reduced; ++r) {
        const T* row = src + (o * a.reduced + r) * a.inner;
        for (std::int64_t i = 0; i < a.inner; ++i)
          acc[static_cast<std::size_t>(i)] += static_cast<Acc>(row[i]);
      }
      for (std::int64_t i = 0; i < a.inner; ++i)
        dst[o * a.inner + i] = static_cast<Out>(acc[static_cast<std::size_t>(i)]);
    }
  });
  return out;
}

// Puts a reduced gradient back along the reduced dim: [.., 1, ..] broadcast over the input shape.
Tensor expand_back(const Tensor& g, const Shape& in, std::size_t d, bool keepdim) {
  Tensor gk = keepdim || in.empty() ? g : g.unsqueeze(static_cast<std::int64_t>(d));
  return gk * ones(in);
}

}  // namespace

// d sum(x) / dx = 1 for every element: the gradient is grad_out broadcast to x's shape.
Tensor sum(const Tensor& a) {
  Tensor out = sum_kernel(a.reshape({-1}), 0, false);
  if (autograd::needs_graph({&a})) {
    autograd::record("SumBackward", {a}, out,
                     [in = a.sizes()](const Tensor& g, const std::vector<bool>&) {
                       return Grads{g * ones(in)};
                     });
  }
  return out;
}

Tensor sum(const Tensor& a, std::int64_t dim, bool keepdim) {
  const auto d = static_cast<std::size_t>(wrap_dim(dim, a.dim(), "sum"));
  if (a.dim() == 0) return sum(a);
  Tensor out = sum_kernel(a, d, keepdim);
  if (autograd::needs_graph({&a})) {
    autograd::record("SumBackward", {a}, out,
                     [in = a.sizes(), d, keepdim](const Tensor& g, const std::vector<bool>&) {
                       return Grads{expand_back(g, in, d, keepdim)};
                     });
  }
  return out;
}

// mean = sum / n, so its gradient is grad_out / n everywhere. The mean of nothing is NaN.
Tensor mean(const Tensor& a) {
  EMBER_CHECK(a.dtype() == kFloat32, "mean: expected a float32 tensor, got ", a.dtype(),
              " (convert with .to(ember::kFloat32))");
  return sum(a) / static_cast<double>(a.numel());
}

Tensor mean(const Tensor& a, std::int64_t dim, bool keepdim) {
  EMBER_CHECK(a.dtype() == kFloat32, "mean: expected a float32 tensor, got ", a.dtype(),
              " (convert with .to(ember::kFloat32))");
  return sum(a, dim, keepdim) / static_cast<double>(a.dim() == 0 ? 1 : a.size(dim));
}

// Values and first indices of the maxima along dim; a NaN counts as the maximum (as PyTorch).
std::tuple<Tensor, Tensor> max(const Tensor& a, std::int64_t dim, bool keepdim) {
  const auto d = static_cast<std::size_t>(wrap_dim(dim, a.dim(), "max"));  // 0-d: only -1 and 0
  if (a.dim() == 0) return {a, zeros({}, kInt64)};
  EMBER_CHECK(a.sizes()[d] > 0, "max: cannot reduce over dim ", dim, " of size 0 in shape ",
              to_string(a.sizes()));
  Tensor x = a.contiguous();
  const Shape shape = reduced_shape(x.sizes(), d, keepdim);
  Tensor values = empty(shape, x.dtype());
  Tensor indices = empty(shape, kInt64);
  const Around r = around(x.sizes(), d);
  detail::dispatch(x.dtype(), [&]<class T>() {
    const T* src = x.data_ptr<T>();
    T* val = values.data_ptr<T>();
    std::int64_t* idx = indices.data_ptr<std::int64_t>();
    for (std::int64_t o = 0; o < r.outer; ++o) {
      for (std::int64_t i = 0; i < r.inner; ++i) {
        const T* p = src + o * r.reduced * r.inner + i;
        T best = p[0];
        std::int64_t best_at = 0;
        for (std::int64_t k = 1; k < r.reduced; ++k) {
          const T v = p[k * r.inner];
          if constexpr (std::is_same_v<T, float>) {
            if (std::isnan(best)) break;
            if (v > best || std::isnan(v)) best = v, best_at = k;
          } else {
            if (v > best) best = v, best_at = k;
          }
        }
        val[o * r.inner + i] = best;
        idx[o * r.inner + i] = best_at;
      }
    }
  });
  // The gradient flows only to the chosen element of each slice.
  if (autograd::needs_graph({&a})) {
    autograd::record(
        "MaxBackward", {a}, values,
        [in = a.sizes(), d, keepdim, saved = autograd::SavedTensor(indices)](
            const Tensor& g, const std::vector<bool>&) {
          Tensor idx = saved.get("max");
          Tensor gk = (keepdim ? g : g.unsqueeze(static_cast<std::int64_t>(d))).contiguous();
          Tensor ik = (keepdim ? idx : idx.unsqueeze(static_cast<std::int64_t>(d))).contiguous();
          Tensor grad = zeros(in);
          const Around dims = around(in, d);
          const float* gp = gk.data_ptr<float>();
          const std::int64_t* ip = ik.data_ptr<std::int64_t>();
          float* out = grad.data_ptr<float>();
          for (std::int64_t o = 0; o < dims.outer; ++o)
            for (std::int64_t i = 0; i < dims.inner; ++i)
              out[(o * dims.reduced + ip[o * dims.inner + i]) * dims.inner + i] =
                  gp[o * dims.inner + i];
          return Grads{grad};
        });
  }
  return {values, indices};
}

// The maximum of all elements. Ties share the gradient evenly, as PyTorch's max() does.
Tensor max(const Tensor& a) {
  EMBER_CHECK(a.numel() > 0, "max: cannot take the max of an empty tensor of shape ",
              to_string(a.sizes()));
  Tensor values = std::get<0>(max(a.detach().reshape({-1}), 0, false));
  if (autograd::needs_graph({&a})) {
    autograd::record("MaxBackward", {a}, values,
                     [sx = autograd::SavedTensor(a), sv = autograd::SavedTensor(values)](
                         const Tensor& g, const std::vector<bool>&) {
                       Tensor x = sx.get("max"), v = sv.get("max");
                       Tensor mask = (x == v).to(kFloat32);
                       return Grads{mask * (g / sum(mask))};
                     });
  }
  return values;
}

Tensor argmax(const Tensor& a, std::int64_t dim, bool keepdim) {
  wrap_dim(dim, a.dim(), "argmax");  // named as argmax in the error
  return std::get<1>(max(a.detach(), dim, keepdim));
}

Tensor Tensor::sum() const {
  return ember::sum(*this);
}
Tensor Tensor::sum(std::int64_t d, bool keepdim) const {
  return ember::sum(*this, d, keepdim);
}
Tensor Tensor::mean() const {
  return ember::mean(*this);
}
Tensor Tensor::mean(std::int64_t d, bool keepdim) const {
  return ember::mean(*this, d, keepdim);
}
Tensor Tensor::max() const {
  return ember::max(*this);
}
std::tuple<Tensor, Tensor> Tensor::max(std::int64_t d, bool keepdim) const {
  return ember::max(*this, d, keepdim);
}
Tensor Tensor::argmax(std::int64_t d, bool keepdim) const {
  return ember::argmax(*this, d, keepdim);
}

}  // namespace ember
