// min (over everything and along a dim) and logsumexp, built on core kernels and ops.
#include <cmath>
#include <limits>

#include <ember/autograd/grad_mode.h>
#include <ember/autograd/node.h>
#include <ember/core/ops.h>

#include "ops/dispatch.h"

namespace ember {

namespace {
// First index of the minimum along `d` of a contiguous x, a NaN counting as the minimum (as
// PyTorch): [outer, R, inner] -> [outer, inner].
Tensor argmin_kernel(const Tensor& x, std::size_t d, bool keepdim) {
  std::int64_t outer = 1, inner = 1;
  const std::int64_t reduced = x.sizes()[d];
  for (std::size_t i = 0; i < x.sizes().size(); ++i) {
    if (i < d) outer *= x.sizes()[i];
    if (i > d) inner *= x.sizes()[i];
  }
  Shape shape = x.sizes();
  if (keepdim)
    shape[d] = 1;
  else
    shape.erase(shape.begin() + static_cast<std::ptrdiff_t>(d));
  Tensor indices = empty(shape, kInt64);
  std::int64_t* idx = indices.data_ptr<std::int64_t>();
  detail::dispatch(x.dtype(), [&]<class T>() {
    const T* src = x.data_ptr<T>();
    for (std::int64_t o = 0; o < outer; ++o) {
      for (std::int64_t i = 0; i < inner; ++i) {
        const T* p = src + o * reduced * inner + i;
        T best = p[0];
        std::int64_t best_at = 0;
        for (std::int64_t k = 1; k < reduced; ++k) {
          const T v = p[k * inner];
          if constexpr (std::is_same_v<T, float>) {
            if (std::isnan(best)) break;
            if (v < best || std::isnan(v)) best = v, best_at = k;
          } else {
            if (v < best) best = v, best_at = k;
          }
        }
        idx[o * inner + i] = best_at;
      }
    }
  });
  return indices;
}
}  // namespace

// The values are gathered at the indices, so the gradient flows to the chosen element of each
// slice through gather's scatter-add.
std::tuple<Tensor, Tensor> min(const Tensor& a, std::int64_t dim, bool keepdim) {
  EMBER_CHECK(a.defined(), "min: the tensor is undefined");
  if (a.dim() == 0) return {a, zeros({}, kInt64)};
  const auto d = static_cast<std::size_t>(wrap_dim(dim, a.dim(), "min"));
  EMBER_CHECK(a.sizes()[d] > 0, "min: cannot reduce over dim ", dim, " of size 0 in shape ",
              to_string(a.sizes()));
  const Tensor kept = argmin_kernel(a.contiguous(), d, true);
  Tensor values = a.gather(static_cast<std::int64_t>(d), kept);
  if (!keepdim) values = values.squeeze(static_cast<std::int64_t>(d));
  return {values, keepdim ? kept : kept.squeeze(static_cast<std::int64_t>(d))};
}

// The minimum of all elements; NaN if any is NaN. Ties share the gradient evenly (as PyTorch's
// min()): out = sum(x where x == m) / count(x == m) has exactly that gradient.
Tensor min(const Tensor& a) {
  EMBER_CHECK(a.defined(), "min: the tensor is undefined");
  EMBER_CHECK(a.numel() > 0, "min: cannot take the min of an empty tensor of shape ",
              to_string(a.sizes()));
  const Tensor m = std::get<0>(min(a.detach().reshape({-1}), 0, false));
  if (!autograd::needs_graph({&a})) return m;
  // A NaN minimum is shared by the NaNs (PyTorch's evenly_distribute_backward).
  const Tensor x = a.detach();
  const Tensor tie = std::isnan(m.item<float>()) ? x != x : x == m;
  return where(tie, a, zeros({})).sum() / tie.sum();
}

// Note [Stable logsumexp]: log sum_k exp(x_k) = m + log sum_k exp(x_k - m) with m the row max, so
// no exp overflows at x = 1e4. An infinite m is replaced by 0 (as PyTorch): a row of -inf gives
// log(0) = -inf, and a row holding +inf gives +inf, rather than inf - inf = NaN. m is a constant
// (detached), so the gradient is that of log(sum(exp(x - m))): softmax(x).
Tensor logsumexp(const Tensor& a, std::int64_t dim, bool keepdim) {
  EMBER_CHECK(a.defined(), "logsumexp: the tensor is undefined");
  const Tensor x = a.to(kFloat32);
  const std::int64_t d = wrap_dim(dim, std::max<std::int64_t>(x.dim(), 1), "logsumexp");
  if (x.dim() == 0) return x.clone();
  Tensor m = x.numel() == 0 ? zeros({}) : std::get<0>(max(x.detach(), d, true));
  m = where(abs(m) == INFINITY, zeros({}), m);
  Tensor out = log((x - m).exp().sum(d, true)) + m;
  return keepdim ? out : out.squeeze(d);
}

Tensor Tensor::min() const {
  return ember::min(*this);
}
std::tuple<Tensor, Tensor> Tensor::min(std::int64_t d, bool keepdim) const {
  return ember::min(*this, d, keepdim);
}
Tensor Tensor::logsumexp(std::int64_t d, bool keepdim) const {
  return ember::logsumexp(*this, d, keepdim);
}

}  // namespace ember
