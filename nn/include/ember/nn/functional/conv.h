/// \file
/// ember::nn::functional::conv2d: 2-d convolution with libtorch's option builder.
#pragma once

#include <cstdint>

#include <ember/autograd/conv.h>
#include <ember/core/tensor.h>

namespace ember::nn::functional {

/// Options of conv2d(), as libtorch's Conv2dFuncOptions:
/// `Conv2dFuncOptions().bias(b).stride(2).padding(1)`. Defaults: no bias, stride 1, padding 0,
/// dilation 1, groups 1.
class Conv2dFuncOptions {
 public:
  /// Sets the bias [O] (undefined: none); returns *this for chaining.
  Conv2dFuncOptions& bias(const Tensor& b) {
    bias_ = b;
    return *this;
  }
  /// Sets the stride (a number or {h, w}); returns *this.
  Conv2dFuncOptions& stride(ExpandingArray<2> s) {
    stride_ = s;
    return *this;
  }
  /// Sets the padding (a number, {h, w}, "same" or "valid"); returns *this.
  Conv2dFuncOptions& padding(Conv2dPadding p) {
    padding_ = p;
    return *this;
  }
  /// Sets the dilation (a number or {h, w}); returns *this.
  Conv2dFuncOptions& dilation(ExpandingArray<2> d) {
    dilation_ = d;
    return *this;
  }
  /// Sets the number of groups; returns *this.
  Conv2dFuncOptions& groups(std::int64_t g) {
    groups_ = g;
    return *this;
  }
  const Tensor& bias() const { return bias_; }                     ///< Undefined: no bias.
  const ExpandingArray<2>& stride() const { return stride_; }      ///< Default 1.
  const Conv2dPadding& padding() const { return padding_; }        ///< Default 0.
  const ExpandingArray<2>& dilation() const { return dilation_; }  ///< Default 1.
  std::int64_t groups() const { return groups_; }                  ///< Default 1.

 private:
  Tensor bias_;
  ExpandingArray<2> stride_ = 1;
  Conv2dPadding padding_ = 0;
  ExpandingArray<2> dilation_ = 1;
  std::int64_t groups_ = 1;
};

/// 2-d cross-correlation, as torch.nn.functional.conv2d: ember::conv2d(input, weight,
/// options.bias(), stride, padding, dilation, groups) (see <ember/autograd/conv.h> for the
/// formula, shapes and errors). input [N, C, H, W] or [C, H, W], weight [O, C / groups, KH, KW].
Tensor conv2d(const Tensor& input, const Tensor& weight, const Conv2dFuncOptions& options = {});

}  // namespace ember::nn::functional
