/// \file
/// 2-d pooling in nn::functional (max_pool2d, avg_pool2d, adaptive_avg_pool2d) and their
/// options, which the modules MaxPool2d, AvgPool2d and AdaptiveAvgPool2d share (as libtorch's
/// MaxPool2dFuncOptions is MaxPool2dOptions).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <ember/autograd/conv.h>
#include <ember/core/tensor.h>

namespace ember::nn {

/// Options of MaxPool2d and functional::max_pool2d, as libtorch's:
/// `MaxPool2dOptions(3).stride(2).padding(1).dilation(1).ceil_mode(true)`. stride defaults to
/// the kernel size.
class MaxPool2dOptions {
 public:
  /// A kernel_size x kernel_size window (or {KH, KW}), moved by its own size.
  MaxPool2dOptions(ExpandingArray<2> kernel_size)  // NOLINT: implicit, as libtorch's
      : kernel_size_(kernel_size), stride_(kernel_size) {}
  /// Sets the window size; returns *this (the stride is left as it is).
  MaxPool2dOptions& kernel_size(ExpandingArray<2> k) {
    kernel_size_ = k;
    return *this;
  }
  /// Sets the stride; returns *this.
  MaxPool2dOptions& stride(ExpandingArray<2> s) {
    stride_ = s;
    return *this;
  }
  /// Sets the padding (-inf cells, at most half the kernel); returns *this.
  MaxPool2dOptions& padding(ExpandingArray<2> p) {
    padding_ = p;
    return *this;
  }
  /// Sets the dilation of the window; returns *this.
  MaxPool2dOptions& dilation(ExpandingArray<2> d) {
    dilation_ = d;
    return *this;
  }
  /// Rounds the output size up instead of down; returns *this.
  MaxPool2dOptions& ceil_mode(bool on) {
    ceil_mode_ = on;
    return *this;
  }
  const ExpandingArray<2>& kernel_size() const { return kernel_size_; }  ///< KH, KW.
  const ExpandingArray<2>& stride() const { return stride_; }            ///< Default: the kernel.
  const ExpandingArray<2>& padding() const { return padding_; }          ///< Default 0.
  const ExpandingArray<2>& dilation() const { return dilation_; }        ///< Default 1.
  bool ceil_mode() const { return ceil_mode_; }                          ///< Default false.

 private:
  ExpandingArray<2> kernel_size_, stride_;
  ExpandingArray<2> padding_ = 0, dilation_ = 1;
  bool ceil_mode_ = false;
};

/// Options of AvgPool2d and functional::avg_pool2d, as libtorch's:
/// `AvgPool2dOptions(2).stride(2).padding(1).ceil_mode(false).count_include_pad(true)
/// .divisor_override(4)`. stride defaults to the kernel size.
class AvgPool2dOptions {
 public:
  /// A kernel_size x kernel_size window (or {KH, KW}), moved by its own size.
  AvgPool2dOptions(ExpandingArray<2> kernel_size)  // NOLINT: implicit, as libtorch's
      : kernel_size_(kernel_size), stride_(kernel_size) {}
  /// Sets the window size; returns *this.
  AvgPool2dOptions& kernel_size(ExpandingArray<2> k) {
    kernel_size_ = k;
    return *this;
  }
  /// Sets the stride; returns *this.
  AvgPool2dOptions& stride(ExpandingArray<2> s) {
    stride_ = s;
    return *this;
  }
  /// Sets the zero padding (at most half the kernel); returns *this.
  AvgPool2dOptions& padding(ExpandingArray<2> p) {
    padding_ = p;
    return *this;
  }
  /// Rounds the output size up instead of down; returns *this.
  AvgPool2dOptions& ceil_mode(bool on) {
    ceil_mode_ = on;
    return *this;
  }
  /// Counts the padding cells in each window's divisor; returns *this.
  AvgPool2dOptions& count_include_pad(bool on) {
    count_include_pad_ = on;
    return *this;
  }
  /// Divides every window's sum by `d` (nonzero) instead; std::nullopt: by the window; returns
  /// *this.
  AvgPool2dOptions& divisor_override(std::optional<std::int64_t> d) {
    divisor_override_ = d;
    return *this;
  }
  const ExpandingArray<2>& kernel_size() const { return kernel_size_; }  ///< KH, KW.
  const ExpandingArray<2>& stride() const { return stride_; }            ///< Default: the kernel.
  const ExpandingArray<2>& padding() const { return padding_; }          ///< Default 0.
  bool ceil_mode() const { return ceil_mode_; }                          ///< Default false.
  bool count_include_pad() const { return count_include_pad_; }          ///< Default true.
  /// Default none.
  const std::optional<std::int64_t>& divisor_override() const { return divisor_override_; }

 private:
  ExpandingArray<2> kernel_size_, stride_;
  ExpandingArray<2> padding_ = 0;
  bool ceil_mode_ = false;
  bool count_include_pad_ = true;
  std::optional<std::int64_t> divisor_override_;
};

/// Options of AdaptiveAvgPool2d and functional::adaptive_avg_pool2d, as libtorch's
/// `AdaptiveAvgPool2dOptions({7, 7})`: the output size (a number or {OH, OW}).
class AdaptiveAvgPool2dOptions {
 public:
  /// An output of output_size x output_size (or {OH, OW}).
  AdaptiveAvgPool2dOptions(ExpandingArray<2> output_size)  // NOLINT: implicit, as libtorch's
      : output_size_(output_size) {}
  /// Sets the output size; returns *this.
  AdaptiveAvgPool2dOptions& output_size(ExpandingArray<2> s) {
    output_size_ = s;
    return *this;
  }
  const ExpandingArray<2>& output_size() const { return output_size_; }  ///< OH, OW.

 private:
  ExpandingArray<2> output_size_;
};

namespace functional {

using MaxPool2dFuncOptions = MaxPool2dOptions;                  ///< As libtorch's.
using AvgPool2dFuncOptions = AvgPool2dOptions;                  ///< As libtorch's.
using AdaptiveAvgPool2dFuncOptions = AdaptiveAvgPool2dOptions;  ///< As libtorch's.

/// Max over windows, as torch.nn.functional.max_pool2d: ember::max_pool2d with the options
/// (shapes, gradient and errors in <ember/autograd/conv.h>).
Tensor max_pool2d(const Tensor& input, const MaxPool2dFuncOptions& options);
/// Mean over windows, as torch.nn.functional.avg_pool2d: ember::avg_pool2d with the options.
/// \throws ember::Error also for a divisor_override of 0 or less.
Tensor avg_pool2d(const Tensor& input, const AvgPool2dFuncOptions& options);
/// avg_pool2d(sigmoid(input), options), fused into one pass over memory each way where
/// sigmoid_avg_pool2d_fuses() says so (what nn::Sequential runs for a Sigmoid followed by an
/// AvgPool2d: Note [Fused sigmoid and average pooling] in nn/src/sequential.cpp), else those two
/// calls. Outputs and gradients are bitwise those of the two calls, at any thread count.
/// float32 [N, C, H, W] -> [N, C, H / 2, W / 2] when fused; shapes and errors otherwise as the
/// two functions'. Gradient (g / divisor) (1 - s) s over each window, s = sigmoid(x).
Tensor sigmoid_avg_pool2d(const Tensor& input, const AvgPool2dFuncOptions& options);
/// True if sigmoid_avg_pool2d(input, options) runs fused: a float32 4-d input with H, W >= 2 and
/// W <= 1024, and a 2x2 window with stride 2 and no padding (any divisor_override but 0; with
/// ceil_mode, even H and W).
bool sigmoid_avg_pool2d_fuses(const Tensor& input, const AvgPool2dFuncOptions& options);
/// Mean over adaptive windows, as torch.nn.functional.adaptive_avg_pool2d.
Tensor adaptive_avg_pool2d(const Tensor& input, const AdaptiveAvgPool2dFuncOptions& options);

}  // namespace functional
}  // namespace ember::nn
