// Indexing: t.index({...}) and index_put_, gather, index_select, where and masked_fill, graph-free
// (autograd/src/ops/indexing.cpp records them), and the scatter-adds their gradients are. Basic
// indices (integers, slices, None, Ellipsis) become views; tensor indices (int64 positions, uint8
// masks) gather copies through index_gather.
#include <memory>

#include <ember/core/grad_mode.h>
#include <ember/core/indexing.h>
#include <ember/core/ops.h>

#include "ops/dispatch.h"
#include "ops/strided.h"

namespace ember {

namespace core {

using indexing::TensorIndex;

namespace {

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
  const Tensor m = contiguous(mask);
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

Walk walk(const Tensor& self, const std::vector<TensorIndex>& indices, const IndexSteps& steps) {
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
        w.view = steps.select(w.view, d, i);
        ++src;
        break;
      }
      case TensorIndex::Kind::SliceIndex: {
        const SliceRange r = resolve(idx.slice(), w.view.size(d), src, self.sizes());
        w.view = steps.slice(w.view, d, r.start, r.length, r.step);
        ++d, ++src;
        break;
      }
      case TensorIndex::Kind::NoneIndex:
        w.view = steps.unsqueeze(w.view, d);
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

// The layout of a gather over the tensor indices (IndexGather): the view permuted so the indexed
// dims come first, the broadcast shape B of the indices, and each index's wrapped, bounds-checked
// positions (B elements per indexed dim).
IndexGather plan(const Walk& w, const Shape& self_shape, const IndexSteps& steps) {
  IndexGather g;
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
  g.src = steps.permute(w.view, perm);
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
    const Tensor idx = contiguous(add(zeros(g.batch, kInt64), w.advanced[j].positions));
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

// The steps of core::index: core's own views, which record nothing.
const IndexSteps kCoreSteps{
    [](const Tensor& t, std::int64_t d, std::int64_t i) { return select(t, d, i); },
    [](const Tensor& t, std::int64_t d, std::int64_t start, std::int64_t length,
       std::int64_t step) { return slice(t, d, start, length, step); },
    [](const Tensor& t, std::int64_t d) { return unsqueeze(t, d); },
    [](const Tensor& t, const Shape& dims) { return permute(t, dims); },
    [](const IndexGather& g) {
      return index_gather(g);
    }};

}  // namespace

// out[b, rest...] = src[positions[b], rest...].
Tensor index_gather(const IndexGather& g) {
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
  return out;
}

// Each gathered element's gradient is added back where it came from (a scatter-add, so an
// element gathered twice gets both gradients).
Tensor index_gather_backward(const Tensor& grad_out, const Shape& src_shape,
                             const std::vector<std::int64_t>& positions, std::size_t k,
                             std::int64_t count) {
  Tensor grad = zeros(src_shape);
  const Tensor go = contiguous(grad_out);
  const float* gp = go.data_ptr<float>();
  float* base = grad.data_ptr<float>();
  for_each_gathered(grad, positions, k, count, [&](std::int64_t, std::int64_t offset) {
    for_each_rest(grad, k, offset, [&](std::int64_t e) { base[e] += *gp++; });
  });
  return grad;
}

Tensor index_with(const Tensor& self, const std::vector<TensorIndex>& indices,
                  const IndexSteps& steps) {
  Walk w = walk(self, indices, steps);
  if (w.advanced.empty()) return w.view;
  const IndexGather g = plan(w, self.sizes(), steps);
  return steps.permute(steps.gather(g), g.out_perm);
}

Tensor index(const Tensor& self, const std::vector<TensorIndex>& indices) {
  return index_with(self, indices, kCoreSteps);
}

namespace {

// Writes dst[indices] = value (or += when accumulate) through the same walk as index(), on a
// detached view of dst, recording nothing: the basic part is a view of dst's storage, the tensor
// part writes each gathered element in place. `op` names the caller in messages.
void write_indexed(const Tensor& dst, const std::vector<TensorIndex>& indices, const Tensor& value,
                   bool accumulate, const char* op) {
  NoGradGuard guard;  // `+=` below would refuse a value that requires grad
  Walk w = walk(dst.detach(), indices, kCoreSteps);
  const bool basic = w.advanced.empty();
  IndexGather g;
  Shape out_shape = w.view.sizes();  // the shape index() would give, where value is written
  Shape back;                        // takes out_shape to [B..., rest...]
  if (!basic) {
    g = plan(w, dst.sizes(), kCoreSteps);
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
  const Tensor ordered = contiguous(permute(v, back));
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

void check_put(const Tensor& self, const Tensor& value, const char* op) {
  EMBER_CHECK(self.defined() && value.defined(), op, ": an input is undefined");
  EMBER_CHECK(can_cast(value.dtype(), self.dtype()), op, ": a ", value.dtype(),
              " value can't be written into a ", self.dtype(), " tensor");
}

}  // namespace

Tensor index_put(const Tensor& self, const std::vector<TensorIndex>& indices, const Tensor& value,
                 bool accumulate) {
  check_put(self, value, "index_put");
  Tensor out = clone(self);
  write_indexed(out, indices, value, accumulate, "index_put");
  return out;
}

Tensor& index_put_(Tensor& self, const std::vector<TensorIndex>& indices, const Tensor& value,
                   bool accumulate) {
  check_put(self, value, "index_put_");
  write_indexed(self, indices, value, accumulate, "index_put_");
  return self;
}

// --- gather ---

namespace {
// The storage offset in `t` of t[..., index[e], ...] (index at `dim`) for each element e of
// `index` in row-major order; positions are checked against t.size(dim) when `check`.
std::vector<std::int64_t> gather_offsets(const Tensor& t, std::size_t dim, const Tensor& index) {
  const Tensor idx = contiguous(index);
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
  return out;
}

// grad_self[offset(e)] += grad_out[e] (scatter-add; repeated indices accumulate).
Tensor gather_backward(const Tensor& grad_out, const Shape& self_shape, std::int64_t dim,
                       const Tensor& index) {
  Tensor grad = zeros(self_shape);
  const std::vector<std::int64_t> at = gather_offsets(grad, static_cast<std::size_t>(dim), index);
  const Tensor go = contiguous(grad_out);
  const float* gp = go.data_ptr<float>();
  float* base = grad.data_ptr<float>();
  for (std::size_t e = 0; e < at.size(); ++e) base[at[e]] += gp[e];
  return grad;
}

// index_select is indexing with one tensor at `dim`.
Tensor index_select(const Tensor& self, std::int64_t dim, const Tensor& index) {
  EMBER_CHECK(self.defined() && index.defined(), "index_select: an input is undefined");
  EMBER_CHECK(index.dtype() == kInt64 && index.dim() <= 1,
              "index_select: expected a 1-d int64 index, got ", index.dtype(), " of shape ",
              to_string(index.sizes()));
  const std::int64_t d = wrap_dim(dim, std::max<std::int64_t>(self.dim(), 1), "index_select");
  std::vector<TensorIndex> indices(static_cast<std::size_t>(d), indexing::Slice());
  indices.emplace_back(reshape(index, {-1}));
  return core::index(self, indices);
}

// --- where and masked_fill ---

// out = cond ? a : b.
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
  return out;
}

Tensor masked_fill(const Tensor& self, const Tensor& mask, const Scalar& value) {
  EMBER_CHECK(self.defined() && mask.defined(), "masked_fill: an input is undefined");
  EMBER_CHECK(mask.dtype() == kUInt8, "masked_fill: expected a uint8 mask, got ", mask.dtype(),
              " of shape ", to_string(mask.sizes()));
  EMBER_CHECK(broadcast_shapes(self.sizes(), mask.sizes(), "masked_fill") == self.sizes(),
              "masked_fill: the mask of shape ", to_string(mask.sizes()),
              " does not broadcast to the tensor's shape ", to_string(self.sizes()));
  // The value takes self's dtype (as PyTorch): a float fill of an int64 tensor truncates, one that
  // does not fit is refused as fill_ refuses it (uint8 with 300 gave 44).
  return where(mask, fill_value(value, self.dtype(), "masked_fill"), self);
}

}  // namespace core

}  // namespace ember
