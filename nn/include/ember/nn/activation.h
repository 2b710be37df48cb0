/// \file
/// Activation modules (torch.nn.ReLU, Softmax, ...): each wraps the function of the same name in
/// <ember/nn/functional/activation.h>, where the math, shapes and errors are documented.
#pragma once

#include <cstdint>
#include <string>

#include <ember/nn/module.h>

namespace ember::nn {

/// max(x, 0) elementwise, as torch.nn.ReLU: float32 [*] -> [*]. Prints "ReLU()".
class ReLU : public Module {
 public:
  ReLU();  ///< No options.
  /// functional::relu(x).
  /// \throws ember::Error for an undefined or non-float32 x.
  Tensor forward(const Tensor& x) override;
};

/// 1 / (1 + exp(-x)) elementwise, as torch.nn.Sigmoid: float32 [*] -> [*]. Prints "Sigmoid()".
class Sigmoid : public Module {
 public:
  Sigmoid();  ///< No options.
  /// functional::sigmoid(x).
  /// \throws ember::Error for an undefined or non-float32 x.
  Tensor forward(const Tensor& x) override;
};

/// tanh(x) elementwise, as torch.nn.Tanh: float32 [*] -> [*]. Prints "Tanh()".
class Tanh : public Module {
 public:
  Tanh();  ///< No options.
  /// functional::tanh(x).
  /// \throws ember::Error for an undefined or non-float32 x.
  Tensor forward(const Tensor& x) override;
};

/// x sigmoid(x) elementwise, as torch.nn.SiLU: float32 [*] -> [*]. Prints "SiLU()".
class SiLU : public Module {
 public:
  SiLU();  ///< No options.
  /// functional::silu(x).
  /// \throws ember::Error for an undefined or non-float32 x.
  Tensor forward(const Tensor& x) override;
};

/// log(sigmoid(x)) elementwise, stable, as torch.nn.LogSigmoid: float32 [*] -> [*].
/// Prints "LogSigmoid()".
class LogSigmoid : public Module {
 public:
  LogSigmoid();  ///< No options.
  /// functional::logsigmoid(x).
  /// \throws ember::Error for an undefined or non-float32 x.
  Tensor forward(const Tensor& x) override;
};

/// Softmax along `dim` (negative counts from the end), as torch.nn.Softmax: float32 [*] -> [*].
/// Prints "Softmax(dim=1)".
class Softmax : public Module {
 public:
  /// The dim to normalize; checked against the input's rank in forward.
  explicit Softmax(std::int64_t dim);
  /// functional::softmax(x, dim()).
  /// \throws ember::Error for an undefined or non-float32 x, or dim() outside [-rank, rank).
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;   ///< "dim=1"
  std::int64_t dim() const { return dim_; }  ///< The dim given at construction.

 private:
  std::int64_t dim_;
};

/// log_softmax along `dim`, as torch.nn.LogSoftmax: float32 [*] -> [*].
/// Prints "LogSoftmax(dim=1)".
class LogSoftmax : public Module {
 public:
  /// The dim to normalize; checked against the input's rank in forward.
  explicit LogSoftmax(std::int64_t dim);
  /// functional::log_softmax(x, dim()).
  /// \throws ember::Error for an undefined or non-float32 x, or dim() outside [-rank, rank).
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;   ///< "dim=1"
  std::int64_t dim() const { return dim_; }  ///< The dim given at construction.

 private:
  std::int64_t dim_;
};

/// softmax(-x) along `dim`, as torch.nn.Softmin: float32 [*] -> [*]. Prints "Softmin(dim=1)".
class Softmin : public Module {
 public:
  /// The dim to normalize; checked against the input's rank in forward.
  explicit Softmin(std::int64_t dim);
  /// functional::softmin(x, dim()).
  /// \throws ember::Error for an undefined or non-float32 x, or dim() outside [-rank, rank).
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;   ///< "dim=1"
  std::int64_t dim() const { return dim_; }  ///< The dim given at construction.

 private:
  std::int64_t dim_;
};

/// Softmax over C at every pixel, as torch.nn.Softmax2d: float32 [N, C, H, W] or [C, H, W] ->
/// the same shape. Prints "Softmax2d()".
class Softmax2d : public Module {
 public:
  Softmax2d();  ///< No options.
  /// functional::softmax2d(x).
  /// \throws ember::Error for an undefined or non-float32 x, or a rank other than 3 or 4.
  Tensor forward(const Tensor& x) override;
};

}  // namespace ember::nn
