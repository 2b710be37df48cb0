// Elementwise activation kernels over contiguous float32 arrays of n elements, forward and
// backward, each with the plain scalar reference the tests compare it against.
#pragma once

#include <cstdint>

namespace ember::nn::kernels {

// Forward: y = f(x). Backward: grad_x = grad_out * f'(x), written from whichever of x and y the
// derivative is cheapest and most accurate in (the same choice PyTorch makes).
// vexp (kernels/nn_math.h), the vector exp inside sigmoid, tanh, softmax and cross_entropy, over
// an array: what tests/nn/test_kernels.cpp measures it through (ULP and the float range's edges).
// ember::exp does not use it: it keeps std::exp, which vexp differs from by up to ~1 ULP, and
// exp's results must not change bit for bit.
void exp_forward(const float* x, float* y, std::int64_t n);
void sigmoid_forward(const float* x, float* y, std::int64_t n);
void sigmoid_backward(const float* y, const float* grad_out, float* grad_x, std::int64_t n);
void tanh_forward(const float* x, float* y, std::int64_t n);
void tanh_backward(const float* y, const float* grad_out, float* grad_x, std::int64_t n);
void relu_forward(const float* x, float* y, std::int64_t n);
void relu_backward(const float* y, const float* grad_out, float* grad_x, std::int64_t n);
void silu_forward(const float* x, float* y, std::int64_t n);
void silu_backward(const float* x, const float* grad_out, float* grad_x, std::int64_t n);
void logsigmoid_forward(const float* x, float* y, std::int64_t n);
void logsigmoid_backward(const float* x, const float* grad_out, float* grad_x, std::int64_t n);

// Plain scalar references (float64 inside, one element at a time, no threads).
void sigmoid_forward_reference(const float* x, float* y, std::int64_t n);
void sigmoid_backward_reference(const float* y, const float* grad_out, float* grad_x,
                                std::int64_t n);
void tanh_forward_reference(const float* x, float* y, std::int64_t n);
void tanh_backward_reference(const float* y, const float* grad_out, float* grad_x, std::int64_t n);
void relu_forward_reference(const float* x, float* y, std::int64_t n);
void relu_backward_reference(const float* y, const float* grad_out, float* grad_x, std::int64_t n);
void silu_forward_reference(const float* x, float* y, std::int64_t n);
void silu_backward_reference(const float* x, const float* grad_out, float* grad_x, std::int64_t n);
void logsigmoid_forward_reference(const float* x, float* y, std::int64_t n);
void logsigmoid_backward_reference(const float* x, const float* grad_out, float* grad_x,
                                   std::int64_t n);

}  // namespace ember::nn::kernels
