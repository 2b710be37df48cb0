/// \file
/// Differentiable indexing as libtorch spells it: `t.index({0, Slice(1, None, 2), None, Ellipsis,
/// idx, mask})`, index_put_, gather, index_select, where, masked_fill. Each computes with its
/// ember::core function (<ember/core/indexing.h>, where Slice, None and Ellipsis live too) and
/// records its graph node (autograd/src/ops/indexing.cpp).
#pragma once

#include <cstdint>
#include <vector>

#include <ember/core/indexing.h>

namespace ember {

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
/// where with a number on one side, as torch.where(cond, t, 2.5): the number takes the dtype it
/// promotes to with the tensor (result_type; float32 for a float number and an integer tensor) and
/// must fit it, as fill_ checks (check_value_fits). Gradients flow to the tensor.
/// \throws ember::Error as where, or "where: value 300 cannot be converted to type uint8 without
///         overflow".
/// \{
Tensor where(const Tensor& cond, const Tensor& a, const Scalar& b);
Tensor where(const Tensor& cond, const Scalar& a, const Tensor& b);
/// \}
/// self with `value` where the uint8 `mask` is nonzero (mask broadcasts to self's shape), as
/// torch.Tensor.masked_fill. Same dtype: `value` takes self's dtype (a float value in an int64
/// tensor truncates, as PyTorch). The gradient is zero where the mask is set.
/// \throws ember::Error when mask is not uint8 or does not broadcast to self's shape, or when
///         `value` does not fit self's dtype, as fill_ ("masked_fill: value 300 cannot be
///         converted to type uint8 without overflow").
Tensor masked_fill(const Tensor& self, const Tensor& mask, const Scalar& value);

}  // namespace ember
