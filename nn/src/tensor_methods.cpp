// Tensor's activation methods (declared in core's tensor.h), defined here on top of
// nn::functional: core cannot include nn, so the one implementation of each op stays in nn.
#include <ember/nn/functional/activation.h>

namespace ember {

Tensor Tensor::sigmoid() const {
  return nn::functional::sigmoid(*this);
}
Tensor Tensor::tanh() const {
  return nn::functional::tanh(*this);
}
Tensor Tensor::relu() const {
  return nn::functional::relu(*this);
}
Tensor Tensor::softmax(std::int64_t dim) const {
  return nn::functional::softmax(*this, dim);
}
Tensor Tensor::log_softmax(std::int64_t dim) const {
  return nn::functional::log_softmax(*this, dim);
}

}  // namespace ember
