// nn::functional::batch_norm: ember::batch_norm (autograd/src/ops/batch_norm.cpp) with
// libtorch's options.
#include <ember/nn/functional/batchnorm.h>

#include <ember/autograd/batch_norm.h>
#include <ember/core/error.h>

namespace ember::nn::functional {

Tensor batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var,
                  const BatchNormFuncOptions& options) {
  EMBER_CHECK(options.momentum().has_value(),
              "batch_norm: momentum is None; the function needs a number (nn::BatchNorm1d/2d "
              "with momentum None pass 1 / num_batches_tracked, the cumulative average)");
  return ember::batch_norm(input, options.weight(), options.bias(), running_mean, running_var,
                           options.training(), *options.momentum(), options.eps());
}

}  // namespace ember::nn::functional
