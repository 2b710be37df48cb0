/// \file
/// ember::nn::Conv2d: a 2-d convolution layer, y = w (*) x + b.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include <ember/core/conv.h>
#include <ember/core/generator.h>
#include <ember/core/tensor.h>
#include <ember/nn/module.h>

namespace ember::nn {

/// Builder options of Conv2d, as libtorch's:
/// `Conv2dOptions(1, 6, 5).stride(1).padding(2).dilation(1).groups(1).bias(true)`.
class Conv2dOptions {
 public:
  /// C = in_channels -> O = out_channels with a kernel_size x kernel_size (or {KH, KW}) kernel.
  Conv2dOptions(std::int64_t in_channels, std::int64_t out_channels, ExpandingArray<2> kernel_size)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size) {}
  /// Sets the stride (a number or {h, w}); returns *this for chaining.
  Conv2dOptions& stride(ExpandingArray<2> s) {
    stride_ = s;
    return *this;
  }
  /// Sets the zero padding (a number, {h, w}, "same" or "valid"); returns *this.
  Conv2dOptions& padding(Conv2dPadding p) {
    padding_ = p;
    return *this;
  }
  /// Sets the dilation; returns *this.
  Conv2dOptions& dilation(ExpandingArray<2> d) {
    dilation_ = d;
    return *this;
  }
  /// Sets the groups (C and O both divisible by it; groups = C is depthwise); returns *this.
  Conv2dOptions& groups(std::int64_t g) {
    groups_ = g;
    return *this;
  }
  /// With (`on`) or without a bias; returns *this.
  Conv2dOptions& bias(bool on) {
    bias_ = on;
    return *this;
  }
  std::int64_t in_channels() const { return in_channels_; }              ///< C
  std::int64_t out_channels() const { return out_channels_; }            ///< O
  const ExpandingArray<2>& kernel_size() const { return kernel_size_; }  ///< KH, KW
  const ExpandingArray<2>& stride() const { return stride_; }            ///< Default 1.
  const Conv2dPadding& padding() const { return padding_; }              ///< Default 0.
  const ExpandingArray<2>& dilation() const { return dilation_; }        ///< Default 1.
  std::int64_t groups() const { return groups_; }                        ///< Default 1.
  bool bias() const { return bias_; }                                    ///< Default true.

 private:
  std::int64_t in_channels_, out_channels_;
  ExpandingArray<2> kernel_size_;
  ExpandingArray<2> stride_ = 1;
  Conv2dPadding padding_ = 0;
  ExpandingArray<2> dilation_ = 1;
  std::int64_t groups_ = 1;
  bool bias_ = true;
};

/// y = w (*) x + b, as torch.nn.Conv2d (zero padding): float32 [N, C, H, W] or [C, H, W] ->
/// [N, O, OH, OW] (or [O, OH, OW]); formula and output size in <ember/autograd/conv.h>.
///
/// weight is [O, C / groups, KH, KW], bias [O] (undefined with bias(false)). Initialized as
/// PyTorch's Conv2d.reset_parameters, drawing from `gen`, with fan_in = C / groups * KH * KW:
///   weight ~ kaiming_uniform_(a = sqrt(5)), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in));
///   bias   ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
/// Prints as PyTorch: "Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))"
/// (padding, dilation, groups and bias only when not their defaults).
class Conv2d : public Module {
 public:
  /// A layer from `options`, initialized from `gen`.
  /// \throws ember::Error for channels < 1 (out_channels may not be 0 either), a kernel < 1,
  ///   groups < 1 or not dividing both channel counts, stride or dilation < 1, padding < 0, or
  ///   padding "same" with a stride other than 1 (as torch.nn.Conv2d's constructor).
  explicit Conv2d(const Conv2dOptions& options, Generator& gen = default_generator());
  /// Conv2d(Conv2dOptions(in_channels, out_channels, kernel_size)).
  Conv2d(std::int64_t in_channels, std::int64_t out_channels, ExpandingArray<2> kernel_size,
         Generator& gen = default_generator());
  /// An empty holder, to be assigned later: `Conv2d conv{nullptr}; conv = register_module(...)`.
  explicit Conv2d(std::nullptr_t) : Module(nullptr), options_(0, 0, 1) {}

  /// ember::conv2d(x, weight, bias, stride, padding, dilation, groups).
  Tensor forward(const Tensor& x) override;
  /// "1, 6, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2)"
  std::string extra_repr() const override;
  /// Re-draws weight and bias from `gen` with the default init above.
  void reset_parameters(Generator& gen = default_generator());
  /// The options the layer was built with.
  const Conv2dOptions& options() const { return options_; }

  Tensor weight;  ///< float32 [O, C / groups, KH, KW]
  Tensor bias;    ///< float32 [O], undefined with bias(false)

 private:
  Conv2dOptions options_;
};

}  // namespace ember::nn
