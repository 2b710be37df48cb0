// Activation modules: thin wrappers over nn::functional.
#include <ember/nn/activation.h>

#include <ember/nn/functional/activation.h>

namespace ember::nn {

namespace F = functional;

ReLU::ReLU() : Module("ReLU") {}
Tensor ReLU::forward(const Tensor& x) {
  return F::relu(x);
}

Sigmoid::Sigmoid() : Module("Sigmoid") {}
Tensor Sigmoid::forward(const Tensor& x) {
  return F::sigmoid(x);
}

Tanh::Tanh() : Module("Tanh") {}
Tensor Tanh::forward(const Tensor& x) {
  return F::tanh(x);
}

SiLU::SiLU() : Module("SiLU") {}
Tensor SiLU::forward(const Tensor& x) {
  return F::silu(x);
}

LogSigmoid::LogSigmoid() : Module("LogSigmoid") {}
Tensor LogSigmoid::forward(const Tensor& x) {
  return F::logsigmoid(x);
}

Softmax::Softmax(std::int64_t dim) : Module("Softmax"), dim_(dim) {}
Tensor Softmax::forward(const Tensor& x) {
  return F::softmax(x, dim_);
}
std::string Softmax::extra_repr() const {
  return "dim=" + std::to_string(dim_);
}

LogSoftmax::LogSoftmax(std::int64_t dim) : Module("LogSoftmax"), dim_(dim) {}
Tensor LogSoftmax::forward(const Tensor& x) {
  return F::log_softmax(x, dim_);
}
std::string LogSoftmax::extra_repr() const {
  return "dim=" + std::to_string(dim_);
}

Softmin::Softmin(std::int64_t dim) : Module("Softmin"), dim_(dim) {}
Tensor Softmin::forward(const Tensor& x) {
  return F::softmin(x, dim_);
}
std::string Softmin::extra_repr() const {
  return "dim=" + std::to_string(dim_);
}

Softmax2d::Softmax2d() : Module("Softmax2d") {}
Tensor Softmax2d::forward(const Tensor& x) {
  return F::softmax2d(x);
}

}  // namespace ember::nn
