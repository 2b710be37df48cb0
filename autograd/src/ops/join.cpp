// cat and stack, differentiable: core::cat and core::stack compute (core/src/ops/join.cpp); the
// gradient of each input is its slice of the output's gradient.
#include <ember/autograd/node.h>
#include <ember/autograd/ops.h>

namespace ember {

using autograd::Grads;

namespace {
// out = [t0; t1; ...] along dim d (wrapped). d/dti = grad_out.narrow(d, offset_i, size_i).
void record_cat(const std::vector<Tensor>& tensors, std::size_t d, Tensor& out) {
  std::vector<std::int64_t> offsets, sizes;
  std::int64_t offset = 0;
  for (const Tensor& t : tensors) {
    offsets.push_back(offset);
    sizes.push_back(t.sizes()[d]);
    offset += t.sizes()[d];
  }
  autograd::record("CatBackward", tensors, out,
                   [d, offsets, sizes](const Tensor& g, const std::vector<bool>& needs) {
                     Grads grads(needs.size());
                     for (std::size_t i = 0; i < needs.size(); ++i)
                       if (needs[i])
                         grads[i] = g.narrow(static_cast<std::int64_t>(d), offsets[i], sizes[i]);
                     return grads;
                   });
}
}  // namespace

Tensor cat(const std::vector<Tensor>& tensors, std::int64_t dim) {
  Tensor out = core::cat(tensors, dim);
  if (autograd::needs_graph(tensors))
    record_cat(tensors, static_cast<std::size_t>(wrap_dim(dim, tensors[0].dim(), "cat")), out);
  return out;
}

// stack = cat of the inputs each given a new dim of size 1 at `dim` (recorded as such).
Tensor stack(const std::vector<Tensor>& tensors, std::int64_t dim) {
  Tensor out = core::stack(tensors, dim);
  if (autograd::needs_graph(tensors)) {
    const std::int64_t d = wrap_dim(dim, tensors[0].dim() + 1, "stack");
    std::vector<Tensor> expanded;
    for (const Tensor& t : tensors) expanded.push_back(t.unsqueeze(d));
    record_cat(expanded, static_cast<std::size_t>(d), out);
  }
  return out;
}

}  // namespace ember
