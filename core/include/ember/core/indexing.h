/// \file
/// Indexing as libtorch spells it: `t.index({0, Slice(1, None, 2), None, Ellipsis, idx, mask})`;
/// gather, index_select, where, masked_fill.
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

/// `self[indices]`, as libtorch's `x.index({...})`.
///
/// Integers, slices, None and Ellipsis give views; tensor indices gather copies (NumPy advanced
/// indexing: index tensors broadcast together; their result dims go where the first one was when
/// they are adjacent, else in front). `[N, D]` indexed with `{Slice(), 0}` is `[N]`; with an
/// int64 `[K]` tensor, `[K, D]`; with a uint8 `[N]` mask of M ones, `[M, D]`. Any dtype.
/// Differentiable: the gradient of a gather is a scatter-add, so repeated indices accumulate.
/// \throws ember::Error when an index is out of range, there are more indices than dims or more
///         than one Ellipsis, a slice step is not positive, an index tensor is neither int64 nor
///         uint8, or a mask's shape differs from the dims it covers; the message names the
///         position, the dim and the shape.
Tensor index(const Tensor& self, const std::vector<indexing::TensorIndex>& indices);
/// `self[indices] = value` (value broadcast to the indexed shape), or `+=` when `accumulate`
/// (repeated indices then add up), in place, as torch.Tensor.index_put_. Returns `self`.
///
/// Differentiable on a tensor that owns its storage alone (as `x.clone().index_put_(...)`): its
/// grad_fn is rebased onto the write, as PyTorch's in-place autograd does.
/// \throws ember::Error as index(), when `value` does not broadcast to the indexed shape or a
///         float `value` would go into an integer `self`, when `self` is a leaf that requires
///         grad, and when `self` is in the graph but shares its storage with a view or a tensor
///         saved for backward (whose gradient would then be wrong: use index_put).
Tensor& index_put_(Tensor& self, const std::vector<indexing::TensorIndex>& indices,
                   const Tensor& value, bool accumulate = false);
/// A copy of `self` with index_put_ applied, as torch.index_put; same shapes, dtypes and errors
/// (but for the in-place ones).
///
/// Gradients: grad_self is grad_out with the written positions zeroed (grad_out itself when
/// `accumulate`); grad_value is grad_out[indices] summed over the dims `value` was broadcast
/// along. Without `accumulate`, the last of repeated indices wins (PyTorch leaves which one
/// unspecified), yet each of their values gets the gradient.
Tensor index_put(const Tensor& self, const std::vector<indexing::TensorIndex>& indices,
                 const Tensor& value, bool accumulate = false);

/// Values picked along `dim` by an int64 `index` of the same rank, as torch.gather:
/// `out[i][j][k] = self[index[i][j][k]][j][k]` for dim 0 (and so on).
///
/// out has index's shape: `[N, K]` gathered along dim 1 with an `[N, 1]` index gives `[N, 1]`
/// (the score of each row's label). Any dtype. Gradient: scatter-add into self's shape.
/// \throws ember::Error when index is not int64, the ranks differ, `index.size(d) > self.size(d)`
///         for some d != dim, or an index is out of range.
Tensor gather(const Tensor& self, std::int64_t dim, const Tensor& index);
/// The entries `index` (1-d int64) of dim `dim`, as torch.index_select: `[A, B]` with index `[K]`
/// at dim 0 gives `[K, B]`. Any dtype; differentiable (scatter-add).
/// \throws ember::Error when index is not a 1-d (or 0-d) int64 tensor or an entry is out of range.
Tensor index_select(const Tensor& self, std::int64_t dim, const Tensor& index);
/// Elementwise `cond ? a : b` with broadcasting, as torch.where: cond is uint8, a and b are
/// promoted to their result_type. Gradients flow to a where cond holds and to b elsewhere.
/// \throws ember::Error when cond is not uint8 or the shapes do not broadcast.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
/// self with `value` where the uint8 `mask` is nonzero (mask broadcasts to self's shape), as
/// torch.Tensor.masked_fill. Same dtype: `value` takes self's dtype (a float value in an int64
/// tensor truncates, as PyTorch). The gradient is zero where the mask is set.
/// \throws ember::Error when mask is not uint8 or does not broadcast to self's shape.
Tensor masked_fill(const Tensor& self, const Tensor& mask, const Scalar& value);

}  // namespace ember
