// Indexing: t.index({...}) and index_put_, gather, index_select, where and masked_fill, each
// forward with its backward below it. Basic indices (integers, slices, None, Ellipsis) become
// views; tensor indices (int64 positions, uint8 masks) gather copies through index_gather.
#include <memory>

#include <ember/autograd/grad_mode.h>
#include <ember/autograd/node.h>
#include <ember/core/indexing.h>
#include <ember/core/ops.h>

#include "ops/dispatch.h"
#include "ops/strided.h"

namespace ember {

namespace detail {
Tensor make_view(const Tensor& base, Shape sizes, Shape strides, std::int64_t offset);
}

using autograd::SavedTensor;
using Grads = std::vector<Tensor>;
using indexing::TensorIndex;

// --- permute: a view; its gradient is the gradient permuted back ---

Tensor Tensor::permute(const Shape& dims) const {
  EMBER_CHECK(static_cast<std::int64_t>(dims.size()) == dim(), "permute: ", dims.size(),
              " dims given for a tensor of shape ", to_string(sizes()), ": ", to_string(dims));
  const std::size_t n = dims.size();
  Shape out_sizes(n), out_strides(n), inverse(n);
  std::vector<bool> seen(n, false);
  for (std::size_t i = 0; i < n; ++i) {
    const auto d = static_cast<std::size_t>(wrap_dim(dims[i], dim(), "permute"));
    EMBER_CHECK(!seen[d], "permute: dim ", d, " appears twice in ", to_string(dims));
    seen[d] = true;
    out_sizes[i] = sizes()[d];
    out_strides[i] = strides()[d];
    inverse[d] = static_cast<std::int64_t>(i);
  }
  Tensor out = detail::make_view(*this, out_sizes, out_strides, storage_offset());
  if (autograd::needs_graph({this})) {
    autograd::record(
        "PermuteBackward", {*this}, out,
        [inverse](const Tensor& g, const std::vector<bool>&) { return Grads{g.permute(inverse)}; });
  }
  return out;
}

namespace {

// --- A strided slice: a view; its gradient is zero outside the slice ---

Tensor slice(const Tensor& self, std::int64_t d, std::int64_t start, std::int64_t length,
             std::int64_t step) {
  const auto at = static_cast<std::size_t>(d);
  Shape sizes = self.sizes(), strides = self.strides();
  const std::int64_t offset = self.storage_offset() + (length > 0 ? start * strides[at] : 0);
  sizes[at] = length;
  strides[at] *= step;
  Tensor out = detail::make_view(self, sizes, strides, offset);
  if (autograd::needs_graph({&self})) {
    autograd::record(
        "SliceBackward", {self}, out,
        [in = self.sizes(), d, start, length, step](const Tensor& g, const std::vector<bool>&) {
          Tensor grad = zeros(in);
          slice(grad, d, start, length, step).copy_(g);
          return Grads{grad};
        });
  }
  return out;
}

// Python's slice.indices(n) for a positive step: bounds wrap once, then clamp to [0, n].
struct SliceRange {
  std::int64_t start, length, step;
};
SliceRange resolve(const indexing::Slice& s, std::int64_t n, std::int64_t src_dim,
                   const Shape& shape) {
  const std::int64_t step = s.step.value().value_or(1);
  EMBER_CHECK(step > 0, "index: slice step must be positive, got ", step, " for dim ", src_dim,
              " of shape ", to_string(shape));
  auto bound = [n](const std::optional<std::int64_t>& v, std::int64_t fallback) {
    if (!v) return fallback;
    const std::int64_t b = *v < 0 ? *v + n : *v;  // *v < 0 and n >= 0: no overflow
    return std::clamp<std::int64_t>(b, 0, n);
  };
  const std::int64_t start = bound(s.start.value(), 0), stop = bound(s.stop.value(), n);
  const std::int64_t length = stop > start ? (stop - start - 1) / step + 1 : 0;
  return {start, length, step};
}

// Positions of a uint8 mask's nonzero elements, one int64 [count] tensor per mask dim.
std::vector<Tensor> nonzero(const Tensor& mask) {
  const Tensor m = mask.contiguous();
  const std::uint8_t* p = m.data_ptr<std::uint8_t>();
  const std::int64_t n = m.numel(), rank = m.dim();
  std::int64_t count = 0;
  for (std::int64_t i = 0; i < n; ++i) count += p[i] != 0;
  std::vector<Tensor> out;
  for (std::int64_t d = 0; d < rank; ++d) out.push_back(empty({count}, kInt64));
  const Shape strides = detail::contiguous_strides(m.sizes());
  std::int64_t k = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    if (!p[i]) continue;
    for (std::int64_t d = 0; d < rank; ++d) {
      const auto ud = static_cast<std::size_t>(d);
      out[ud].data_ptr<std::int64_t>()[k] = i / strides[ud] % m.sizes()[ud];
    }
    ++k;
  }
  return out;
}

// What the basic indices leave: a view of self, and the tensor indices with the view dim each
// applies to (a mask contributes one position tensor per dim it covers).
struct Advanced {
  std::int64_t dim;      // in the view
  std::int64_t src_dim;  // in self, for messages
  Tensor positions;      // int64
};
struct Walk {
  Tensor view;
  std::vector<Advanced> advanced;
};

Walk walk(const Tensor& self, const std::vector<TensorIndex>& indices) {
  EMBER_CHECK(self.defined(), "index: the tensor is undefined");
  std::int64_t consumed = 0, ellipses = 0;
  for (const TensorIndex& idx : indices) {
    switch (idx.kind()) {
      case TensorIndex::Kind::Integer:
      case TensorIndex::Kind::SliceIndex:
        ++consumed;
        break;
      case TensorIndex::Kind::TensorIndex:
        EMBER_CHECK(idx.tensor().defined(), "index: an index tensor is undefined");
        consumed += idx.tensor().dtype() == kUInt8 ? idx.tensor().dim() : 1;
        break;
      case TensorIndex::Kind::EllipsisIndex:
        ++ellipses;
        break;
      case TensorIndex::Kind::NoneIndex:
        break;
    }
  }
  EMBER_CHECK(ellipses <= 1, "index: an index can only have a single Ellipsis, got ", ellipses);
  EMBER_CHECK(consumed <= self.dim(), "index: too many indices for a tensor of shape ",
              to_string(self.sizes()), ": ", consumed, " dims indexed");
  Walk w{self, {}};
  std::int64_t d = 0, src = 0;  // the next dim of the view, and of self
  for (const TensorIndex& idx : indices) {
    switch (idx.kind()) {
      case TensorIndex::Kind::Integer: {
        const std::int64_t n = w.view.size(d), i = idx.integer();
        EMBER_CHECK(i >= -n && i < n, "index: index ", i, " is out of range for dim ", src,
                    " of size ", n, " (tensor of shape ", to_string(self.sizes()), ")");
        w.view = w.view.select(d, i);
        ++src;
        break;
      }
      case TensorIndex::Kind::SliceIndex: {
        const SliceRange r = resolve(idx.slice(), w.view.size(d), src, self.sizes());
        w.view = slice(w.view, d, r.start, r.length, r.step);
        ++d, ++src;
        break;
      }
      case TensorIndex::Kind::NoneIndex:
        w.view = w.view.unsqueeze(d);
        ++d;
        break;
      case TensorIndex::Kind::EllipsisIndex:
        d += self.dim() - consumed;
        src += self.dim() - consumed;
        break;
      case TensorIndex::Kind::TensorIndex: {
        const Tensor& t = idx.tensor();
        if (t.dtype() == kUInt8) {
          const Shape covered(w.view.sizes().begin() + d, w.view.sizes().begin() + d + t.dim());
          EMBER_CHECK(t.sizes() == covered, "index: the mask of shape ", to_string(t.sizes()),
                      " does not match the indexed dims ", to_string(covered), " (from dim ", src,
                      " of shape ", to_string(self.sizes()), ")");
          std::vector<Tensor> pos = nonzero(t);
          for (std::size_t j = 0; j < pos.size(); ++j) {
            const auto dj = static_cast<std::int64_t>(j);
            w.advanced.push_back({d + dj, src + dj, pos[j]});
          }
          d += t.dim();
          src += t.dim();
        } else {
          EMBER_CHECK(t.dtype() == kInt64,
                      "index: tensors used as indices must be int64 positions or uint8 masks, "
                      "got ",
                      t.dtype(), " of shape ", to_string(t.sizes()));
          w.advanced.push_back({d, src, t});
          ++d, ++src;
        }
        break;
      }
    }
  }
  return w;
}

// The layout of a gather over the tensor indices: the view permuted so the indexed dims come
// first, the broadcast shape B of the indices, and each index's wrapped, bounds-checked
// positions (B elements per indexed dim).
struct Gather {
  Tensor src;                           // the view permuted: indexed dims first
  Shape batch;                          // B
  Shape out_perm;                       // takes [B..., rest...] to the result's order
  std::size_t k = 0;                    // number of indexed dims
  std::vector<std::int64_t> positions;  // [numel(B), k], wrapped into [0, size)
};

Gather plan(const Walk& w, const Shape& self_shape) {
  Gather g;
  g.k = w.advanced.size();
  const std::int64_t rank = w.view.dim();
  Shape perm;
  std::vector<bool> indexed(static_cast<std::size_t>(rank), false);
  bool adjacent = true;
  for (std::size_t j = 0; j < g.k; ++j) {
    perm.push_back(w.advanced[j].dim);
    indexed[static_cast<std::size_t>(w.advanced[j].dim)] = true;
    adjacent = adjacent && w.advanced[j].dim == w.advanced[0].dim + static_cast<std::int64_t>(j);
    g.batch = broadcast_shapes(g.batch, w.advanced[j].positions.sizes(), "index");
  }
  for (std::int64_t d = 0; d < rank; ++d)
    if (!indexed[static_cast<std::size_t>(d)]) perm.push_back(d);
  g.src = w.view.permute(perm);
  // Adjacent tensor indices put their dims where the first one was (NumPy's rule).
  const auto nb = static_cast<std::int64_t>(g.batch.size());
  const std::int64_t nr = rank - static_cast<std::int64_t>(g.k);
  const std::int64_t p = adjacent ? w.advanced[0].dim : 0;
  for (std::int64_t i = 0; i < p; ++i) g.out_perm.push_back(nb + i);
  for (std::int64_t i = 0; i < nb; ++i) g.out_perm.push_back(i);
  for (std::int64_t i = p; i < nr; ++i) g.out_perm.push_back(nb + i);

  const std::int64_t count = numel_of(g.batch);
  g.positions.resize(static_cast<std::size_t>(count) * g.k);
  for (std::size_t j = 0; j < g.k; ++j) {
    const Tensor idx = (zeros(g.batch, kInt64) + w.advanced[j].positions).contiguous();
    const std::int64_t* v = idx.data_ptr<std::int64_t>();
    const std::int64_t n = g.src.size(static_cast<std::int64_t>(j));
    for (std::int64_t b = 0; b < count; ++b) {
      EMBER_CHECK(v[b] >= -n && v[b] < n, "index: index ", v[b], " is out of bounds for dim ",
                  w.advanced[j].src_dim, " with size ", n, " (tensor of shape ",
                  to_string(self_shape), ")");
      g.positions[static_cast<std::size_t>(b) * g.k + j] = v[b] < 0 ? v[b] + n : v[b];
    }
  }
  return g;
}

// Calls f(b, offset) for each of the B gathered sub-tensors of `t` (shaped like the permuted
// view): `offset` is where sub-tensor b starts in t's storage.
template <class F>
void for_each_gathered(const Tensor& t, const std::vector<std::int64_t>& positions, std::size_t k,
                       std::int64_t count, F f) {
  for (std::int64_t b = 0; b < count; ++b) {
    std::int64_t offset = t.storage_offset();
    for (std::size_t j = 0; j < k; ++j)
      offset += positions[static_cast<std::size_t>(b) * k + j] * t.strides()[j];
    f(b, offset);
  }
}

// The sub-tensor (the dims after the first k) of `t` starting at `offset`, walked in row-major
// order: f(element offset) for each element.
template <class F>
void for_each_rest(const Tensor& t, std::size_t k, std::int64_t offset, F f) {
  const Shape sizes(t.sizes().begin() + static_cast<std::ptrdiff_t>(k), t.sizes().end());
  const Shape strides(t.strides().begin() + static_cast<std::ptrdiff_t>(k), t.strides().end());
  detail::for_each_row<1>(sizes, {&strides}, {offset}, [&](auto off, std::int64_t n, auto inner) {
    for (std::int64_t i = 0; i < n; ++i) f(off[0] + i * inner[0]);
  });
}

// out[b, rest...] = src[positions[b], rest...].
// Backward: each gathered element's gradient is added back where it came from (a scatter-add,
// so an element gathered twice gets both gradients).
Tensor index_gather(const Gather& g) {
  const Tensor& src = g.src;
  const std::int64_t count = numel_of(g.batch);
  Shape out_shape = g.batch;
  out_shape.insert(out_shape.end(), src.sizes().begin() + static_cast<std::ptrdiff_t>(g.k),
                   src.sizes().end());
  Tensor out = empty(out_shape, src.dtype());
  detail::dispatch(src.dtype(), [&]<class T>() {
    const T* in = reinterpret_cast<const T*>(src.storage()->data);
    T* o = out.data_ptr<T>();
    for_each_gathered(src, g.positions, g.k, count, [&](std::int64_t, std::int64_t offset) {
      for_each_rest(src, g.k, offset, [&](std::int64_t e) { *o++ = in[e]; });
    });
  });
  if (autograd::needs_graph({&src})) {
    auto positions = std::make_shared<const std::vector<std::int64_t>>(g.positions);
    autograd::record(
        "IndexBackward", {src}, out,
        [in_shape = src.sizes(), positions, k = g.k, count](const Tensor& grad_out,
                                                            const std::vector<bool>&) {
          Tensor grad = zeros(in_shape);
          const Tensor go = grad_out.contiguous();
          const float* gp = go.data_ptr<float>();
          float* base = grad.data_ptr<float>();
          for_each_gathered(grad, *positions, k, count, [&](std::int64_t, std::int64_t offset) {
            for_each_rest(grad, k, offset, [&](std::int64_t e) { base[e] += *gp++; });
          });
          return Grads{grad};
        });
  }
  return out;
}

}  // namespace

Tensor index(const Tensor& self, const std::vector<TensorIndex>& indices) {
  Walk w = walk(self, indices);
  if (w.advanced.empty()) return w.view;
  const Gather g = plan(w, self.sizes());
  return index_gather(g).permute(g.out_perm);
}

Tensor Tensor::index(const std::vector<TensorIndex>& indices) const {
  return ember::index(*this, indices);
}

namespace {

// Writes dst[indices] = value (or += when accumulate) through the same walk as index(), on a
// detached view of dst, recording nothing: the basic part is a view of dst's storage, the tensor
// part writes each gathered element in place. `op` names the caller in messages.
void write_indexed(const Tensor& dst, const std::vector<TensorIndex>& indices, const Tensor& value,
                   bool accumulate, const char* op) {
  NoGradGuard guard;
  Walk w = walk(dst.detach(), indices);
  const bool basic = w.advanced.empty();
  Gather g;
  Shape out_shape = w.view.sizes();  // the shape index() would give, where value is written
  Shape back;                        // takes out_shape to [B..., rest...]
  if (!basic) {
    g = plan(w, dst.sizes());
    Shape natural = g.batch;
    natural.insert(natural.end(), g.src.sizes().begin() + static_cast<std::ptrdiff_t>(g.k),
                   g.src.sizes().end());
    out_shape.assign(natural.size(), 0);
    back.assign(natural.size(), 0);
    for (std::size_t i = 0; i < natural.size(); ++i) {
      out_shape[i] = natural[static_cast<std::size_t>(g.out_perm[i])];
      back[static_cast<std::size_t>(g.out_perm[i])] = static_cast<std::int64_t>(i);
    }
  }
  EMBER_CHECK(broadcast_shapes(out_shape, value.sizes(), op) == out_shape, op,
              ": a value of shape ", to_string(value.sizes()),
              " cannot be broadcast to the indexed shape ", to_string(out_shape));
  if (basic) {
    if (accumulate) {
      w.view += value;
    } else {
      w.view.copy_(value);
    }
    return;
  }
  // The value as the result of index() would be shaped, then in [B..., rest...] order.
  Tensor v = empty(out_shape, dst.dtype());
  v.copy_(value);
  const Tensor ordered = v.permute(back).contiguous();
  ++dst.storage()->version;
  detail::dispatch(dst.dtype(), [&]<class T>() {
    T* base = reinterpret_cast<T*>(dst.storage()->data);
    const T* src = ordered.data_ptr<T>();
    for_each_gathered(g.src, g.positions, g.k, numel_of(g.batch),
                      [&](std::int64_t, std::int64_t offset) {
                        for_each_rest(g.src, g.k, offset, [&](std::int64_t e) {
                          base[e] = accumulate ? T(base[e] + *src++) : *src++;
                        });
                      });
  });
}

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
  std::vector<autograd::SavedTensor> tensors_;
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
                     if (needs[0]) {
                       grad_self = g;
                       if (!accumulate) {
                         grad_self = g.clone();
                         write_indexed(grad_self, idx, zeros({}), false, "index_put");
                       }
                     }
                     if (needs[1]) grad_value = autograd::sum_to(index(g, idx), value_shape);
                     return Grads{grad_self, grad_value};
                   });
}

void check_put(const Tensor& self, const Tensor& value, const char* op) {
  EMBER_CHECK(self.defined() && value.defined(), op, ": an input is undefined");
  EMBER_CHECK(can_cast(value.dtype(), self.dtype()), op, ": a ", value.dtype(),
              " value can't be written into a ", self.dtype(), " tensor");
}

}  // namespace

Tensor index_put(const Tensor& self, const std::vector<TensorIndex>& indices, const Tensor& value,
                 bool accumulate) {
  check_put(self, value, "index_put");
  Tensor out = self.detach().clone();
  write_indexed(out, indices, value, accumulate, "index_put");
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
  check_put(self, value, "index_put_");
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
  write_indexed(self, indices, value, accumulate, "index_put_");
  if (graph) record_index_put(self, indices, value, accumulate, self);
  return self;
}

Tensor& Tensor::index_put_(const std::vector<TensorIndex>& indices, const Tensor& value,
                           bool accumulate) {
  return ember::index_put_(*this, indices, value, accumulate);
}

// --- gather ---

namespace {
// The storage offset in `t` of t[..., index[e], ...] (index at `dim`) for each element e of
// `index` in row-major order; positions are checked against t.size(dim) when `check`.
std::vector<std::int64_t> gather_offsets(const Tensor& t, std::size_t dim, const Tensor& index) {
  const Tensor idx = index.contiguous();
  const std::int64_t* v = idx.data_ptr<std::int64_t>();
  const Shape& sizes = idx.sizes();
  const std::int64_t n = t.sizes()[dim], count = idx.numel();
  std::vector<std::int64_t> offsets(static_cast<std::size_t>(count));
  Shape at(sizes.size(), 0);  // the multi-index of element e
  for (std::int64_t e = 0; e < count; ++e) {
    EMBER_CHECK(v[e] >= 0 && v[e] < n, "gather: index ", v[e], " is out of bounds for dim ", dim,
                " with size ", n, " (input shape ", to_string(t.sizes()), ")");
    std::int64_t offset = t.storage_offset();
    for (std::size_t d = 0; d < sizes.size(); ++d)
      offset += (d == dim ? v[e] : at[d]) * t.strides()[d];
    offsets[static_cast<std::size_t>(e)] = offset;
    for (std::size_t d = sizes.size(); d-- > 0;) {  // advance the odometer
      if (++at[d] < sizes[d]) break;
      at[d] = 0;
    }
  }
  return offsets;
}
}  // namespace

// out[e] = self[offset(e)].
// Backward: grad_self[offset(e)] += grad_out[e] (scatter-add; repeated indices accumulate).
Tensor gather(const Tensor& self, std::int64_t dim, const Tensor& index) {
  EMBER_CHECK(self.defined() && index.defined(), "gather: an input is undefined");
  EMBER_CHECK(index.dtype() == kInt64, "gather: expected an int64 index, got ", index.dtype(),
              " of shape ", to_string(index.sizes()));
  EMBER_CHECK(index.dim() == self.dim(), "gather: index ", to_string(index.sizes()), " and input ",
              to_string(self.sizes()), " must have the same number of dims");
  const auto d = static_cast<std::size_t>(wrap_dim(dim, self.dim(), "gather"));
  for (std::size_t i = 0; i < self.sizes().size(); ++i)
    EMBER_CHECK(i == d || index.sizes()[i] <= self.sizes()[i], "gather: index ",
                to_string(index.sizes()), " is larger than input ", to_string(self.sizes()),
                " in dim ", i, " (only dim ", d, " may differ)");
  const std::vector<std::int64_t> offsets = gather_offsets(self, d, index);
  Tensor out = empty(index.sizes(), self.dtype());
  detail::dispatch(self.dtype(), [&]<class T>() {
    const T* in = reinterpret_cast<const T*>(self.storage()->data);
    T* o = out.data_ptr<T>();
    for (std::size_t e = 0; e < offsets.size(); ++e) o[e] = in[offsets[e]];
  });
  if (autograd::needs_graph({&self})) {
    autograd::record("GatherBackward", {self}, out,
                     [in_shape = self.sizes(), d, saved = SavedTensor(index)](
                         const Tensor& grad_out, const std::vector<bool>&) {
                       Tensor grad = zeros(in_shape);
                       const std::vector<std::int64_t> at =
                           gather_offsets(grad, d, saved.get("gather"));
                       const Tensor go = grad_out.contiguous();
                       const float* gp = go.data_ptr<float>();
                       float* base = grad.data_ptr<float>();
                       for (std::size_t e = 0; e < at.size(); ++e) base[at[e]] += gp[e];
                       return Grads{grad};
                     });
  }
  return out;
}

Tensor Tensor::gather(std::int64_t dim, const Tensor& index) const {
  return ember::gather(*this, dim, index);
}

// index_select is indexing with one tensor at `dim`: its gradient is index's scatter-add.
Tensor index_select(const Tensor& self, std::int64_t dim, const Tensor& index) {
  EMBER_CHECK(self.defined() && index.defined(), "index_select: an input is undefined");
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

// --- where and masked_fill ---

// out = cond ? a : b.
// Backward: d out / d a = cond, d out / d b = 1 - cond (each summed back over broadcast dims).
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  EMBER_CHECK(cond.defined() && a.defined() && b.defined(), "where: an input is undefined");
  EMBER_CHECK(cond.dtype() == kUInt8, "where: expected a uint8 condition, got ", cond.dtype(),
              " of shape ", to_string(cond.sizes()));
  const Dtype type = result_type(a, b);
  const Tensor x = a.to(type), y = b.to(type);
  const Shape shape =
      broadcast_shapes(broadcast_shapes(cond.sizes(), a.sizes(), "where"), b.sizes(), "where");
  Tensor out = empty(shape, type);
  const Shape sc = detail::broadcast_strides(cond.sizes(), cond.strides(), shape);
  const Shape sx = detail::broadcast_strides(x.sizes(), x.strides(), shape);
  const Shape sy = detail::broadcast_strides(y.sizes(), y.strides(), shape);
  detail::dispatch(type, [&]<class T>() {
    const std::uint8_t* pc = reinterpret_cast<const std::uint8_t*>(cond.storage()->data);
    const T* px = reinterpret_cast<const T*>(x.storage()->data);
    const T* py = reinterpret_cast<const T*>(y.storage()->data);
    T* po = out.data_ptr<T>();
    detail::for_each_row<4>(shape, {&out.strides(), &sc, &sx, &sy},
                            {0, cond.storage_offset(), x.storage_offset(), y.storage_offset()},
                            [&](auto off, std::int64_t n, auto in) {
                              for (std::int64_t i = 0; i < n; ++i)
                                po[off[0] + i * in[0]] = pc[off[1] + i * in[1]]
                                                             ? px[off[2] + i * in[2]]
                                                             : py[off[3] + i * in[3]];
                            });
  });
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

Tensor masked_fill(const Tensor& self, const Tensor& mask, const Scalar& value) {
  EMBER_CHECK(self.defined() && mask.defined(), "masked_fill: an input is undefined");
  EMBER_CHECK(mask.dtype() == kUInt8, "masked_fill: expected a uint8 mask, got ", mask.dtype(),
              " of shape ", to_string(mask.sizes()));
  EMBER_CHECK(broadcast_shapes(self.sizes(), mask.sizes(), "masked_fill") == self.sizes(),
              "masked_fill: the mask of shape ", to_string(mask.sizes()),
              " does not broadcast to the tensor's shape ", to_string(self.sizes()));
  // The value takes self's dtype (as PyTorch): a float fill of an int64 tensor truncates.
  Tensor fill = empty({}, self.dtype());
  detail::dispatch(self.dtype(), [&]<class T>() {
    *fill.data_ptr<T>() = value.is_floating_point() ? static_cast<T>(value.to_double())
                                                    : static_cast<T>(value.to_int64());
  });
  return where(mask, fill, self);
}

Tensor Tensor::masked_fill(const Tensor& mask, const Scalar& value) const {
  return ember::masked_fill(*this, mask, value);
}

}  // namespace ember
