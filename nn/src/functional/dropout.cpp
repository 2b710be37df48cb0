// nn::functional::dropout: ember::dropout (autograd/src/ops/dropout.cpp) under its torch name.
#include <ember/nn/functional/dropout.h>

#include <ember/autograd/dropout.h>

namespace ember::nn::functional {

Tensor dropout(const Tensor& x, double p, bool training, Generator& gen) {
  return ember::dropout(x, p, training, gen);
}

Tensor dropout(const Tensor& x, const DropoutFuncOptions& options) {
  return ember::dropout(x, options.p(), options.training());
}

}  // namespace ember::nn::functional
