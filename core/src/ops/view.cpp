// Views: tensors that share their input's storage with other sizes and strides. The gradient of a
// view is the incoming gradient put back into the input's shape.
#include <ember/autograd/node.h>
#include <ember/core/checked.h>
#include <ember/core/ops.h>

#include "ops/strided.h"

namespace ember {

namespace detail {
Tensor make_view(const Tensor& base, Shape sizes, Shape strides, std::int64_t offset);
}

using Grads = std::vector<Tensor>;

namespace {

// Records a view whose gradient is grad_out reshaped to the input's shape.
Tensor reshaping_view(const Tensor& self, Shape sizes, Shape strides, const char* name) {
  Tensor out = detail::make_view(self, std::move(sizes), std::move(strides), self.storage_offset());
  if (autograd::needs_graph({&self})) {
    autograd::record(name, {self}, out,
                     [shape = self.sizes()](const Tensor& g, const std::vector<bool>&) {
                       return Grads{g.reshape(shape)};
                     });
  }
  return out;
}

// Resolves one -1 in a requested shape, checking the element count.
Shape infer_shape(const Shape& requested, std::int64_t numel, const char* op, const Shape& from) {
  Shape shape = requested;
  std::int64_t infer = -1;
  bool has_zero = false;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      EMBER_CHECK(infer < 0, op, ": only one dim can be -1 in ", to_string(requested));
      infer = static_cast<std::int64_t>(i);
    } else {
      EMBER_CHECK(shape[i] >= 0, op, ": invalid size ", shape[i], " in ", to_string(requested));
      has_zero = has_zero || shape[i] == 0;
    }
  }
  if (infer >= 0) {
    // The known sizes' product, checked: with a -1 none of them is 0 (that would be ambiguous).
    std::int64_t known = 1;
    for (std::size_t i = 0; i < shape.size() && !has_zero; ++i)
      if (static_cast<std::int64_t>(i) != infer)
        known = checked_mul(known, shape[i], op, requested);
    EMBER_CHECK(!has_zero && numel % known == 0, op, ": shape ", to_string(requested),
                " is invalid for input of shape ", to_string(from), " (", numel, " elements)");
    shape[static_cast<std::size_t>(infer)] = numel / known;
  }
  EMBER_CHECK(checked_numel(shape, op) == numel, op, ": shape ", to_string(requested),
              " is invalid for input of shape ", to_string(from), " (", numel, " elements)");
  return shape;
}

// Strides for viewing (sizes, strides) as `shape` without copying, or empty if impossible: each
// group of old dims that maps onto a group of new dims must be contiguous within itself.
// (The same algorithm as PyTorch's computeStride.)
bool view_strides(const Shape& sizes, const Shape& strides, const Shape& shape, Shape& out) {
  out.assign(shape.size(), 0);
  if (numel_of(sizes) == 0 || sizes.empty()) {  // nothing, or one element: any layout works
    out = detail::contiguous_strides(shape);
    return true;
  }
  std::int64_t view_d = static_cast<std::int64_t>(shape.size()) - 1;
  std::int64_t chunk_base_stride = strides.empty() ? 1 : strides.back();
  std::int64_t tensor_numel = 1, view_numel = 1;
  for (std::int64_t d = static_cast<std::int64_t>(sizes.size()) - 1; d >= 0; --d) {
    const auto ud = static_cast<std::size_t>(d);
    tensor_numel *= sizes[ud];
    if (d == 0 || (sizes[ud - 1] != 1 && strides[ud - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 &&
             (view_numel < tensor_numel || shape[static_cast<std::size_t>(view_d)] == 1)) {
        out[static_cast<std::size_t>(view_d)] = view_numel * chunk_base_stride;
        view_numel *= shape[static_cast<std::size_t>(view_d)];
        --view_d;
      }
      if (view_numel != tensor_numel) return false;
      if (d > 0) {
        chunk_base_stride = strides[ud - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  return view_d == -1;
}

}  // namespace

Tensor Tensor::view(const Shape& requested) const {
  Shape shape = infer_shape(requested, numel(), "view", sizes());
  Shape strides_out;
  EMBER_CHECK(view_strides(sizes(), strides(), shape, strides_out), "view: a tensor of shape ",
              to_string(sizes()), " and strides ", to_string(strides()), " cannot be viewed as ",
              to_string(shape), " (use reshape(), which copies)");
  return reshaping_view(*this, shape, strides_out, "ViewBackward");
}

Tensor Tensor::reshape(const Shape& requested) const {
  Shape shape = infer_shape(requested, numel(), "reshape", sizes());
  Shape strides_out;
  if (view_strides(sizes(), strides(), shape, strides_out))
    return reshaping_view(*this, shape, strides_out, "ReshapeBackward");
  return contiguous().view(shape);
}

Tensor Tensor::flatten(std::int64_t start_dim, std::int64_t end_dim) const {
  const auto start = static_cast<std::size_t>(wrap_dim(start_dim, dim(), "flatten"));
  const auto end = static_cast<std::size_t>(wrap_dim(end_dim, dim(), "flatten"));
  if (dim() == 0) return reshape({1});  // dims -1 and 0 only, as PyTorch
  EMBER_CHECK(start <= end, "flatten: start_dim ", start_dim, " comes after end_dim ", end_dim,
              " for shape ", to_string(sizes()));
  Shape shape(sizes().begin(), sizes().begin() + static_cast<std::ptrdiff_t>(start));
  std::int64_t merged = 1;
  for (std::size_t i = start; i <= end; ++i)
    merged = checked_mul(merged, sizes()[i], "flatten", sizes());
  shape.push_back(merged);
  shape.insert(shape.end(), sizes().begin() + static_cast<std::ptrdiff_t>(end) + 1, sizes().end());
  return reshape(shape);
}

Tensor Tensor::unsqueeze(std::int64_t d) const {
  const auto at = static_cast<std::size_t>(wrap_dim(d, dim() + 1, "unsqueeze"));
  Shape shape = sizes(), st = strides();
  const std::int64_t stride =
      at < st.size() ? checked_mul(st[at], shape[at], "unsqueeze", shape) : 1;
  shape.insert(shape.begin() + static_cast<std::ptrdiff_t>(at), 1);
  st.insert(st.begin() + static_cast<std::ptrdiff_t>(at), stride);
  return reshaping_view(*this, shape, st, "UnsqueezeBackward");
}

Tensor Tensor::squeeze(std::int64_t d) const {
  const auto at = static_cast<std::size_t>(wrap_dim(d, dim(), "squeeze"));
  if (dim() == 0 || sizes()[at] != 1) return *this;  // a 0-d tensor has no dim to drop
  Shape shape = sizes(), st = strides();
  shape.erase(shape.begin() + static_cast<std::ptrdiff_t>(at));
  st.erase(st.begin() + static_cast<std::ptrdiff_t>(at));
  return reshaping_view(*this, shape, st, "SqueezeBackward");
}

// The gradient of a transpose is the transposed gradient.
Tensor Tensor::transpose(std::int64_t dim0, std::int64_t dim1) const {
  const auto a = static_cast<std::size_t>(wrap_dim(dim0, dim(), "transpose"));
  const auto b = static_cast<std::size_t>(wrap_dim(dim1, dim(), "transpose"));
  if (dim() == 0) return *this;  // dims -1 and 0 both name the 0-d tensor itself, as PyTorch
  Shape shape = sizes(), st = strides();
  std::swap(shape[a], shape[b]);
  std::swap(st[a], st[b]);
  Tensor out = detail::make_view(*this, shape, st, storage_offset());
  if (autograd::needs_graph({this})) {
    autograd::record(
        "TransposeBackward", {*this}, out, [a, b](const Tensor& g, const std::vector<bool>&) {
          return Grads{g.transpose(static_cast<std::int64_t>(a), static_cast<std::int64_t>(b))};
        });
  }
  return out;
}

Tensor Tensor::t() const {
  EMBER_CHECK(dim() <= 2, "t: expects a tensor with at most 2 dims, got shape ",
              to_string(sizes()));
  return dim() < 2 ? *this : transpose(0, 1);
}

Tensor transpose(const Tensor& a, std::int64_t dim0, std::int64_t dim1) {
  return a.transpose(dim0, dim1);
}

// The gradient of a slice is zero outside the slice and the incoming gradient inside it.
Tensor Tensor::narrow(std::int64_t d, std::int64_t start, std::int64_t length) const {
  EMBER_CHECK(dim() > 0, "narrow: narrow() cannot be applied to a 0-dim tensor");
  const auto at = static_cast<std::size_t>(wrap_dim(d, dim(), "narrow"));
  // start <= size - length, not start + length <= size: the sum may overflow.
  EMBER_CHECK(start >= 0 && length >= 0 && length <= sizes()[at] && start <= sizes()[at] - length,
              "narrow: start ", start, " and length ", length, " are out of range for dim ", at,
              " of shape ", to_string(sizes()));
  Shape shape = sizes();
  shape[at] = length;
  Tensor out = detail::make_view(*this, shape, strides(), storage_offset() + start * strides()[at]);
  if (autograd::needs_graph({this})) {
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
  EMBER_CHECK(dim() > 0, "select: select() cannot be applied to a 0-dim tensor");
  const std::int64_t at = wrap_dim(d, dim(), "select");
  EMBER_CHECK(index >= -size(at) && index < size(at), "select: index ", index,
              " is out of range for dim ", at, " of shape ", to_string(sizes()));
  return narrow(at, index < 0 ? index + size(at) : index, 1).squeeze(at);
}

}  // namespace ember
