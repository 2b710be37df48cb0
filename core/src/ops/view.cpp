// Views: tensors that share their input's storage with other sizes and strides, graph-free
// (autograd/src/ops/view.cpp records them).
#include <ember/core/checked.h>
#include <ember/core/ops.h>

#include "ops/strided.h"

namespace ember {

namespace detail {
Tensor make_view(const Tensor& base, Shape sizes, Shape strides, std::int64_t offset);
}

namespace core {

namespace {

// A view of self with other sizes and strides, at self's offset.
Tensor reshaping_view(const Tensor& self, Shape sizes, Shape strides) {
  return detail::make_view(self, std::move(sizes), std::move(strides), self.storage_offset());
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

Tensor view(const Tensor& self, const Shape& requested) {
  Shape shape = infer_shape(requested, self.numel(), "view", self.sizes());
  Shape strides_out;
  EMBER_CHECK(view_strides(self.sizes(), self.strides(), shape, strides_out),
              "view: a tensor of shape ", to_string(self.sizes()), " and strides ",
              to_string(self.strides()), " cannot be viewed as ", to_string(shape),
              " (use reshape(), which copies)");
  return reshaping_view(self, shape, strides_out);
}

Tensor reshape(const Tensor& self, const Shape& requested) {
  Shape shape = infer_shape(requested, self.numel(), "reshape", self.sizes());
  Shape strides_out;
  if (view_strides(self.sizes(), self.strides(), shape, strides_out))
    return reshaping_view(self, shape, strides_out);
  return view(contiguous(self), shape);
}

Tensor flatten(const Tensor& self, std::int64_t start_dim, std::int64_t end_dim) {
  const auto start = static_cast<std::size_t>(wrap_dim(start_dim, self.dim(), "flatten"));
  const auto end = static_cast<std::size_t>(wrap_dim(end_dim, self.dim(), "flatten"));
  if (self.dim() == 0) return reshape(self, {1});  // dims -1 and 0 only, as PyTorch
  EMBER_CHECK(start <= end, "flatten: start_dim ", start_dim, " comes after end_dim ", end_dim,
              " for shape ", to_string(self.sizes()));
  const Shape& sizes = self.sizes();
  Shape shape(sizes.begin(), sizes.begin() + static_cast<std::ptrdiff_t>(start));
  std::int64_t merged = 1;
  for (std::size_t i = start; i <= end; ++i)
    merged = checked_mul(merged, sizes[i], "flatten", sizes);
  shape.push_back(merged);
  shape.insert(shape.end(), sizes.begin() + static_cast<std::ptrdiff_t>(end) + 1, sizes.end());
  return reshape(self, shape);
}

Tensor unsqueeze(const Tensor& self, std::int64_t d) {
  const auto at = static_cast<std::size_t>(wrap_dim(d, self.dim() + 1, "unsqueeze"));
  Shape shape = self.sizes(), st = self.strides();
  const std::int64_t stride =
      at < st.size() ? checked_mul(st[at], shape[at], "unsqueeze", shape) : 1;
  shape.insert(shape.begin() + static_cast<std::ptrdiff_t>(at), 1);
  st.insert(st.begin() + static_cast<std::ptrdiff_t>(at), stride);
  return reshaping_view(self, shape, st);
}

Tensor squeeze(const Tensor& self, std::int64_t d) {
  const auto at = static_cast<std::size_t>(wrap_dim(d, self.dim(), "squeeze"));
  if (self.dim() == 0 || self.sizes()[at] != 1) return self;  // a 0-d tensor has no dim to drop
  Shape shape = self.sizes(), st = self.strides();
  shape.erase(shape.begin() + static_cast<std::ptrdiff_t>(at));
  st.erase(st.begin() + static_cast<std::ptrdiff_t>(at));
  return reshaping_view(self, shape, st);
}

Tensor transpose(const Tensor& self, std::int64_t dim0, std::int64_t dim1) {
  const auto a = static_cast<std::size_t>(wrap_dim(dim0, self.dim(), "transpose"));
  const auto b = static_cast<std::size_t>(wrap_dim(dim1, self.dim(), "transpose"));
  if (self.dim() == 0) return self;  // dims -1 and 0 both name the 0-d tensor itself, as PyTorch
  Shape shape = self.sizes(), st = self.strides();
  std::swap(shape[a], shape[b]);
  std::swap(st[a], st[b]);
  return reshaping_view(self, shape, st);
}

Tensor t(const Tensor& self) {
  EMBER_CHECK(self.dim() <= 2, "t: expects a tensor with at most 2 dims, got shape ",
              to_string(self.sizes()));
  return self.dim() < 2 ? self : transpose(self, 0, 1);
}

Tensor permute(const Tensor& self, const Shape& dims) {
  EMBER_CHECK(static_cast<std::int64_t>(dims.size()) == self.dim(), "permute: ", dims.size(),
              " dims given for a tensor of shape ", to_string(self.sizes()), ": ", to_string(dims));
  const std::size_t n = dims.size();
  Shape out_sizes(n), out_strides(n);
  std::vector<bool> seen(n, false);
  for (std::size_t i = 0; i < n; ++i) {
    const auto d = static_cast<std::size_t>(wrap_dim(dims[i], self.dim(), "permute"));
    EMBER_CHECK(!seen[d], "permute: dim ", d, " appears twice in ", to_string(dims));
    seen[d] = true;
    out_sizes[i] = self.sizes()[d];
    out_strides[i] = self.strides()[d];
  }
  return reshaping_view(self, out_sizes, out_strides);
}

Tensor narrow(const Tensor& self, std::int64_t d, std::int64_t start_in, std::int64_t length) {
  EMBER_CHECK(self.dim() > 0, "narrow: narrow() cannot be applied to a 0-dim tensor");
  const auto at = static_cast<std::size_t>(wrap_dim(d, self.dim(), "narrow"));
  const std::int64_t size = self.sizes()[at];
  // A negative start counts from the end, as PyTorch: narrow(0, -2, 2) is the last two.
  const std::int64_t start = start_in < 0 && start_in >= -size ? start_in + size : start_in;
  // start <= size - length, not start + length <= size: the sum may overflow.
  EMBER_CHECK(start >= 0 && length >= 0 && length <= size && start <= size - length,
              "narrow: start ", start_in, " and length ", length, " are out of range for dim ", at,
              " of shape ", to_string(self.sizes()));
  Shape shape = self.sizes();
  shape[at] = length;
  return detail::make_view(self, shape, self.strides(),
                           self.storage_offset() + start * self.strides()[at]);
}

Tensor select(const Tensor& self, std::int64_t d, std::int64_t index) {
  EMBER_CHECK(self.dim() > 0, "select: select() cannot be applied to a 0-dim tensor");
  const std::int64_t at = wrap_dim(d, self.dim(), "select");
  EMBER_CHECK(index >= -self.size(at) && index < self.size(at), "select: index ", index,
              " is out of range for dim ", at, " of shape ", to_string(self.sizes()));
  return squeeze(narrow(self, at, index < 0 ? index + self.size(at) : index, 1), at);
}

Tensor slice(const Tensor& self, std::int64_t d, std::int64_t start, std::int64_t length,
             std::int64_t step) {
  const auto at = static_cast<std::size_t>(d);
  Shape sizes = self.sizes(), strides = self.strides();
  const std::int64_t offset = self.storage_offset() + (length > 0 ? start * strides[at] : 0);
  sizes[at] = length;
  strides[at] *= step;
  return detail::make_view(self, sizes, strides, offset);
}

}  // namespace core

}  // namespace ember
