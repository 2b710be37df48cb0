// nn::functional::conv2d and the pooling functions: the options unpacked onto the autograd ops
// (autograd/src/ops/conv.cpp). See functional/conv.h and functional/pooling.h.
#include <ember/nn/functional/conv.h>
#include <ember/nn/functional/pooling.h>

namespace ember::nn::functional {

Tensor conv2d(const Tensor& input, const Tensor& weight, const Conv2dFuncOptions& options) {
  return ember::conv2d(input, weight, options.bias(), options.stride(), options.padding(),
                       options.dilation(), options.groups());
}

Tensor max_pool2d(const Tensor& input, const MaxPool2dFuncOptions& options) {
  return ember::max_pool2d(input, options.kernel_size(), options.stride(), options.padding(),
                           options.dilation(), options.ceil_mode());
}

Tensor avg_pool2d(const Tensor& input, const AvgPool2dFuncOptions& options) {
  return ember::avg_pool2d(input, options.kernel_size(), options.stride(), options.padding(),
                           options.ceil_mode(), options.count_include_pad(),
                           options.divisor_override());
}

Tensor adaptive_avg_pool2d(const Tensor& input, const AdaptiveAvgPool2dFuncOptions& options) {
  return ember::adaptive_avg_pool2d(input, options.output_size());
}

}  // namespace ember::nn::functional
