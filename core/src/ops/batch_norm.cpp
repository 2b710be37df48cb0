// Batch normalization, graph-free: the checks, the per-channel values (statistics, running
// statistics, scales) and the backward's; the passes over the data are kernels/batch_norm.cpp's.
// See core/include/ember/core/batch_norm.h; shape letters N, C, L (trailing dims flattened),
// M = N * L values per channel.
#include <ember/core/batch_norm.h>
#include <ember/core/ops.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include <ember/core/error.h>

#include "kernels/batch_norm.h"

namespace ember::core {

namespace {

// The [N, C, L] view of a contiguous [N, C, *] tensor's data.
kernels::ChannelShape shape_of(const Tensor& x) {
  std::int64_t L = 1;
  for (std::int64_t d = 2; d < x.dim(); ++d) L *= x.size(d);
  return {x.size(0), x.size(1), L};
}

void check_channel_tensor(const Tensor& t, const char* name, const Tensor& x) {
  if (!t.defined()) return;
  EMBER_CHECK(t.dtype() == kFloat32, "batch_norm: expected a float32 ", name, ", got ", t.dtype());
  EMBER_CHECK(t.numel() == x.size(1), "batch_norm: ", name, " should contain ", x.size(1),
              " elements not ", t.numel(), " (input ", to_string(x.sizes()), ", ", name, " ",
              to_string(t.sizes()), ")");
}

// A [C] tensor's values, contiguous (or empty when undefined).
std::vector<float> values_of(const Tensor& t) {
  if (!t.defined()) return {};
  const Tensor c = core::contiguous(t);
  const float* p = c.data_ptr<float>();
  return std::vector<float>(p, p + c.numel());
}

}  // namespace

BatchNormForward batch_norm_forward(const Tensor& x_in, const Tensor& weight, const Tensor& bias,
                                    const Tensor& running_mean, const Tensor& running_var,
                                    bool training, double momentum, double eps) {
  EMBER_CHECK(x_in.defined(), "batch_norm: the input is undefined");
  EMBER_CHECK(x_in.dtype() == kFloat32, "batch_norm: expected a float32 input, got ", x_in.dtype());
  EMBER_CHECK(x_in.dim() >= 2, "batch_norm: expected an input [N, C, *] of at least 2 dims, got ",
              to_string(x_in.sizes()));
  check_channel_tensor(weight, "weight", x_in);
  check_channel_tensor(bias, "bias", x_in);
  check_channel_tensor(running_mean, "running_mean", x_in);
  check_channel_tensor(running_var, "running_var", x_in);
  EMBER_CHECK(running_mean.defined() == running_var.defined(),
              "batch_norm: running_mean and running_var must be both given or both undefined");
  EMBER_CHECK(training || running_mean.defined(),
              "batch_norm: running_mean and running_var must be defined in evaluation mode");
  const kernels::ChannelShape s = shape_of(x_in);
  const std::int64_t M = s.N * s.L;
  // libtorch's words (torch::nn::functional::batch_norm), with its shape format.
  EMBER_CHECK(!training || M != 1,
              "Expected more than 1 value per channel when training, got input size ",
              to_string(x_in.sizes()));

  const Tensor x = core::contiguous(x_in);
  const float* xv = x.data_ptr<float>();
  BatchNormForward out;
  out.output = empty(x.sizes());
  if (x.numel() == 0) {
    // As PyTorch: an empty batch gives an empty output and leaves the running statistics.
    out.mean = zeros({s.C});
    out.invstd = zeros({s.C});
    return out;
  }
  out.mean = empty({s.C});
  out.invstd = empty({s.C});
  // Per channel, in double: the mean and invstd used, and (training) the unbiased variance.
  std::vector<double> mean(static_cast<std::size_t>(s.C)), invstd(mean.size()),
      var_unbiased(mean.size());
  const std::vector<float> w = values_of(weight), b = values_of(bias);
  if (training) {
    // Note [Batch statistics order]: one channel per piece, two passes in a fixed order.
    std::vector<double> var_sum(mean.size());
    kernels::batch_norm_train_forward(s, xv, w.empty() ? nullptr : w.data(),
                                      b.empty() ? nullptr : b.data(), eps, mean.data(),
                                      invstd.data(), var_sum.data(), out.output.data_ptr<float>());
    for (std::size_t i = 0; i < mean.size(); ++i)
      var_unbiased[i] = var_sum[i] / static_cast<double>(M - 1);
  } else {
    // y = (x - mean) * (invstd * weight) + bias, per element in double, rounded once.
    const std::vector<float> rm = values_of(running_mean), rv = values_of(running_var);
    std::vector<double> alpha(mean.size()), beta(mean.size(), 0.0);
    for (std::size_t i = 0; i < mean.size(); ++i) {
      mean[i] = rm[i];
      invstd[i] = 1.0 / std::sqrt(static_cast<double>(rv[i]) + eps);
      alpha[i] = invstd[i] * (w.empty() ? 1.0 : static_cast<double>(w[i]));
      if (!b.empty()) beta[i] = b[i];
    }
    kernels::batch_norm_affine(s, xv, mean.data(), alpha.data(), beta.data(),
                               out.output.data_ptr<float>());
  }
  float* mv = out.mean.data_ptr<float>();
  float* iv = out.invstd.data_ptr<float>();
  for (std::size_t i = 0; i < mean.size(); ++i) {
    mv[i] = static_cast<float>(mean[i]);
    iv[i] = static_cast<float>(invstd[i]);
  }
  if (training && running_mean.defined()) {
    // As PyTorch's CPU kernel: momentum * batch + (1 - momentum) * running, in double.
    const std::vector<float> rm = values_of(running_mean), rv = values_of(running_var);
    out.new_running_mean = empty({s.C});
    out.new_running_var = empty({s.C});
    float* nm = out.new_running_mean.data_ptr<float>();
    float* nv = out.new_running_var.data_ptr<float>();
    for (std::size_t i = 0; i < mean.size(); ++i) {
      nm[i] = static_cast<float>(momentum * mean[i] + (1.0 - momentum) * rm[i]);
      nv[i] = static_cast<float>(momentum * var_unbiased[i] + (1.0 - momentum) * rv[i]);
    }
  }
  return out;
}

BatchNormGrads batch_norm_backward(const Tensor& grad_out_in, const Tensor& x_in,
                                   const Tensor& weight, const Tensor& mean_t,
                                   const Tensor& invstd_t, bool training, bool need_x,
                                   bool need_weight, bool need_bias) {
  EMBER_CHECK(grad_out_in.sizes() == x_in.sizes(), "batch_norm backward: grad_out ",
              to_string(grad_out_in.sizes()), " and input ", to_string(x_in.sizes()),
              " differ in shape");
  const kernels::ChannelShape s = shape_of(x_in);
  const Tensor g_t = core::contiguous(grad_out_in);
  const Tensor x_t = core::contiguous(x_in);
  const float* g = g_t.data_ptr<float>();
  const float* xv = x_t.data_ptr<float>();
  const std::vector<float> mean_f = values_of(mean_t), invstd_f = values_of(invstd_t),
                           w = values_of(weight);
  const std::vector<double> mean(mean_f.begin(), mean_f.end()),
      invstd(invstd_f.begin(), invstd_f.end());
  // k = invstd * weight. Per channel: sum g and sum g * xhat, in double, one channel per piece
  // (Note [Batch statistics order] in batch_norm.h), and in training the input gradient
  // k (g - mean g - xhat mean(g xhat)), as the sums depend on x.
  std::vector<double> k(mean.size());
  for (std::size_t c = 0; c < k.size(); ++c) k[c] = invstd[c] * (w.empty() ? 1.0 : w[c]);
  std::vector<double> sum_g(static_cast<std::size_t>(s.C), 0.0), sum_g_xhat(sum_g.size(), 0.0);
  BatchNormGrads grads;
  if (need_x) grads.grad_x = empty(x_t.sizes());
  const bool need_sums = need_weight || need_bias || (training && need_x);
  if (need_sums && x_t.numel() > 0)
    kernels::batch_norm_backward_sums(
        s, g, xv, mean.data(), invstd.data(), k.data(), sum_g.data(), sum_g_xhat.data(),
        training && need_x ? grads.grad_x.data_ptr<float>() : nullptr);
  if (need_x && !training) {
    // Evaluation: grad_x = k g. (g - 0) k + (-0) is g k exactly, the sign of a zero included.
    const std::vector<double> zero(k.size(), 0.0), minus_zero(k.size(), -0.0);
    kernels::batch_norm_affine(s, g, zero.data(), k.data(), minus_zero.data(),
                               grads.grad_x.data_ptr<float>());
  }
  if (need_bias) {
    grads.grad_bias = empty({s.C});
    float* p = grads.grad_bias.data_ptr<float>();
    for (std::size_t i = 0; i < sum_g.size(); ++i) p[i] = static_cast<float>(sum_g[i]);
  }
  if (need_weight) {
    grads.grad_weight = empty({s.C});
    float* p = grads.grad_weight.data_ptr<float>();
    for (std::size_t i = 0; i < sum_g.size(); ++i) p[i] = static_cast<float>(sum_g_xhat[i]);
  }
  return grads;
}

}  // namespace ember::core
