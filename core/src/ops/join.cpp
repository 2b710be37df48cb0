// cat and stack: copies into one new tensor, graph-free (autograd/src/ops/join.cpp records them).
#include <limits>

#include <ember/core/ops.h>

namespace ember::core {

// out = [t0; t1; ...] along dim.
Tensor cat(const std::vector<Tensor>& tensors, std::int64_t dim) {
  EMBER_CHECK(!tensors.empty(), "cat: expected a non-empty list of tensors");
  for (std::size_t i = 0; i < tensors.size(); ++i)
    EMBER_CHECK(tensors[i].defined(), "cat: tensor ", i, " is undefined");
  const Tensor& first = tensors[0];
  EMBER_CHECK(first.dim() > 0,
              "cat: zero-dimensional tensor (at position 0) cannot be "
              "concatenated");
  const auto d = static_cast<std::size_t>(wrap_dim(dim, first.dim(), "cat"));
  Dtype type = first.dtype();
  Shape shape = first.sizes();
  shape[d] = 0;
  std::vector<std::int64_t> offsets;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    EMBER_CHECK(t.dim() == first.dim(), "cat: tensor ", i, " has shape ", to_string(t.sizes()),
                " but tensor 0 has shape ", to_string(first.sizes()),
                " (all need the same number of dims)");
    for (std::size_t k = 0; k < shape.size(); ++k)
      EMBER_CHECK(k == d || t.sizes()[k] == first.sizes()[k],
                  "cat: sizes of tensors must match "
                  "except in dim ",
                  d, ": tensor 0 has shape ", to_string(first.sizes()), " and tensor ", i,
                  " has shape ", to_string(t.sizes()));
    offsets.push_back(shape[d]);
    EMBER_CHECK(shape[d] <= std::numeric_limits<std::int64_t>::max() - t.sizes()[d],
                "cat: the result's dim ", d, " would overflow");
    shape[d] += t.sizes()[d];
    type = promote_types(type, t.dtype());
  }
  Tensor out = empty(shape, type);
  for (std::size_t i = 0; i < tensors.size(); ++i)
    narrow(out, static_cast<std::int64_t>(d), offsets[i], tensors[i].sizes()[d]).copy_(tensors[i]);
  return out;
}
// stack = cat of the inputs each given a new dim of size 1 at `dim`.
Tensor stack(const std::vector<Tensor>& tensors, std::int64_t dim) {
  EMBER_CHECK(!tensors.empty(), "stack: expected a non-empty list of tensors");
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    EMBER_CHECK(tensors[i].defined(), "stack: tensor ", i, " is undefined");
    EMBER_CHECK(tensors[i].sizes() == tensors[0].sizes(),
                "stack: expects each tensor to be equal size, but got ",
                to_string(tensors[0].sizes()), " at entry 0 and ", to_string(tensors[i].sizes()),
                " at entry ", i);
  }
  const std::int64_t d = wrap_dim(dim, tensors[0].dim() + 1, "stack");
  std::vector<Tensor> expanded;
  for (const Tensor& t : tensors) expanded.push_back(unsqueeze(t, d));
  return cat(expanded, d);
}

}  // namespace ember::core
