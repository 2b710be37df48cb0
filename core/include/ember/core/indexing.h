// Indexing as libtorch spells it: t.index({0, Slice(1, None, 2), None, Ellipsis, idx, mask}).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <type_traits>
#include <vector>

#include <ember/core/tensor.h>

namespace ember {

namespace indexing {

struct NoneIndexType {};
struct EllipsisIndexType {};
inline constexpr NoneIndexType None{};          // a new dim of size 1 (Python's None)
inline constexpr EllipsisIndexType Ellipsis{};  // as many full slices as needed (Python's ...)

// One bound of a Slice: an integer, or None for "from the start" / "to the end".
class SliceBound {
 public:
  SliceBound(NoneIndexType) {}  // NOLINT(google-explicit-constructor)
  template <class T>
  requires(std::is_integral_v<T> && !std::is_same_v<T, bool>) SliceBound(T v)
      : value_(static_cast<std::int64_t>(v)) {}  // NOLINT
  const std::optional<std::int64_t>& value() const { return value_; }

 private:
  std::optional<std::int64_t> value_;
};

// Python's start:stop:step. Negative bounds count from the end and out-of-range bounds are
// clamped, as Python slices: on a dim of 5, Slice(-2, None) is 3:5, Slice(1, 100) is 1:5,
// Slice(4, 2) is empty. The step must be positive (as PyTorch).
struct Slice {
  Slice(SliceBound start_ = None, SliceBound stop_ = None, SliceBound step_ = None)
      : start(start_), stop(stop_), step(step_) {}
  SliceBound start, stop, step;
};

// One entry of an index list: an integer (drops the dim; negative counts from the end), a Slice,
// None, Ellipsis, an int64 tensor of positions, or a uint8 mask over as many dims as it has.
class TensorIndex {
 public:
  enum class Kind : std::uint8_t { Integer, SliceIndex, NoneIndex, EllipsisIndex, TensorIndex };
  template <class T>
  requires(std::is_integral_v<T> && !std::is_same_v<T, bool>) TensorIndex(T v)
      : kind_(Kind::Integer), integer_(static_cast<std::int64_t>(v)) {}              // NOLINT
  TensorIndex(Slice s) : kind_(Kind::SliceIndex), slice_(s) {}                       // NOLINT
  TensorIndex(NoneIndexType) : kind_(Kind::NoneIndex) {}                             // NOLINT
  TensorIndex(EllipsisIndexType) : kind_(Kind::EllipsisIndex) {}                     // NOLINT
  TensorIndex(ember::Tensor t) : kind_(Kind::TensorIndex), tensor_(std::move(t)) {}  // NOLINT

  Kind kind() const { return kind_; }
  std::int64_t integer() const { return integer_; }
  const Slice& slice() const { return slice_; }
  const ember::Tensor& tensor() const { return tensor_; }

 private:
  Kind kind_;
  std::int64_t integer_ = 0;
  Slice slice_;
  ember::Tensor tensor_;
};

}  // namespace indexing

// x.index({...}) as a free function. Integers, slices, None and Ellipsis give views; tensor
// indices gather copies (NumPy advanced indexing: index tensors broadcast together; their result
// dims go where the first one was when they are adjacent, else in front). Differentiable: the
// gradient of a gather is a scatter-add, so repeated indices accumulate. Every index is
// bounds-checked; errors name the position, the dim and the shape.
Tensor index(const Tensor& self, const std::vector<indexing::TensorIndex>& indices);
// self[indices] = value (value broadcast to the indexed shape), or += when accumulate (repeated
// indices then add up). In place. Differentiable on a tensor that owns its storage alone (as
// x.clone().index_put_(...)): refused on a leaf that requires grad, and on a graph tensor that
// shares its storage with a view or a tensor saved for backward (use index_put).
Tensor& index_put_(Tensor& self, const std::vector<indexing::TensorIndex>& indices,
                   const Tensor& value, bool accumulate = false);
// torch.index_put: a copy of self with index_put_ applied. Gradients: grad_self is grad_out with
// the written positions zeroed (grad_out itself when accumulate); grad_value is grad_out[indices]
// summed over the dims value was broadcast along. Without accumulate, the last of repeated
// indices wins (PyTorch leaves which one unspecified), yet each of their values gets the gradient.
Tensor index_put(const Tensor& self, const std::vector<indexing::TensorIndex>& indices,
                 const Tensor& value, bool accumulate = false);

// out[i][j][k] = self[index[i][j][k]][j][k] for dim 0 (and so on): out has index's shape, and
// index.size(d) <= self.size(d) for d != dim (as torch.gather). Gradient: scatter-add.
Tensor gather(const Tensor& self, std::int64_t dim, const Tensor& index);
// The entries `index` (1-d int64) of dim `dim`: [A, B] with index [K] at dim 0 -> [K, B].
Tensor index_select(const Tensor& self, std::int64_t dim, const Tensor& index);
// Elementwise cond ? a : b with broadcasting (cond uint8, a and b promoted). Gradients flow to a
// where cond holds and to b elsewhere.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
// self with `value` where mask is nonzero (mask broadcasts to self's shape).
Tensor masked_fill(const Tensor& self, const Tensor& mask, const Scalar& value);

}  // namespace ember
