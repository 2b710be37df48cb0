/// \file
/// Indexing as libtorch spells it: the index list entries (`Slice`, `None`, `Ellipsis`, tensors)
/// of `t.index({0, Slice(1, None, 2), None, Ellipsis, idx, mask})`, and the graph-free indexing
/// functions of ember::core. The differentiable ember::index, gather, ... are in
/// <ember/autograd/indexing.h>.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <type_traits>
#include <vector>

#include <ember/core/tensor.h>

namespace ember {

/// The entries of an index list, as libtorch's torch::indexing: Slice, None, Ellipsis,
/// TensorIndex.
namespace indexing {

/// The type of None.
struct NoneIndexType {};
/// The type of Ellipsis.
struct EllipsisIndexType {};
/// In an index list, a new dim of size 1 (Python's None); in a Slice, an absent bound.
inline constexpr NoneIndexType None{};
/// As many full slices as needed (Python's `...`); at most one per index list.
inline constexpr EllipsisIndexType Ellipsis{};

/// One bound of a Slice: an integer, or None for "from the start" / "to the end".
class SliceBound {
 public:
  /// No bound: "from the start", "to the end", or step 1.
  SliceBound(NoneIndexType) {}  // NOLINT(google-explicit-constructor)
  /// The integer `v` (any integral type but bool).
  template <class T>
  requires(std::is_integral_v<T> && !std::is_same_v<T, bool>) SliceBound(T v)
      : value_(static_cast<std::int64_t>(v)) {}  // NOLINT
  /// The bound, or nullopt for None.
  const std::optional<std::int64_t>& value() const { return value_; }

 private:
  std::optional<std::int64_t> value_;
};

/// Python's `start:stop:step`, as torch::indexing::Slice.
///
/// Negative bounds count from the end and out-of-range bounds are clamped, as Python slices: on a
/// dim of 5, Slice(-2, None) is 3:5, Slice(1, 100) is 1:5, Slice(4, 2) is empty. The step must be
/// positive (as PyTorch); index() throws ember::Error otherwise.
struct Slice {
  /// `start_:stop_:step_`; each defaults to None (the whole dim, step 1).
  Slice(SliceBound start_ = None, SliceBound stop_ = None, SliceBound step_ = None)
      : start(start_), stop(stop_), step(step_) {}
  SliceBound start;  ///< The first position (None: 0).
  SliceBound stop;   ///< One past the last position (None: the dim's size).
  SliceBound step;   ///< The distance between positions (None: 1).
};

/// One entry of an index list, converted implicitly from what it holds.
///
/// An integer (drops the dim; negative counts from the end), a Slice, None, Ellipsis, an int64
/// tensor of positions, or a uint8 mask over as many dims as it has.
class TensorIndex {
 public:
  /// Which of the five an entry is.
  enum class Kind : std::uint8_t {
    Integer,        ///< An integer position: the dim is dropped.
    SliceIndex,     ///< A Slice: the dim is kept, as a view.
    NoneIndex,      ///< None: a new dim of size 1.
    EllipsisIndex,  ///< Ellipsis: full slices for the dims not otherwise indexed.
    TensorIndex     ///< An int64 tensor of positions or a uint8 mask: a gather (a copy).
  };
  /// An integer position (any integral type but bool).
  template <class T>
  requires(std::is_integral_v<T> && !std::is_same_v<T, bool>) TensorIndex(T v)
      : kind_(Kind::Integer), integer_(static_cast<std::int64_t>(v)) {}  // NOLINT
  /// A slice of the dim.
  TensorIndex(Slice s) : kind_(Kind::SliceIndex), slice_(s) {}  // NOLINT
  /// A new dim of size 1.
  TensorIndex(NoneIndexType) : kind_(Kind::NoneIndex) {}  // NOLINT
  /// As many full slices as needed.
  TensorIndex(EllipsisIndexType) : kind_(Kind::EllipsisIndex) {}  // NOLINT
  /// An int64 tensor of positions or a uint8 mask.
  TensorIndex(ember::Tensor t) : kind_(Kind::TensorIndex), tensor_(std::move(t)) {}  // NOLINT

  /// Which kind of entry this is.
  Kind kind() const { return kind_; }
  /// The position (Kind::Integer).
  std::int64_t integer() const { return integer_; }
  /// The slice (Kind::SliceIndex).
  const Slice& slice() const { return slice_; }
  /// The index tensor (Kind::TensorIndex).
  const ember::Tensor& tensor() const { return tensor_; }

 private:
  Kind kind_;
  std::int64_t integer_ = 0;
  Slice slice_;
  ember::Tensor tensor_;
};

}  // namespace indexing

/// Graph-free indexing: what the differentiable functions of <ember/autograd/indexing.h> compute
/// (same shapes, dtypes, values and errors; see there for the full contracts and the gradients).
namespace core {

/// `self[indices]`: views for integers, slices, None and Ellipsis; a gathered copy for tensor
/// indices (see ember::index).
Tensor index(const Tensor& self, const std::vector<indexing::TensorIndex>& indices);
/// `self[indices] = value` (or `+=` when `accumulate`), written in place; returns `self`.
///
/// A raw write: it checks shapes and dtypes (as ember::index_put_) but not the graph, which is
/// autograd's job (ember::index_put_ refuses or records).
Tensor& index_put_(Tensor& self, const std::vector<indexing::TensorIndex>& indices,
                   const Tensor& value, bool accumulate = false);
/// A copy of `self` with index_put_ applied.
Tensor index_put(const Tensor& self, const std::vector<indexing::TensorIndex>& indices,
                 const Tensor& value, bool accumulate = false);
/// Values picked along `dim` by an int64 `index` of the same rank, as torch.gather.
Tensor gather(const Tensor& self, std::int64_t dim, const Tensor& index);
/// The entries `index` (1-d int64) of dim `dim`, as torch.index_select.
Tensor index_select(const Tensor& self, std::int64_t dim, const Tensor& index);
/// Elementwise `cond ? a : b` with broadcasting, as torch.where.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
/// self with `value` where the uint8 `mask` is nonzero, as torch.Tensor.masked_fill.
/// \throws ember::Error also when `value` does not fit self's dtype, as fill_ (check_value_fits).
Tensor masked_fill(const Tensor& self, const Tensor& mask, const Scalar& value);

/// \name Backward computations
/// The gradients of the gathering ops, computed here for autograd's backward lambdas.
/// \{

/// grad_self of gather: zeros of `self_shape` with `grad_out[e]` added at the position element e
/// of `index` picked along `dim` (repeated indices accumulate). `dim` is already wrapped.
Tensor gather_backward(const Tensor& grad_out, const Shape& self_shape, std::int64_t dim,
                       const Tensor& index);
/// \}

/// \cond INTERNAL
// Note [Index as views]: index() reaches the indexed elements through a chain of views (select,
// slice, unsqueeze, permute) and one gather; autograd records each link, so the graph of
// `x.index({0, Slice(1, None)})` is that of `x.select(0, 0).slice(...)`. IndexSteps names the
// links: core::index uses core's own views, autograd's index the recording ones.
struct IndexGather {
  Tensor src;                           // the view permuted: indexed dims first
  Shape batch;                          // B: the broadcast shape of the tensor indices
  Shape out_perm;                       // takes [B..., rest...] to the result's order
  std::size_t k = 0;                    // number of indexed dims
  std::vector<std::int64_t> positions;  // [numel(B), k], wrapped into [0, size)
};
struct IndexSteps {
  Tensor (*select)(const Tensor& t, std::int64_t dim, std::int64_t index);
  Tensor (*slice)(const Tensor& t, std::int64_t dim, std::int64_t start, std::int64_t length,
                  std::int64_t step);
  Tensor (*unsqueeze)(const Tensor& t, std::int64_t dim);
  Tensor (*permute)(const Tensor& t, const Shape& dims);
  Tensor (*gather)(const IndexGather& g);  // out[b, rest...] = src[positions[b], rest...]
};
Tensor index_with(const Tensor& self, const std::vector<indexing::TensorIndex>& indices,
                  const IndexSteps& steps);
// The gather step of index(): [B..., rest...], graph-free.
Tensor index_gather(const IndexGather& g);
// Its gradient: zeros of g.src's shape with grad_out ([B..., rest...]) added back at the
// positions (repeated positions accumulate).
Tensor index_gather_backward(const Tensor& grad_out, const Shape& src_shape,
                             const std::vector<std::int64_t>& positions, std::size_t k,
                             std::int64_t count);
/// \endcond

}  // namespace core

}  // namespace ember
