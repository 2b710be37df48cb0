// Views, differentiable: each computes with its ember::core view (core/src/ops/view.cpp) and
// records how the gradient goes back. The gradient of a view is the incoming gradient put back
// into the input's shape.
#include <ember/autograd/node.h>
#include <ember/autograd/ops.h>

namespace ember {

using autograd::Grads;

namespace {

// Records a view whose gradient is grad_out reshaped to the input's shape.
Tensor reshaping_view(const Tensor& self, Tensor out, const char* name) {
  if (autograd::needs_graph({&self})) {
    autograd::record(name, {self}, out,
                     [shape = self.sizes()](const Tensor& g, const std::vector<bool>&) {
                       return Grads{g.reshape(shape)};
                     });
  }
  return out;
}

// core::reshape's result, recorded: a view of self is a ReshapeBackward; a copy (the strides
// allow no view) is recorded as the contiguous() copy it is, then viewed (CloneBackward, then
// ViewBackward), without copying again.
Tensor recorded_reshape(const Tensor& self, const Tensor& out) {
  if (!autograd::needs_graph({&self})) return out;
  if (out.storage() == self.storage()) return reshaping_view(self, out, "ReshapeBackward");
  Tensor copy = core::view(out, self.sizes());  // what self.contiguous() gives
  // The gradient of a copy is the gradient itself.
  autograd::record("CloneBackward", {self}, copy,
                   [](const Tensor& g, const std::vector<bool>&) { return Grads{g}; });
  return copy.view(out.sizes());
}

// The gradient of a transpose is the transposed gradient.
Tensor record_transpose(const Tensor& self, Tensor out, std::int64_t a, std::int64_t b) {
  if (out.impl() != self.impl() && autograd::needs_graph({&self})) {
    autograd::record(
        "TransposeBackward", {self}, out,
        [a, b](const Tensor& g, const std::vector<bool>&) { return Grads{g.transpose(a, b)}; });
  }
  return out;
}

}  // namespace

Tensor Tensor::view(const Shape& shape) const {
  return reshaping_view(*this, core::view(*this, shape), "ViewBackward");
}

Tensor Tensor::reshape(const Shape& shape) const {
  return recorded_reshape(*this, core::reshape(*this, shape));
}

Tensor Tensor::flatten(std::int64_t start_dim, std::int64_t end_dim) const {
  return recorded_reshape(*this, core::flatten(*this, start_dim, end_dim));
}

Tensor Tensor::unsqueeze(std::int64_t d) const {
  return reshaping_view(*this, core::unsqueeze(*this, d), "UnsqueezeBackward");
}

Tensor Tensor::squeeze(std::int64_t d) const {
  Tensor out = core::squeeze(*this, d);
  if (out.impl() == impl()) return out;  // nothing squeezed: this tensor itself
  return reshaping_view(*this, out, "SqueezeBackward");
}

Tensor Tensor::transpose(std::int64_t dim0, std::int64_t dim1) const {
  Tensor out = core::transpose(*this, dim0, dim1);
  if (dim() == 0) return out;  // this tensor itself
  return record_transpose(*this, out, wrap_dim(dim0, dim(), "transpose"),
                          wrap_dim(dim1, dim(), "transpose"));
}

Tensor Tensor::t() const {
  return record_transpose(*this, core::t(*this), 0, 1);
}

Tensor transpose(const Tensor& a, std::int64_t dim0, std::int64_t dim1) {
  return a.transpose(dim0, dim1);
}

// The gradient of a permutation is the gradient permuted back.
Tensor Tensor::permute(const Shape& dims) const {
  Tensor out = core::permute(*this, dims);
  if (autograd::needs_graph({this})) {
    Shape inverse(dims.size());
    for (std::size_t i = 0; i < dims.size(); ++i)
      inverse[static_cast<std::size_t>(wrap_dim(dims[i], dim(), "permute"))] =
          static_cast<std::int64_t>(i);
    autograd::record(
        "PermuteBackward", {*this}, out,
        [inverse](const Tensor& g, const std::vector<bool>&) { return Grads{g.permute(inverse)}; });
  }
  return out;
}

// The gradient of a slice is zero outside the slice and the incoming gradient inside it.
Tensor Tensor::narrow(std::int64_t d, std::int64_t start_in, std::int64_t length) const {
  Tensor out = core::narrow(*this, d, start_in, length);
  if (autograd::needs_graph({this})) {
    const std::int64_t size = sizes()[static_cast<std::size_t>(wrap_dim(d, dim(), "narrow"))];
    const std::int64_t start = start_in < 0 && start_in >= -size ? start_in + size : start_in;
    autograd::record("NarrowBackward", {*this}, out,
                     [in = sizes(), d, start, length](const Tensor& g, const std::vector<bool>&) {
                       Tensor grad = zeros(in);
                       grad.narrow(d, start, length).copy_(g);
                       return Grads{grad};
                     });
  }
  return out;
}

Tensor Tensor::select(std::int64_t d, std::int64_t index) const {
  Tensor out = core::select(*this, d, index);  // checks the dim and the index
  if (!autograd::needs_graph({this})) return out;
  const std::int64_t at = wrap_dim(d, dim(), "select");
  return narrow(at, index < 0 ? index + size(at) : index, 1).squeeze(at);
}

}  // namespace ember
