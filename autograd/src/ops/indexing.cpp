// Indexing, differentiable: index, index_put_, index_put, gather, index_select, where and
// masked_fill compute with their ember::core functions (core/src/ops/indexing.cpp) and record
// their backward right below.
#include <memory>

#include <ember/autograd/node.h>
#include <ember/autograd/ops.h>

namespace ember {

using autograd::Grads;
using autograd::SavedTensor;
using indexing::TensorIndex;

namespace {

// A strided slice, recorded: its gradient is zero outside the slice.
Tensor recorded_slice(const Tensor& self, std::int64_t d, std::int64_t start, std::int64_t length,
                      std::int64_t step) {
  Tensor out = core::slice(self, d, start, length, step);
  if (autograd::needs_graph({&self})) {
    autograd::record(
        "SliceBackward", {self}, out,
        [in = self.sizes(), d, start, length, step](const Tensor& g, const std::vector<bool>&) {
          Tensor grad = zeros(in);
          core::slice(grad, d, start, length, step).copy_(g);
          return Grads{grad};
        });
  }
  return out;
}

// out[b, rest...] = src[positions[b], rest...].
// Backward: each gathered element's gradient is added back where it came from (a scatter-add,
// so an element gathered twice gets both gradients).
Tensor recorded_gather(const core::IndexGather& g) {
  Tensor out = core::index_gather(g);
  if (autograd::needs_graph({&g.src})) {
    auto positions = std::make_shared<const std::vector<std::int64_t>>(g.positions);
    autograd::record(
        "IndexBackward", {g.src}, out,
        [in_shape = g.src.sizes(), positions, k = g.k, count = numel_of(g.batch)](
            const Tensor& grad_out, const std::vector<bool>&) {
          return Grads{core::index_gather_backward(grad_out, in_shape, *positions, k, count)};
        });
  }
  return out;
}

// index() as core walks it (Note [Index as views] in core/include/ember/core/indexing.h), each
// step recorded.
const core::IndexSteps kRecordedSteps{
    [](const Tensor& t, std::int64_t d, std::int64_t i) { return t.select(d, i); }, recorded_slice,
    [](const Tensor& t, std::int64_t d) { return t.unsqueeze(d); },
    [](const Tensor& t, const Shape& dims) { return t.permute(dims); }, recorded_gather};

}  // namespace

Tensor index(const Tensor& self, const std::vector<TensorIndex>& indices) {
  if (!autograd::needs_graph({&self})) return core::index(self, indices);
  return core::index_with(self, indices, kRecordedSteps);
}

Tensor Tensor::index(const std::vector<TensorIndex>& indices) const {
  return ember::index(*this, indices);
}

namespace {

// The index list as backward needs it: its tensors as SavedTensors, so that an index changed in
// place before backward is reported instead of sending gradients to the wrong positions.
class SavedIndices {
 public:
  explicit SavedIndices(const std::vector<TensorIndex>& indices) : indices_(indices) {
    for (const TensorIndex& idx : indices)
      if (idx.kind() == TensorIndex::Kind::TensorIndex) tensors_.emplace_back(idx.tensor());
  }
  std::vector<TensorIndex> get(const char* op) const {
    std::vector<TensorIndex> out = indices_;
    std::size_t j = 0;
    for (TensorIndex& idx : out)
      if (idx.kind() == TensorIndex::Kind::TensorIndex) idx = tensors_[j++].get(op);
    return out;
  }

 private:
  std::vector<TensorIndex> indices_;
  std::vector<SavedTensor> tensors_;
};

// out = self with out[indices] = values (accumulate: out[indices] += values).
// Backward: without accumulate the written positions of self are overwritten, so grad_self is
// grad_out with them zeroed; with accumulate out = self + (values scattered), so grad_self =
// grad_out. Each value lands at its indexed positions: grad_values = grad_out[indices], summed
// over the dims values was broadcast along (as PyTorch, also for repeated indices without
// accumulate, where only one write survives but every value gets the gradient).
// The self edge is self's grad_fn at the time of the call: for index_put_, before the rebase.
void record_index_put(const Tensor& self, const std::vector<TensorIndex>& indices,
                      const Tensor& value, bool accumulate, Tensor& out) {
  autograd::record("IndexPutBackward", {self, value}, out,
                   [saved = SavedIndices(indices), accumulate, value_shape = value.sizes()](
                       const Tensor& g, const std::vector<bool>& needs) {
                     const std::vector<TensorIndex> idx = saved.get("index_put");
                     Tensor grad_self, grad_value;
                     if (needs[0])
                       grad_self = accumulate ? g : core::index_put(g, idx, zeros({}), false);
                     if (needs[1]) grad_value = autograd::sum_to(index(g, idx), value_shape);
                     return Grads{grad_self, grad_value};
                   });
}

}  // namespace

Tensor index_put(const Tensor& self, const std::vector<TensorIndex>& indices, const Tensor& value,
                 bool accumulate) {
  Tensor out = core::index_put(self, indices, value, accumulate);
  if (autograd::needs_graph({&self, &value}))
    record_index_put(self, indices, value, accumulate, out);
  return out;
}

Tensor Tensor::index_put(const std::vector<TensorIndex>& indices, const Tensor& value,
                         bool accumulate) const {
  return ember::index_put(*this, indices, value, accumulate);
}

// In place on a graph tensor, as PyTorch: self's grad_fn is rebased onto an IndexPutBackward
// node whose self edge is the old grad_fn, so what used self before the write keeps its
// gradient and what uses it after gets index_put's. That is sound only when no other tensor
// shares self's storage: a view of self, the tensor self is a view of, or a tensor an op saved
// for backward would see the new values while its graph still describes the old ones. So a
// graph write requires self to own its storage alone (self.clone(), an op's fresh output), and
// is refused on a leaf that requires grad (its grad is the gradient of the old values).
Tensor& index_put_(Tensor& self, const std::vector<TensorIndex>& indices, const Tensor& value,
                   bool accumulate) {
  EMBER_CHECK(self.defined() && value.defined(), "index_put_: an input is undefined");
  EMBER_CHECK(can_cast(value.dtype(), self.dtype()), "index_put_: a ", value.dtype(),
              " value can't be written into a ", self.dtype(), " tensor");
  const bool graph = autograd::needs_graph({&self, &value});
  if (graph) {
    EMBER_CHECK(!(self.is_leaf() && self.requires_grad()),
                "index_put_: in-place change of a tensor that requires grad (a leaf: update it "
                "inside a NoGradGuard)");
    const long others = self.storage().use_count() - 1;
    EMBER_CHECK(others == 0, "index_put_: in-place change of a tensor of shape ",
                to_string(self.sizes()), " in the autograd graph that shares its storage with ",
                others, " other tensor", others == 1 ? "" : "s",
                " (a view, the tensor it views, or a tensor saved for backward), whose gradient "
                "would then be wrong: use the out-of-place ember::index_put");
  }
  core::index_put_(self, indices, value, accumulate);
  if (graph) record_index_put(self, indices, value, accumulate, self);
  return self;
}

Tensor& Tensor::index_put_(const std::vector<TensorIndex>& indices, const Tensor& value,
                           bool accumulate) {
  return ember::index_put_(*this, indices, value, accumulate);
}

// out[e] = self[offset(e)].
// Backward: grad_self[offset(e)] += grad_out[e] (scatter-add; repeated indices accumulate).
Tensor gather(const Tensor& self, std::int64_t dim, const Tensor& index) {
  Tensor out = core::gather(self, dim, index);
  if (autograd::needs_graph({&self})) {
    autograd::record(
        "GatherBackward", {self}, out,
        [in_shape = self.sizes(), d = wrap_dim(dim, self.dim(), "gather"),
         saved = SavedTensor(index)](const Tensor& grad_out, const std::vector<bool>&) {
          return Grads{core::gather_backward(grad_out, in_shape, d, saved.get("gather"))};
        });
  }
  return out;
}

Tensor Tensor::gather(std::int64_t dim, const Tensor& index) const {
  return ember::gather(*this, dim, index);
}

// index_select is indexing with one tensor at `dim`: its gradient is index's scatter-add.
Tensor index_select(const Tensor& self, std::int64_t dim, const Tensor& index) {
  if (!autograd::needs_graph({&self})) return core::index_select(self, dim, index);
  EMBER_CHECK(index.defined(), "index_select: an input is undefined");
  EMBER_CHECK(index.dtype() == kInt64 && index.dim() <= 1,
              "index_select: expected a 1-d int64 index, got ", index.dtype(), " of shape ",
              to_string(index.sizes()));
  const std::int64_t d = wrap_dim(dim, std::max<std::int64_t>(self.dim(), 1), "index_select");
  std::vector<TensorIndex> indices(static_cast<std::size_t>(d), indexing::Slice());
  indices.emplace_back(index.reshape({-1}));
  return ember::index(self, indices);
}

Tensor Tensor::index_select(std::int64_t dim, const Tensor& index) const {
  return ember::index_select(*this, dim, index);
}

namespace {
// out = cond ? a : b.
// Backward: d out / d a = cond, d out / d b = 1 - cond (each summed back over broadcast dims).
Tensor recorded_where(const Tensor& cond, const Tensor& a, const Tensor& b, Tensor out) {
  if (autograd::needs_graph({&a, &b})) {
    autograd::record("WhereBackward", {a, b}, out,
                     [c = SavedTensor(cond), sa = a.sizes(), sb = b.sizes()](
                         const Tensor& g, const std::vector<bool>& needs) {
                       const Tensor cv = c.get("where"), zero = zeros({});
                       return Grads{needs[0] ? autograd::sum_to(where(cv, g, zero), sa) : Tensor(),
                                    needs[1] ? autograd::sum_to(where(cv, zero, g), sb) : Tensor()};
                     });
  }
  return out;
}
}  // namespace

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  return recorded_where(cond, a, b, core::where(cond, a, b));
}

// The number as a 0-d tensor of the dtype it promotes to with the tensor, checked (torch.where(c,
// uint8, 300) raises; 300 would wrap to 44), then where of two tensors, whose backward gives the
// number's side no gradient.
Tensor where(const Tensor& cond, const Tensor& a, const Scalar& b) {
  EMBER_CHECK(a.defined(), "where: an input is undefined");
  return where(cond, a, core::fill_value(b, result_type(a, b), "where"));
}
Tensor where(const Tensor& cond, const Scalar& a, const Tensor& b) {
  EMBER_CHECK(b.defined(), "where: an input is undefined");
  return where(cond, core::fill_value(a, result_type(b, a), "where"), b);
}

// masked_fill is where(mask, value, self): the gradient is zero where the mask is set.
Tensor masked_fill(const Tensor& self, const Tensor& mask, const Scalar& value) {
  Tensor out = core::masked_fill(self, mask, value);
  if (!autograd::needs_graph({&self})) return out;
  // The value in self's dtype, float32 (self requires grad); core checked that it fits.
  return recorded_where(mask, core::number_tensor(value, kFloat32), self, out);
}

Tensor Tensor::masked_fill(const Tensor& mask, const Scalar& value) const {
  return ember::masked_fill(*this, mask, value);
}

}  // namespace ember
