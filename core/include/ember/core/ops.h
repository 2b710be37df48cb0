// Tensor math: elementwise with broadcasting, matmul, reductions, comparisons.
// Every op checks its inputs and throws ember::Error naming the op and the shapes/dtypes.
#pragma once

#include <optional>

#include <ember/core/indexing.h>
#include <ember/core/scalar.h>
#include <ember/core/tensor.h>

namespace ember {

// Type promotion, as PyTorch (torch.result_type): float32 > int64 > uint8 by category, and
// operands rank as dimensioned tensors > 0-d tensors > plain numbers. A lower rank changes the
// result only when its category is higher: int64 [3] + 0-d float32 is float32, uint8 [3] + 0-d
// int64 stays uint8, int64 [3] * 0.5 is float32, uint8 [3] + 300 stays uint8 (300 wraps to 44).
// A bool number never changes the tensor's dtype. (Comparisons give uint8 masks, not PyTorch's
// bool: a mask with an int number stays uint8, where PyTorch's bool mask would become int64.)
Dtype promote_types(Dtype a, Dtype b);  // float32 if either is, else int64 if either is, else uint8
Dtype result_type(const Tensor& a, const Tensor& b);
Dtype result_type(const Tensor& a, const Scalar& b);
bool is_floating_point(Dtype dtype);
// Whether an in-place op may write a `from` result into a `to` tensor: never float into integer
// (PyTorch: "result type Float can't be cast to the desired output type Long").
bool can_cast(Dtype from, Dtype to);

// Elementwise with NumPy/PyTorch broadcasting: [N, D] + [D] -> [N, D], in the promoted dtype.
// div is true division: integers give float32 (arange(4) / 2 is [0, 0.5, 1, 1.5]; 1 / 0 is inf).
// Differentiable for float32.
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor neg(const Tensor& a);
/// e^a elementwise, in float32: integer tensors are converted first, as PyTorch's exp.
/// d exp(a) = exp(a) da.
Tensor exp(const Tensor& a);
/// The natural logarithm elementwise (NaN below 0, -inf at 0), in float32: integer tensors are
/// converted first, as PyTorch's log. d log(a) = da / a.
Tensor log(const Tensor& a);
Tensor add(const Tensor& a, const Scalar& b);
Tensor sub(const Tensor& a, const Scalar& b);
Tensor mul(const Tensor& a, const Scalar& b);
Tensor div(const Tensor& a, const Scalar& b);

Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a);
// With a number on either side, promoted by the number's kind (see result_type).
Tensor operator+(const Tensor& a, const Scalar& b);
Tensor operator-(const Tensor& a, const Scalar& b);
Tensor operator*(const Tensor& a, const Scalar& b);
Tensor operator/(const Tensor& a, const Scalar& b);
Tensor operator+(const Scalar& a, const Tensor& b);
Tensor operator-(const Scalar& a, const Tensor& b);
Tensor operator*(const Scalar& a, const Tensor& b);
Tensor operator/(const Scalar& a, const Tensor& b);

// Comparisons give uint8 masks (1 where true), broadcasting like arithmetic and comparing in the
// promoted dtype (int64 3 == 3.5 is false).
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

// In place, as PyTorch's compound assignment: the result is computed in the promoted dtype and
// written back; throws if it is float and the tensor is an integer one, or if it would broadcast
// the tensor to a larger shape.
Tensor& operator+=(Tensor& a, const Tensor& b);
Tensor& operator-=(Tensor& a, const Tensor& b);
Tensor& operator*=(Tensor& a, const Tensor& b);
Tensor& operator/=(Tensor& a, const Tensor& b);
Tensor& operator+=(Tensor& a, const Scalar& b);
Tensor& operator-=(Tensor& a, const Scalar& b);
Tensor& operator*=(Tensor& a, const Scalar& b);
Tensor& operator/=(Tensor& a, const Scalar& b);

// [N, K] @ [K, M] -> [N, M]; batched over leading dims with broadcasting ([B, N, K] @ [K, M]);
// 1-d operands as in torch.matmul. float32 only. Our own cache-blocked SIMD kernel.
Tensor matmul(const Tensor& a, const Tensor& b);

// Reductions. sum of int64/uint8 gives int64 (count masks with (pred == y).sum()); mean needs
// float32. Summation order is fixed, so results never depend on the thread count.
Tensor sum(const Tensor& a);
Tensor sum(const Tensor& a, std::int64_t dim, bool keepdim = false);
Tensor mean(const Tensor& a);
Tensor mean(const Tensor& a, std::int64_t dim, bool keepdim = false);
Tensor max(const Tensor& a);  // NaN if any element is NaN, as PyTorch
std::tuple<Tensor, Tensor> max(const Tensor& a, std::int64_t dim, bool keepdim = false);
Tensor argmax(const Tensor& a, std::int64_t dim, bool keepdim = false);  // first max; NaN wins

Tensor transpose(const Tensor& a, std::int64_t dim0, std::int64_t dim1);

// --- More math (core/src/ops/math.cpp, min_logsumexp.cpp, join.cpp); differentiable for float32
// as PyTorch's are, NaN propagating as in PyTorch ---

// a^b elementwise, promoted; integers to negative integer powers throw when the power is a
// number, and give 1 / a^-b truncated (0 unless a is 1 or -1) when it is a tensor, as PyTorch.
// d/da = b a^(b-1), d/db = a^b log a (0 where a = 0 and b >= 0).
Tensor pow(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& x, const Scalar& exponent);
Tensor pow(const Scalar& base, const Tensor& x);
Tensor square(const Tensor& x);  // x * x, same dtype
Tensor sqrt(const Tensor& x);    // float32 (integers converted); NaN below 0; d/dx = 1 / (2 sqrt x)
Tensor abs(const Tensor& x);     // same dtype; d/dx = sign(x), 0 at 0 and NaN
// min(max(x, min), max); either bound may be absent (not both). NaN stays NaN. d/dx = 1 where
// min <= x <= max, else 0.
Tensor clamp(const Tensor& x, const std::optional<Scalar>& min, const std::optional<Scalar>& max);
Tensor clamp_min(const Tensor& x, const Scalar& min);
Tensor clamp_max(const Tensor& x, const Scalar& max);
// Elementwise min / max of two broadcast tensors, NaN if either is. The gradient goes to the
// winner and is halved on ties (as PyTorch).
Tensor minimum(const Tensor& a, const Tensor& b);
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor min(const Tensor& a);  // NaN if any element is NaN; ties share the gradient
std::tuple<Tensor, Tensor> min(const Tensor& a, std::int64_t dim, bool keepdim = false);
// log(sum(exp(x))) along dim, stable for |x| up to float max and for rows of -inf (see Note
// [Stable logsumexp]). [*, K, *] -> [*, *]. Gradient softmax(x) along dim.
Tensor logsumexp(const Tensor& a, std::int64_t dim, bool keepdim = false);
// [A, B] and [C, B] along dim 0 -> [A + C, B]; dtypes promoted; other dims must match.
Tensor cat(const std::vector<Tensor>& tensors, std::int64_t dim = 0);
// n tensors of equal shape S -> a new dim of size n at `dim`: [n, S...] for dim 0.
Tensor stack(const std::vector<Tensor>& tensors, std::int64_t dim = 0);

// Shape the result of broadcasting a and b would have; throws naming `op` and both shapes.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

}  // namespace ember
