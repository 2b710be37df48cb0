/// \file
/// The differentiable tensor math users call: `a + b`, `ember::matmul`, `sum`, `pow`, ... .
///
/// core computes, autograd records: each op here calls its graph-free ember::core function
/// (<ember/core/ops.h>) to compute, then records a graph node when a float32 input requires grad
/// and grad mode is on (see NoGradGuard). The forward and its backward lambda sit together in
/// autograd/src/ops/ (one file per area). Gradients are PyTorch's documented ones
/// (derivatives.yaml), including at the edge cases (NaN, ties, 0).
///
/// Every op checks its inputs and throws ember::Error naming the op and the shapes/dtypes; every
/// op throws it for an undefined input tensor and for a dim out of range. Broadcasting follows
/// NumPy/PyTorch: shapes are aligned from the right, and each pair of sizes must be equal or one
/// of them 1 (`[N, D]` with `[D]` gives `[N, D]`); otherwise the op throws.
#pragma once

#include <optional>
#include <tuple>
#include <vector>

#include <ember/autograd/indexing.h>
#include <ember/core/ops.h>

namespace ember {

/// `a + b`, `a - b`, `a * b`, `a / b` elementwise with broadcasting, `[N, D] + [D] -> [N, D]`, in
/// the promoted dtype (see result_type).
///
/// Integer arithmetic wraps around on overflow, as PyTorch's. div is true division: integers give
/// float32 (arange(4) / 2 is `[0, 0.5, 1, 1.5]`; 1 / 0 is inf). Differentiable for float32:
/// d(a+b) = da + db, d(a-b) = da - db, d(ab) = b da + a db, d(a/b) = da / b - a / b^2 db, each
/// gradient summed back over the dims it was broadcast along. A number `b` becomes a 0-d tensor
/// first (so it ranks as a plain number in promotion).
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
/// `-a` elementwise, same shape and dtype (integers wrap). d(-a) = -da.
Tensor neg(const Tensor& a);
/// e^a elementwise, in float32: integer tensors are converted first, as PyTorch's exp.
/// d exp(a) = exp(a) da.
Tensor exp(const Tensor& a);
/// The natural logarithm elementwise (NaN below 0, -inf at 0), in float32: integer tensors are
/// converted first, as PyTorch's log. d log(a) = da / a.
Tensor log(const Tensor& a);

/// The operators for add, sub, mul, div and neg, with a tensor or a number on either side
/// (promoted by the number's kind: see result_type). Same shapes, dtypes, gradients and errors.
/// \{
Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a);
Tensor operator+(const Tensor& a, const Scalar& b);
Tensor operator-(const Tensor& a, const Scalar& b);
Tensor operator*(const Tensor& a, const Scalar& b);
Tensor operator/(const Tensor& a, const Scalar& b);
Tensor operator+(const Scalar& a, const Tensor& b);
Tensor operator-(const Scalar& a, const Tensor& b);
Tensor operator*(const Scalar& a, const Tensor& b);
Tensor operator/(const Scalar& a, const Tensor& b);
/// \}

/// The matrix product `[N, K] @ [K, M] -> [N, M]`, as torch.matmul.
///
/// Batched over leading dims with broadcasting (`[B, N, K] @ [K, M] -> [B, N, M]`); 1-d operands
/// as in torch.matmul (`[K] @ [K, M] -> [M]`, `[N, K] @ [K] -> [N]`, `[K] @ [K]` -> 0-d). float32
/// only. Our own cache-blocked SIMD kernel (see cpu_capability). Gradients: dA = dOut B^T,
/// dB = A^T dOut, summed over broadcast batch dims.
/// \throws ember::Error when an input is not float32 or is 0-d, the inner dims differ
///         ("matmul: shapes [256, 784] and [785, 10] cannot be multiplied (784 != 785)"), or the
///         batch dims do not broadcast.
Tensor matmul(const Tensor& a, const Tensor& b);

/// The sum of all elements (a 0-d result), or along `dim` (`[N, D] -> [N]` along dim 1, or
/// `[N, 1]` with keepdim), as torch.sum.
///
/// The summation order is fixed by the shape, so results never depend on the thread count. float32
/// gives float32 (accumulated in double); int64 and uint8 give int64 (count masks with `(pred ==
/// y).sum()`). The gradient is the incoming one broadcast back to `a`'s shape.
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
/// The largest element, a 0-d tensor of a's dtype; NaN if any element is NaN, as PyTorch. Ties
/// share the gradient evenly.
/// \throws ember::Error for an empty tensor.
Tensor max(const Tensor& a);
/// The maxima along `dim` and their int64 indices (the first maximum; a NaN counts as the
/// maximum), as torch.max(dim). The gradient flows only to the chosen element of each slice.
/// \throws ember::Error when the dim has size 0.
std::tuple<Tensor, Tensor> max(const Tensor& a, std::int64_t dim, bool keepdim = false);
/// The smallest element, a 0-d tensor of a's dtype; NaN if any element is NaN; ties share the
/// gradient evenly.
/// \throws ember::Error for an empty tensor.
Tensor min(const Tensor& a);
/// The minima along `dim` and their int64 indices (the first minimum; a NaN counts as the
/// minimum), as torch.min(dim). The gradient flows only to the chosen element of each slice.
/// \throws ember::Error when the dim has size 0.
std::tuple<Tensor, Tensor> min(const Tensor& a, std::int64_t dim, bool keepdim = false);
/// log(sum(exp(x))) along `dim`, as torch.logsumexp: `[*, K, *] -> [*, *]`, float32 (integers
/// converted).
///
/// Stable for |x| up to float max and for rows of -inf (see Note [Stable logsumexp] in
/// core/src/ops/reduce.cpp): computed as m + log(sum(exp(x - m))) with m the row max.
/// The gradient is softmax(x) along `dim`.
Tensor logsumexp(const Tensor& a, std::int64_t dim, bool keepdim = false);

/// A view with dims `dim0` and `dim1` swapped: Tensor::transpose.
Tensor transpose(const Tensor& a, std::int64_t dim0, std::int64_t dim1);

/// a^b elementwise, with broadcasting, in the promoted dtype, as torch.pow (integer powers wrap
/// on overflow). d/da = b a^(b-1), d/db = a^b log a (0 where a = 0 and b >= 0); the gradient is 0
/// wherever the exponent is 0, and x^0.5, x^-0.5 are computed as PyTorch's sqrt and rsqrt.
/// Integers to negative integer powers throw when the power is a number, and give 1 / a^-b
/// truncated (0 unless a is 1 or -1) when it is a tensor, as PyTorch.
/// \throws ember::Error when integers are raised to a negative integer number, or to one their
///         dtype cannot hold ("pow: value 256 cannot be converted to type uint8 without
///         overflow", as PyTorch), or the shapes do not broadcast.
/// \{
Tensor pow(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& x, const Scalar& exponent);
Tensor pow(const Scalar& base, const Tensor& x);
/// \}
/// x * x elementwise, same dtype. d/dx = 2x.
Tensor square(const Tensor& x);
/// The square root elementwise, as float32 (integers converted); NaN below 0.
/// d/dx = 1 / (2 sqrt x), inf at 0.
Tensor sqrt(const Tensor& x);
/// |x| elementwise, same dtype. d/dx = sign(x), 0 at 0 and NaN (PyTorch's sgn).
Tensor abs(const Tensor& x);
/// min(max(x, min), max) elementwise, as torch.clamp; either bound may be absent (not both).
/// NaN stays NaN. d/dx = 1 where min <= x <= max, else 0.
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
/// torch.maximum; NaN if either is. The gradient goes to the winner and is halved on ties (as
/// PyTorch).
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

}  // namespace ember
