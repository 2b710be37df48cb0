// Reductions, differentiable: sum, mean, max, min and logsumexp compute with their ember::core
// functions (core/src/ops/reduce.cpp) and record their gradients here.
#include <cmath>

#include <ember/autograd/node.h>
#include <ember/autograd/ops.h>

namespace ember {

using autograd::Grads;

namespace {
// Puts a reduced gradient back along the reduced dim: [.., 1, ..] broadcast over the input shape.
Tensor expand_back(const Tensor& g, const Shape& in, std::size_t d, bool keepdim) {
  Tensor gk = keepdim || in.empty() ? g : g.unsqueeze(static_cast<std::int64_t>(d));
  return gk * ones(in);
}
}  // namespace

// d sum(x) / dx = 1 for every element: the gradient is grad_out broadcast to x's shape.
Tensor sum(const Tensor& a) {
  Tensor out = core::sum(a);
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
  Tensor out = core::sum(a, dim, keepdim);
  if (autograd::needs_graph({&a})) {
    autograd::record("SumBackward", {a}, out,
                     [in = a.sizes(), d, keepdim](const Tensor& g, const std::vector<bool>&) {
                       return Grads{expand_back(g, in, d, keepdim)};
                     });
  }
  return out;
}

// mean = sum / n, so its gradient is grad_out / n everywhere (sum's and div's). The mean of
// nothing is NaN.
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

// The gradient flows only to the chosen element of each slice.
std::tuple<Tensor, Tensor> max(const Tensor& a, std::int64_t dim, bool keepdim) {
  auto [values, indices] = core::max(a, dim, keepdim);
  if (a.dim() > 0 && autograd::needs_graph({&a})) {
    const std::int64_t d = wrap_dim(dim, a.dim(), "max");
    autograd::record("MaxBackward", {a}, values,
                     [in = a.sizes(), d, keepdim, saved = autograd::SavedTensor(indices)](
                         const Tensor& g, const std::vector<bool>&) {
                       return Grads{core::value_selecting_reduction_backward(g, d, saved.get("max"),
                                                                             in, keepdim)};
                     });
  }
  return {values, indices};
}

// The maximum of all elements. Ties share the gradient evenly, as PyTorch's max() does.
Tensor max(const Tensor& a) {
  Tensor values = core::max(a);
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

// The values are gathered at the indices, so the gradient flows to the chosen element of each
// slice through gather's scatter-add.
std::tuple<Tensor, Tensor> min(const Tensor& a, std::int64_t dim, bool keepdim) {
  if (!autograd::needs_graph({&a}) || a.dim() == 0) return core::min(a, dim, keepdim);
  const std::int64_t d = wrap_dim(dim, a.dim(), "min");
  const Tensor kept = std::get<1>(core::min(a, dim, true));
  Tensor values = a.gather(d, kept);
  if (!keepdim) values = values.squeeze(d);
  return {values, keepdim ? kept : core::squeeze(kept, d)};
}

// The minimum of all elements; NaN if any is NaN. Ties share the gradient evenly (as PyTorch's
// min()): out = sum(x where x == m) / count(x == m) has exactly that gradient.
Tensor min(const Tensor& a) {
  const Tensor m = core::min(a);
  if (!autograd::needs_graph({&a})) return m;
  // A NaN minimum is shared by the NaNs (PyTorch's evenly_distribute_backward).
  const Tensor x = a.detach();
  const Tensor tie = std::isnan(m.item<float>()) ? x != x : x == m;
  return where(tie, a, zeros({})).sum() / tie.sum();
}

// See Note [Stable logsumexp] in core/src/ops/reduce.cpp: m is a constant (detached), so the
// gradient is that of log(sum(exp(x - m))), softmax(x), recorded by the ops it is built from.
Tensor logsumexp(const Tensor& a, std::int64_t dim, bool keepdim) {
  if (!autograd::needs_graph({&a})) return core::logsumexp(a, dim, keepdim);
  const Tensor x = a.to(kFloat32);
  const std::int64_t d = wrap_dim(dim, std::max<std::int64_t>(x.dim(), 1), "logsumexp");
  if (x.dim() == 0) return x.clone();
  Tensor m = x.numel() == 0 ? zeros({}) : std::get<0>(core::max(x, d, true));
  m = core::where(core::abs(m) == INFINITY, zeros({}), m);
  Tensor out = log((x - m).exp().sum(d, true)) + m;
  return keepdim ? out : out.squeeze(d);
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
