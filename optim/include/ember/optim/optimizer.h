/// \file
/// ember::optim::Optimizer: what every optimizer offers a training loop and a learning-rate
/// scheduler.
#pragma once

#include <cstddef>

namespace ember::optim {

/// The interface shared by SGD, Adam and AdamW, as libtorch's torch::optim::Optimizer.
///
/// A learning-rate scheduler (StepLR, CosineAnnealingLR) holds an Optimizer& and reads and sets
/// each group's lr through get_lr / set_lr, which are `param_groups()[group].options.lr()` and
/// `param_groups()[group].options.lr(value)` of the concrete optimizer (libtorch reaches the same
/// through OptimizerOptions::get_lr / set_lr). The value is checked at the next step().
class Optimizer {
 public:
  virtual ~Optimizer() = default;

  /// Updates every parameter that has a grad.
  virtual void step() = 0;
  /// Clears every parameter's grad: to none (default, as PyTorch 2) or to zeros.
  virtual void zero_grad(bool set_to_none = true) = 0;

  /// The number of parameter groups.
  virtual std::size_t num_param_groups() const = 0;
  /// The learning rate of group `group` (< num_param_groups()).
  virtual double get_lr(std::size_t group) const = 0;
  /// Sets the learning rate of group `group` (< num_param_groups()).
  virtual void set_lr(std::size_t group, double lr) = 0;

 protected:
  /// \cond INTERNAL
  // Copied and moved only as part of a derived optimizer (no slicing through the base).
  Optimizer() = default;
  Optimizer(const Optimizer&) = default;
  Optimizer(Optimizer&&) = default;
  Optimizer& operator=(const Optimizer&) = default;
  Optimizer& operator=(Optimizer&&) = default;
  /// \endcond
};

}  // namespace ember::optim
