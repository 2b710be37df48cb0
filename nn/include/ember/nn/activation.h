// Activation modules (torch.nn.ReLU, Softmax, ...): each wraps the function of the same name in
// <ember/nn/functional/activation.h>, where the math, shapes and errors are documented.
#pragma once

#include <cstdint>
#include <string>

#include <ember/nn/module.h>

namespace ember::nn {

// [*] -> [*]: max(x, 0). Prints "ReLU()".
class ReLU : public Module {
 public:
  ReLU();
  Tensor forward(const Tensor& x) override;
};

// [*] -> [*]: 1 / (1 + exp(-x)). Prints "Sigmoid()".
class Sigmoid : public Module {
 public:
  Sigmoid();
  Tensor forward(const Tensor& x) override;
};

// [*] -> [*]: tanh(x). Prints "Tanh()".
class Tanh : public Module {
 public:
  Tanh();
  Tensor forward(const Tensor& x) override;
};

// [*] -> [*]: x sigmoid(x). Prints "SiLU()".
class SiLU : public Module {
 public:
  SiLU();
  Tensor forward(const Tensor& x) override;
};

// [*] -> [*]: log(sigmoid(x)), stable. Prints "LogSigmoid()".
class LogSigmoid : public Module {
 public:
  LogSigmoid();
  Tensor forward(const Tensor& x) override;
};

// [*] -> [*]: softmax along `dim` (negative counts from the end). Prints "Softmax(dim=1)".
class Softmax : public Module {
 public:
  explicit Softmax(std::int64_t dim);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  std::int64_t dim() const { return dim_; }

 private:
  std::int64_t dim_;
};

// [*] -> [*]: log_softmax along `dim`. Prints "LogSoftmax(dim=1)".
class LogSoftmax : public Module {
 public:
  explicit LogSoftmax(std::int64_t dim);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  std::int64_t dim() const { return dim_; }

 private:
  std::int64_t dim_;
};

// [*] -> [*]: softmax(-x) along `dim`. Prints "Softmin(dim=1)".
class Softmin : public Module {
 public:
  explicit Softmin(std::int64_t dim);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  std::int64_t dim() const { return dim_; }

 private:
  std::int64_t dim_;
};

// [N, C, H, W] or [C, H, W] -> same: softmax over C at every pixel. Prints "Softmax2d()".
class Softmax2d : public Module {
 public:
  Softmax2d();
  Tensor forward(const Tensor& x) override;
};

}  // namespace ember::nn
