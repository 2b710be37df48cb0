/// \file
/// ember::batch_norm: batch normalization, differentiable through the batch statistics (the
/// computation is core's, see <ember/core/batch_norm.h>).
#pragma once

#include <ember/core/tensor.h>

namespace ember {

/// Batch normalization over dim 1, as torch::batch_norm(input, weight, bias, running_mean,
/// running_var, training, momentum, eps): float32 input [N, C, *] -> [N, C, *]; weight, bias,
/// running_mean, running_var [C], each optional (undefined).
///
///   y = (x - mean) / sqrt(var + eps) * weight + bias, per channel c over N and the trailing dims
///
/// training: mean and var are the batch's (var biased, divided by M = N * prod(*)), and when
/// running_mean and running_var are given they are updated in place (version bumped):
///   running_mean = (1 - momentum) running_mean + momentum mean
///   running_var  = (1 - momentum) running_var  + momentum var * M / (M - 1)   (unbiased)
/// Otherwise (evaluation): mean and var are running_mean and running_var, left unchanged.
/// Gradients flow to input (through the batch statistics in training), weight and bias; never
/// to the running statistics. Node name "BatchNormBackward".
/// \throws ember::Error as core::batch_norm_forward: a non-float32 or < 2-d input, a [C] tensor
///   of the wrong size, training with one value per channel ("Expected more than 1 value per
///   channel when training, got input size [1, 3]"), evaluation without running statistics.
Tensor batch_norm(const Tensor& input, const Tensor& weight, const Tensor& bias,
                  const Tensor& running_mean, const Tensor& running_var, bool training,
                  double momentum, double eps);

}  // namespace ember
