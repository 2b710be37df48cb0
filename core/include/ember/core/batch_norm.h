/// \file
/// Batch normalization's computation without a graph: per-channel statistics, the normalized
/// output, the new running statistics, and the backward through the batch statistics
/// (ember::batch_norm in <ember/autograd/batch_norm.h> records the graph).
///
/// Shapes: x is [N, C, *] (any trailing dims, flattened to L; M = N * L values per channel),
/// weight, bias, running_mean, running_var, mean and invstd are [C]; all float32.
#pragma once

#include <optional>

#include <ember/core/tensor.h>

namespace ember::core {

/// What batch_norm_forward computes.
struct BatchNormForward {
  Tensor output;  ///< [N, C, *], contiguous: (x - mean) * invstd * weight + bias
  /// [C]: the mean used to normalize: the batch's (training) or running_mean (evaluation).
  Tensor mean;
  /// [C]: 1 / sqrt(var + eps) with the batch's biased var (training) or running_var.
  Tensor invstd;
  /// [C], only in training with running statistics given (else undefined): what running_mean
  /// becomes, (1 - momentum) running_mean + momentum mean.
  Tensor new_running_mean;
  /// [C], as new_running_mean: (1 - momentum) running_var + momentum var * M / (M - 1), with the
  /// batch's unbiased variance.
  Tensor new_running_var;
};

/// Batch normalization's forward, as torch.batch_norm (but the running statistics are returned
/// as new tensors, not updated: the caller writes them).
///
/// training: normalize with the batch's per-channel mean and biased variance.
/// Otherwise: with running_mean and running_var. weight and bias may be undefined (1 and 0).
///
/// Note [Batch statistics order]: each channel's mean and variance are computed by one thread,
/// in double, in two passes (mean = sum x / M, then var = sum (x - mean)^2 / M), each sum in
/// eight partial sums over the elements in a fixed order (Note [Batch statistics in partial
/// sums] in core/src/kernels/batch_norm.cpp): no cancellation as in E[x^2] - E[x]^2, and the result
/// does not depend on the thread count (threads split the channels, never one channel's sum).
/// \throws ember::Error for undefined or non-float32 tensors, x with fewer than 2 dims, [C]
///   tensors of the wrong size (naming both shapes), training with M == 1 ("Expected more than 1
///   value per channel when training, got input size [1, 3]", libtorch's words), evaluation without
///   running
///   statistics.
BatchNormForward batch_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                    const Tensor& running_mean, const Tensor& running_var,
                                    bool training, double momentum, double eps);

/// The gradients batch_norm_backward gives: undefined where not asked for.
struct BatchNormGrads {
  Tensor grad_x;       ///< [N, C, *]
  Tensor grad_weight;  ///< [C]
  Tensor grad_bias;    ///< [C]
};

/// Batch normalization's backward, from grad_out [N, C, *], the forward's x, weight (undefined:
/// 1) and the mean and invstd it used. With xhat = (x - mean) invstd and g = grad_out:
///   grad_bias   = sum_{n,l} g
///   grad_weight = sum_{n,l} g xhat
///   grad_x      = weight invstd (g - grad_bias / M - xhat grad_weight / M)  (training: the
///                 batch statistics depend on x)
///   grad_x      = weight invstd g                                          (evaluation)
/// Sums in double per channel, in the order of Note [Batch statistics order].
BatchNormGrads batch_norm_backward(const Tensor& grad_out, const Tensor& x, const Tensor& weight,
                                   const Tensor& mean, const Tensor& invstd, bool training,
                                   bool need_x, bool need_weight, bool need_bias);

}  // namespace ember::core
