// Tensor math: elementwise with broadcasting, matmul, reductions, comparisons.
// Every op checks its inputs and throws ember::Error naming the op and the shapes/dtypes.
#pragma once

#include <ember/core/tensor.h>

namespace ember {

// Elementwise with NumPy/PyTorch broadcasting: [N, D] + [D] -> [N, D]. Both inputs must have the
// same dtype (no implicit promotion: convert with .to()). Differentiable for float32.
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor neg(const Tensor& a);
Tensor exp(const Tensor& a);
Tensor log(const Tensor& a);

Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a);
// With a number: the number takes the tensor's dtype.
Tensor operator+(const Tensor& a, double b);
Tensor operator-(const Tensor& a, double b);
Tensor operator*(const Tensor& a, double b);
Tensor operator/(const Tensor& a, double b);
Tensor operator+(double a, const Tensor& b);
Tensor operator-(double a, const Tensor& b);
Tensor operator*(double a, const Tensor& b);
Tensor operator/(double a, const Tensor& b);

// Comparisons give uint8 masks (1 where true), broadcasting like arithmetic.
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

// Shape the result of broadcasting a and b would have; throws naming `op` and both shapes.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

}  // namespace ember
