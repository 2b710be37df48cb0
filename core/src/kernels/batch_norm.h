// Batch normalization's passes over the data (Note [Batch normalization in double lanes] in
// batch_norm.cpp). The op (core/src/ops/batch_norm.cpp) checks the tensors and computes the
// per-channel values.
#pragma once

#include <cstdint>

namespace ember::kernels {

// Contiguous float32 data [N, C, L] (an [N, C, *] tensor with its trailing dims flattened);
// channel c's M = N L values are the rows (n, c) of L elements.
struct ChannelShape {
  std::int64_t N, C, L;
};

// Training's forward, channel by channel (threads take whole channels): mean[c] = sum x / M,
// var_sum[c] = sum (x - mean[c])^2, in double, each sum in the order of Note [Batch statistics in
// partial sums]; invstd[c] = 1 / sqrt(var_sum[c] / M + eps); then y = (x - mean[c]) scale +
// offset with scale = invstd[c] weight[c] and offset = bias[c] (weight and bias may be null: 1
// and 0), in double, rounded once to float.
void batch_norm_train_forward(const ChannelShape& s, const float* x, const float* weight,
                              const float* bias, double eps, double* mean, double* invstd,
                              double* var_sum, float* y);

// y = (x - shift[c]) scale[c] + offset[c] per element, in double, rounded once to float.
void batch_norm_affine(const ChannelShape& s, const float* x, const double* shift,
                       const double* scale, const double* offset, float* y);

// The backward's sums, channel by channel: sum_g[c] = sum g and sum_g_xhat[c] = sum g xhat, with
// xhat = (x - mean[c]) invstd[c], in double, in the same order as the forward's. If grad_x is
// not null, then training's input gradient: grad_x = k[c] ((g - sum_g[c] / M) - xhat
// sum_g_xhat[c] / M), per element in double, rounded once to float.
void batch_norm_backward_sums(const ChannelShape& s, const float* g, const float* x,
                              const double* mean, const double* invstd, const double* k,
                              double* sum_g, double* sum_g_xhat, float* grad_x);

}  // namespace ember::kernels
