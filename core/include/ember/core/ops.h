/// \file
/// Tensor math that computes and records nothing: type promotion, comparisons and masks, in-place
/// compound assignment (namespace ember), and the graph-free computation of every differentiable
/// op (namespace ember::core: `core::matmul`, `core::add`, `core::sum`, the views, ...).
///
/// core computes, autograd records: the differentiable spellings users write (`ember::matmul`,
/// `a * b`, `x.sum()`) are declared in <ember/autograd/ops.h> and defined in autograd, each one
/// calling its ember::core function here to compute and then recording its graph node. A program
/// linked against ember::core alone calls these functions directly.
///
/// Every op checks its inputs and throws ember::Error naming the op and the shapes/dtypes; every
/// op throws it for an undefined input tensor and for a dim out of range. Broadcasting follows
/// NumPy/PyTorch: shapes are aligned from the right, and each pair of sizes must be equal or one
/// of them 1 (`[N, D]` with `[D]` gives `[N, D]`); otherwise the op throws. The functions in
/// ember::core give the same values, shapes, dtypes and errors as their differentiable
/// spellings, bit for bit; their results never require grad.
#pragma once

#include <optional>
#include <tuple>
#include <utility>
#include <vector>

#include <ember/core/indexing.h>
#include <ember/core/scalar.h>
#include <ember/core/tensor.h>

namespace ember {

/// The higher of two dtypes: float32 if either is, else int64 if either is, else uint8 (as
/// torch.promote_types).
Dtype promote_types(Dtype a, Dtype b);
/// The dtype an op on `a` and `b` computes in, as PyTorch's type promotion (torch.result_type).
///
/// float32 > int64 > uint8 by category, and operands rank as dimensioned tensors > 0-d tensors >
/// plain numbers. A lower rank changes the result only when its category is higher: int64 `[3]` +
/// 0-d float32 is float32, uint8 `[3]` + 0-d int64 stays uint8, int64 `[3]` * 0.5 is float32,
/// uint8 `[3]` + 300 stays uint8 (300 wraps to 44). A bool number never changes the tensor's
/// dtype. (Comparisons give uint8 masks, not PyTorch's bool: a mask with an int number stays
/// uint8, where PyTorch's bool mask would become int64.)
/// \throws ember::Error when an input is undefined.
/// \{
Dtype result_type(const Tensor& a, const Tensor& b);
Dtype result_type(const Tensor& a, const Scalar& b);
/// \}
/// True for float32, the one floating dtype.
bool is_floating_point(Dtype dtype);
/// Whether an in-place op may write a `from` result into a `to` tensor: never float into integer
/// (PyTorch: "result type Float can't be cast to the desired output type Long").
bool can_cast(Dtype from, Dtype to);

/// `a == b`, `a != b`, `a < b`, `a <= b`, `a > b`, `a >= b` elementwise: a uint8 mask, 1 where
/// true, of the broadcast shape.
///
/// Compared in the promoted dtype (int64 3 == 3.5 is false); NaN compares unequal to everything,
/// as IEEE 754. Not differentiable (the mask carries no graph). A number on either side is
/// promoted by its kind, as in arithmetic.
/// \throws ember::Error when the shapes do not broadcast.
/// \{
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor operator==(const Tensor& a, const Tensor& b);
Tensor operator!=(const Tensor& a, const Tensor& b);
Tensor operator<(const Tensor& a, const Tensor& b);
Tensor operator<=(const Tensor& a, const Tensor& b);
Tensor operator>(const Tensor& a, const Tensor& b);
Tensor operator>=(const Tensor& a, const Tensor& b);
Tensor operator==(const Tensor& a, const Scalar& b);
Tensor operator!=(const Tensor& a, const Scalar& b);
Tensor operator<(const Tensor& a, const Scalar& b);
Tensor operator<=(const Tensor& a, const Scalar& b);
Tensor operator>(const Tensor& a, const Scalar& b);
Tensor operator>=(const Tensor& a, const Scalar& b);
Tensor operator==(const Scalar& a, const Tensor& b);
Tensor operator!=(const Scalar& a, const Tensor& b);
Tensor operator<(const Scalar& a, const Tensor& b);
Tensor operator<=(const Scalar& a, const Tensor& b);
Tensor operator>(const Scalar& a, const Tensor& b);
Tensor operator>=(const Scalar& a, const Tensor& b);
/// \}

/// Logical not, and, or, xor elementwise, as torch.logical_*: a uint8 mask of 0 and 1 (PyTorch's
/// is bool) of the broadcast shape, with nonzero (NaN too) taken as true.
///
/// Write logical_not(mask) where PyTorch code writes `~mask`: ember has no operator~, because
/// PyTorch's `~` on uint8 is the bitwise not (`~1` is 254). Not differentiable.
/// \throws ember::Error when an input is undefined or the shapes do not broadcast.
/// \{
Tensor logical_not(const Tensor& a);
Tensor logical_and(const Tensor& a, const Tensor& b);
Tensor logical_or(const Tensor& a, const Tensor& b);
Tensor logical_xor(const Tensor& a, const Tensor& b);
/// \}

/// `a += b`, `a -= b`, `a *= b`, `a /= b` in place, as PyTorch's compound assignment: the result
/// is computed in the promoted dtype and written back into `a`, which is returned. No graph is
/// recorded (update parameters inside a NoGradGuard).
/// \throws ember::Error if the result is float and `a` is an integer tensor, if `b` would
///         broadcast `a` to a larger shape, or (with grad mode on) if `a` or the result requires
///         grad.
/// \{
Tensor& operator+=(Tensor& a, const Tensor& b);
Tensor& operator-=(Tensor& a, const Tensor& b);
Tensor& operator*=(Tensor& a, const Tensor& b);
Tensor& operator/=(Tensor& a, const Tensor& b);
Tensor& operator+=(Tensor& a, const Scalar& b);
Tensor& operator-=(Tensor& a, const Scalar& b);
Tensor& operator*=(Tensor& a, const Scalar& b);
Tensor& operator/=(Tensor& a, const Scalar& b);
/// \}

/// The int64 index of the first maximum along `dim` (a NaN wins), as torch.argmax:
/// `[N, K] -> [N]` for dim 1 (the predicted class). Not differentiable.
/// \throws ember::Error when the dim has size 0.
Tensor argmax(const Tensor& a, std::int64_t dim, bool keepdim = false);

/// The shape the result of broadcasting `a` and `b` would have: `[N, 1]` and `[D]` give `[N, D]`.
/// \throws ember::Error naming `op` and both shapes when they do not broadcast.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

/// Graph-free computation: what the differentiable ops of <ember/autograd/ops.h> compute, without
/// a graph. Each has the same shapes, dtypes, values (bit for bit) and errors as the spelling in
/// namespace ember that users write; see there for the gradients.
namespace core {

/// `a + b`, `a - b`, `a * b`, `a / b` elementwise with broadcasting, `[N, D] + [D] -> [N, D]`, in
/// the promoted dtype (see result_type).
///
/// Integer arithmetic wraps around on overflow, as PyTorch's. div is true division: integers give
/// float32 (arange(4) / 2 is `[0, 0.5, 1, 1.5]`; 1 / 0 is inf). A number `b` becomes a 0-d
/// tensor first (so it ranks as a plain number in promotion).
/// \throws ember::Error when the shapes do not broadcast, or for `sub` with a bool number (as
///         PyTorch).
/// \{
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor add(const Tensor& a, const Scalar& b);
Tensor sub(const Tensor& a, const Scalar& b);
Tensor mul(const Tensor& a, const Scalar& b);
Tensor div(const Tensor& a, const Scalar& b);
/// \}
/// A number on the left: `a + b`, `a - b`, `a * b`, `a / b` with `a` a plain number.
/// \{
Tensor add(const Scalar& a, const Tensor& b);
Tensor sub(const Scalar& a, const Tensor& b);
Tensor mul(const Scalar& a, const Tensor& b);
Tensor div(const Scalar& a, const Tensor& b);
/// \}
/// The two tensor operands `a <op> b` computes with when one side is a plain number, as PyTorch
/// wraps a number (Note [Promotion tiers] in core/src/ops/promotion.cpp): the tensor converted to
/// the op's dtype, and the number as a 0-d tensor of that dtype. `op` names the op ("add", "sub",
/// "mul", "div", "eq", ...): div computes integers in float32, sub refuses a bool number.
/// \throws ember::Error for "sub" with a bool number, or an undefined tensor.
/// \{
std::pair<Tensor, Tensor> number_operands(const Tensor& a, const Scalar& b, const char* op);
std::pair<Tensor, Tensor> number_operands(const Scalar& a, const Tensor& b, const char* op);
/// \}
/// A number as a 0-d tensor of `dtype`, as arithmetic wraps it: integers keep every bit and wrap
/// into uint8 as PyTorch's (300 -> 44, -1 -> 255); floats are rounded to float32.
Tensor number_tensor(const Scalar& value, Dtype dtype);
/// A number to be written into a tensor of `dtype` (a fill, a bound), as a 0-d tensor of that
/// dtype: number_tensor after check_value_fits, as fill_ checks.
/// \throws ember::Error "<op>: value 300 cannot be converted to type uint8 without overflow".
Tensor fill_value(const Scalar& value, Dtype dtype, const char* op);
/// `-a` elementwise, same shape and dtype (integers wrap).
Tensor neg(const Tensor& a);
/// e^a elementwise, in float32: integer tensors are converted first, as PyTorch's exp.
Tensor exp(const Tensor& a);
/// The natural logarithm elementwise (NaN below 0, -inf at 0), in float32: integer tensors are
/// converted first, as PyTorch's log.
Tensor log(const Tensor& a);

/// The matrix product `[N, K] @ [K, M] -> [N, M]`, as torch.matmul.
///
/// Batched over leading dims with broadcasting (`[B, N, K] @ [K, M] -> [B, N, M]`); 1-d operands
/// as in torch.matmul (`[K] @ [K, M] -> [M]`, `[N, K] @ [K] -> [N]`, `[K] @ [K]` -> 0-d). float32
/// only. Our own cache-blocked SIMD kernel (see cpu_capability).
/// \throws ember::Error when an input is not float32 or is 0-d, the inner dims differ
///         ("matmul: shapes [256, 784] and [785, 10] cannot be multiplied (784 != 785)"), or the
///         batch dims do not broadcast.
Tensor matmul(const Tensor& a, const Tensor& b);

/// The sum of all elements (a 0-d result), or along `dim` (`[N, D] -> [N]` along dim 1, or
/// `[N, 1]` with keepdim), as torch.sum.
///
/// The summation order is fixed by the shape, so results never depend on the thread count. float32
/// gives float32 (accumulated in double); int64 and uint8 give int64.
/// \{
Tensor sum(const Tensor& a);
Tensor sum(const Tensor& a, std::int64_t dim, bool keepdim = false);
/// \}
/// The mean of all elements, or along `dim`: the sum divided by the count, as torch.mean; float32
/// only. The mean of nothing is NaN.
/// \throws ember::Error for a non-float32 tensor.
/// \{
Tensor mean(const Tensor& a);
Tensor mean(const Tensor& a, std::int64_t dim, bool keepdim = false);
/// \}
/// The largest element, a 0-d tensor of a's dtype; NaN if any element is NaN, as PyTorch.
/// \throws ember::Error for an empty tensor.
Tensor max(const Tensor& a);
/// The maxima along `dim` and their int64 indices (the first maximum; a NaN counts as the
/// maximum), as torch.max(dim).
/// \throws ember::Error when the dim has size 0.
std::tuple<Tensor, Tensor> max(const Tensor& a, std::int64_t dim, bool keepdim = false);
/// The gradient of max(dim) and min(dim) (PyTorch's value_selecting_reduction_backward): zeros of
/// `sizes` with each element of `grad_out` put where `indices` (the chosen positions along `dim`,
/// wrapped) took its value from. float32 `grad_out`, int64 `indices`, both of the reduced shape
/// (with the dim kept when `keepdim`).
Tensor value_selecting_reduction_backward(const Tensor& grad_out, std::int64_t dim,
                                          const Tensor& indices, const Shape& sizes, bool keepdim);
/// The smallest element, a 0-d tensor of a's dtype; NaN if any element is NaN.
/// \throws ember::Error for an empty tensor.
Tensor min(const Tensor& a);
/// The minima along `dim` and their int64 indices (the first minimum; a NaN counts as the
/// minimum), as torch.min(dim).
/// \throws ember::Error when the dim has size 0.
std::tuple<Tensor, Tensor> min(const Tensor& a, std::int64_t dim, bool keepdim = false);
/// log(sum(exp(x))) along `dim`, as torch.logsumexp: `[*, K, *] -> [*, *]`, float32 (integers
/// converted). Stable for |x| up to float max and for rows of -inf (see Note [Stable logsumexp]
/// in core/src/ops/reduce.cpp): computed as m + log(sum(exp(x - m))) with m the row max.
Tensor logsumexp(const Tensor& a, std::int64_t dim, bool keepdim = false);

/// a^b elementwise, with broadcasting, in the promoted dtype, as torch.pow (integer powers wrap
/// on overflow); x^0.5, x^-0.5 are computed as PyTorch's sqrt and rsqrt. Integers to negative
/// integer powers throw when the power is a number, and give 1 / a^-b truncated (0 unless a is 1
/// or -1) when it is a tensor, as PyTorch.
/// \throws ember::Error when integers are raised to a negative integer number, or to one their
///         dtype cannot hold ("pow: value 256 cannot be converted to type uint8 without
///         overflow", as PyTorch), or the shapes do not broadcast.
/// \{
Tensor pow(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& x, const Scalar& exponent);
Tensor pow(const Scalar& base, const Tensor& x);
/// \}
/// x * x elementwise, same dtype.
Tensor square(const Tensor& x);
/// The square root elementwise, as float32 (integers converted); NaN below 0.
Tensor sqrt(const Tensor& x);
/// |x| elementwise, same dtype.
Tensor abs(const Tensor& x);
/// min(max(x, min), max) elementwise, as torch.clamp; either bound may be absent (not both).
/// NaN stays NaN.
/// A bound takes the dtype it promotes to with x (a float bound makes an integer x float32) and
/// must fit it, as fill_ checks: clamp(uint8, max=300) throws, as PyTorch.
/// \throws ember::Error when both bounds are absent, or "clamp: value 300 cannot be converted to
///         type uint8 without overflow".
Tensor clamp(const Tensor& x, const std::optional<Scalar>& min, const std::optional<Scalar>& max);
/// clamp(x, min, std::nullopt).
Tensor clamp_min(const Tensor& x, const Scalar& min);
/// clamp(x, std::nullopt, max).
Tensor clamp_max(const Tensor& x, const Scalar& max);
/// Elementwise min / max of two broadcast tensors in the promoted dtype, as torch.minimum and
/// torch.maximum; NaN if either is.
/// \throws ember::Error when the shapes do not broadcast.
/// \{
Tensor minimum(const Tensor& a, const Tensor& b);
Tensor maximum(const Tensor& a, const Tensor& b);
/// \}
/// Tensors joined along an existing dim, as torch.cat: `[A, B]` and `[C, B]` along dim 0 give
/// `[A + C, B]`; dtypes promoted.
/// \throws ember::Error for an empty list, a 0-d tensor, a rank mismatch, or other dims that
///         differ.
Tensor cat(const std::vector<Tensor>& tensors, std::int64_t dim = 0);
/// n tensors of equal shape S joined along a new dim of size n at `dim`, as torch.stack:
/// `[n, S...]` for dim 0; dtypes promoted.
/// \throws ember::Error for an empty list or shapes that differ.
Tensor stack(const std::vector<Tensor>& tensors, std::int64_t dim = 0);

/// \name Views and copies
/// The Tensor methods of the same names (see Tensor::reshape and the others for shapes and
/// errors), without a graph: views share `t`'s storage, copies are contiguous.
/// \{
Tensor reshape(const Tensor& t, const Shape& shape);
Tensor view(const Tensor& t, const Shape& shape);
Tensor flatten(const Tensor& t, std::int64_t start_dim = 0, std::int64_t end_dim = -1);
Tensor transpose(const Tensor& t, std::int64_t dim0, std::int64_t dim1);
Tensor t(const Tensor& self);
Tensor permute(const Tensor& t, const Shape& dims);
Tensor unsqueeze(const Tensor& t, std::int64_t dim);
Tensor squeeze(const Tensor& t, std::int64_t dim);
Tensor narrow(const Tensor& t, std::int64_t dim, std::int64_t start, std::int64_t length);
Tensor select(const Tensor& t, std::int64_t dim, std::int64_t index);
/// Entries `start, start + step, ...` (`length` of them) of dim `dim` (in range, `step > 0`, not
/// checked: what a Slice resolves to), as a view.
Tensor slice(const Tensor& t, std::int64_t dim, std::int64_t start, std::int64_t length,
             std::int64_t step);
/// `t` if it is contiguous, else clone(t).
Tensor contiguous(const Tensor& t);
/// A contiguous copy with its own storage.
Tensor clone(const Tensor& t);
/// \}

}  // namespace core

}  // namespace ember
