// Row kernels of the softmax family along one dim of a contiguous tensor viewed as
// [outer, K, inner] (K the softmax dim), forward and backward, with scalar references.
#pragma once

#include <cstdint>

namespace ember::nn::kernels {

// softmax(x)_k = exp(x_k - m) / sum_j exp(x_j - m), m = max_j x_j;
// log_softmax(x)_k = (x_k - m) - log(sum_j exp(x_j - m)); softmin(x) = softmax(-x).
enum class SoftmaxKind { Softmax, LogSoftmax, Softmin };

struct RowShape {
  std::int64_t outer = 1;  // product of the dims before the softmax dim
  std::int64_t K = 0;      // the softmax dim
  std::int64_t inner = 1;  // product of the dims after it
};

// y = f(x). Rows are independent and each is reduced in a fixed order, so the result does not
// depend on the thread count.
void softmax_forward(SoftmaxKind kind, const float* x, float* y, RowShape shape);
// From the forward output y and grad_out:
//   softmax:     grad_x = y * (g - sum(g * y))
//   softmin:     grad_x = -y * (g - sum(g * y))
//   log_softmax: grad_x = g - exp(y) * sum(g)
void softmax_backward(SoftmaxKind kind, const float* y, const float* grad_out, float* grad_x,
                      RowShape shape);

// Plain scalar references (float64 inside, no threads).
void softmax_forward_reference(SoftmaxKind kind, const float* x, float* y, RowShape shape);
void softmax_backward_reference(SoftmaxKind kind, const float* y, const float* grad_out,
                                float* grad_x, RowShape shape);

}  // namespace ember::nn::kernels
