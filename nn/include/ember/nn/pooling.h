/// \file
/// ember::nn::MaxPool2d, AvgPool2d and AdaptiveAvgPool2d: 2-d pooling layers (no parameters).
#pragma once

#include <cstddef>
#include <string>

#include <ember/nn/functional/pooling.h>
#include <ember/nn/module.h>

namespace ember::nn {

/// Max over windows, as torch.nn.MaxPool2d: functional::max_pool2d(x, options()). float32
/// [N, C, H, W] or [C, H, W] -> [N, C, OH, OW]; the gradient goes to each window's first
/// maximum. Prints as "MaxPool2d(kernel_size=[2, 2], stride=[2, 2], padding=[0, 0],
/// dilation=[1, 1], ceil_mode=false)".
class MaxPool2d : public Module {
 public:
  /// As libtorch's: MaxPool2d(MaxPool2dOptions(3).stride(2)), or MaxPool2d(2).
  /// \throws ember::Error for a kernel, stride or dilation < 1, or a padding < 0 or more than
  ///   half the kernel.
  explicit MaxPool2d(const MaxPool2dOptions& options);
  /// \overload
  explicit MaxPool2d(ExpandingArray<2> kernel_size) : MaxPool2d(MaxPool2dOptions(kernel_size)) {}
  /// An empty holder, to be assigned later (as Conv2d's).
  explicit MaxPool2d(std::nullptr_t) : Module(nullptr), options_(1) {}
  Tensor forward(const Tensor& x) override;  ///< functional::max_pool2d(x, options()).
  std::string extra_repr() const override;   ///< "kernel_size=[2, 2], stride=[2, 2], ..."
  const MaxPool2dOptions& options() const { return options_; }  ///< As given.

 private:
  MaxPool2dOptions options_;
};

/// Mean over windows, as torch.nn.AvgPool2d: functional::avg_pool2d(x, options()). Prints as
/// "AvgPool2d(kernel_size=[2, 2], stride=[2, 2], padding=[0, 0])".
class AvgPool2d : public Module {
 public:
  /// As libtorch's: AvgPool2d(AvgPool2dOptions(2).stride(2)), or AvgPool2d(2).
  /// \throws ember::Error for a kernel or stride < 1, a padding < 0 or more than half the
  ///   kernel, or a divisor_override of 0.
  explicit AvgPool2d(const AvgPool2dOptions& options);
  /// \overload
  explicit AvgPool2d(ExpandingArray<2> kernel_size) : AvgPool2d(AvgPool2dOptions(kernel_size)) {}
  /// An empty holder, to be assigned later (as Conv2d's).
  explicit AvgPool2d(std::nullptr_t) : Module(nullptr), options_(1) {}
  Tensor forward(const Tensor& x) override;  ///< functional::avg_pool2d(x, options()).
  std::string extra_repr() const override;   ///< "kernel_size=[2, 2], stride=[2, 2], padding=..."
  const AvgPool2dOptions& options() const { return options_; }  ///< As given.

 private:
  AvgPool2dOptions options_;
};

/// Mean over adaptive windows to a fixed output size, as torch.nn.AdaptiveAvgPool2d. Prints as
/// "AdaptiveAvgPool2d(output_size=[7, 7])".
class AdaptiveAvgPool2d : public Module {
 public:
  /// As libtorch's: AdaptiveAvgPool2d(AdaptiveAvgPool2dOptions({7, 7})), or AdaptiveAvgPool2d(7).
  /// \throws ember::Error for an output size < 1.
  explicit AdaptiveAvgPool2d(const AdaptiveAvgPool2dOptions& options);
  /// \overload
  explicit AdaptiveAvgPool2d(ExpandingArray<2> output_size)
      : AdaptiveAvgPool2d(AdaptiveAvgPool2dOptions(output_size)) {}
  /// An empty holder, to be assigned later (as Conv2d's).
  explicit AdaptiveAvgPool2d(std::nullptr_t) : Module(nullptr), options_(1) {}
  Tensor forward(const Tensor& x) override;  ///< functional::adaptive_avg_pool2d(x, options()).
  std::string extra_repr() const override;   ///< "output_size=[7, 7]"
  const AdaptiveAvgPool2dOptions& options() const { return options_; }  ///< As given.

 private:
  AdaptiveAvgPool2dOptions options_;
};

}  // namespace ember::nn
