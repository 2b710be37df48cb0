/// \file
/// Learning-rate schedulers, as torch.optim.lr_scheduler: StepLR and CosineAnnealingLR.
#pragma once

#include <cstdint>
#include <vector>

#include <ember/optim/optimizer.h>

namespace ember::optim {

/// What every scheduler shares, as PyTorch 1.13's _LRScheduler: an epoch counter and the lr it
/// sets on each parameter group of an optimizer.
///
/// Construction records each group's lr as its base lr and takes the first step (last_epoch
/// becomes 0, the lrs stay as they are). Each step() then increments last_epoch and sets every
/// group's lr (Optimizer::set_lr, i.e. `param_groups()[i].options.lr(...)`) to the value the
/// schedule gives; call it once per epoch, after the optimizer's step(), as in PyTorch:
/// \code
///   optim::SGD sgd(net->parameters(), {.lr = 0.1});
///   optim::StepLR scheduler(sgd, /*step_size=*/30, /*gamma=*/0.1);
///   for (int epoch = 0; epoch < 90; ++epoch) {
///     train(net, sgd);
///     scheduler.step();  // lr 0.1 for epochs 0-29, 0.01 for 30-59, 0.001 for 60-89
///   }
/// \endcode
/// The scheduler keeps a reference to the optimizer, which must outlive it. Its state (the
/// epoch, the base lrs and the last lrs) is saved with ember::save(const LRScheduler&, path) and
/// restored with ember::load (<ember/optim/checkpoint.h>), beside the optimizer's own checkpoint
/// (which holds the current lrs): a resumed run continues with the same learning rates, bit for
/// bit.
class LRScheduler {
 public:
  virtual ~LRScheduler() = default;
  LRScheduler(const LRScheduler&) = delete;
  LRScheduler& operator=(const LRScheduler&) = delete;

  /// Advances one epoch and sets each group's lr.
  /// \throws ember::Error if the optimizer's number of groups changed since construction.
  void step();
  /// The lr of each group set by the last step() (or by construction).
  const std::vector<double>& get_last_lr() const { return last_lr_; }
  /// The epochs stepped since construction (0 right after it).
  std::int64_t last_epoch() const { return last_epoch_; }
  /// Each group's lr when the scheduler was constructed (PyTorch's initial_lr).
  const std::vector<double>& base_lrs() const { return base_lrs_; }
  /// The optimizer whose lrs this scheduler sets.
  Optimizer& optimizer() const { return *optimizer_; }

  /// The class name, "StepLR" or "CosineAnnealingLR": in error messages and checkpoints.
  virtual const char* name() const = 0;
  /// The schedule's own parameters, in a fixed order (StepLR: step_size, gamma), as saved in a
  /// checkpoint and compared when it is loaded.
  virtual std::vector<double> hyperparameters() const = 0;

  /// Replaces the state (what ember::load does, after checking it).
  /// \throws ember::Error if `last_epoch` < 0 or the vectors do not have one value per group.
  void set_state(std::int64_t last_epoch, std::vector<double> base_lrs,
                 std::vector<double> last_lr);

 protected:
  /// Records the base lrs; the derived constructor then calls initial_step().
  explicit LRScheduler(Optimizer& optimizer);
  /// PyTorch's _initial_step: the first step(), to last_epoch 0.
  void initial_step() { step(); }
  /// The lr of each group for epoch last_epoch() (already incremented), given the current lrs
  /// (PyTorch's get_lr, which reads group['lr']).
  virtual std::vector<double> compute_lr(const std::vector<double>& current) const = 0;

 private:
  Optimizer* optimizer_;
  std::int64_t last_epoch_ = -1;
  std::vector<double> base_lrs_;
  std::vector<double> last_lr_;
};

/// Multiplies each group's lr by gamma every step_size epochs, as torch.optim.lr_scheduler.StepLR
/// (d2l 12.11's "factor" schedule, in steps):
/// \code{.unparsed}
///   lr_epoch = lr_(epoch-1) * gamma   if epoch > 0 and epoch % step_size == 0
///            = lr_(epoch-1)           otherwise
/// \endcode
/// so with lr set by this scheduler alone, lr_epoch = base_lr * gamma^floor(epoch / step_size).
class StepLR final : public LRScheduler {
 public:
  /// \throws ember::Error if step_size < 1 or gamma is not finite.
  StepLR(Optimizer& optimizer, std::int64_t step_size, double gamma = 0.1);
  const char* name() const override { return "StepLR"; }
  std::vector<double> hyperparameters() const override {
    return {static_cast<double>(step_size_), gamma_};
  }
  std::int64_t step_size() const { return step_size_; }  ///< Epochs between decays.
  double gamma() const { return gamma_; }                ///< The decay factor.

 private:
  std::vector<double> compute_lr(const std::vector<double>& current) const override;
  std::int64_t step_size_;
  double gamma_;
};

/// Cosine annealing from each group's base lr down to eta_min over T_max epochs, as
/// torch.optim.lr_scheduler.CosineAnnealingLR (Loshchilov & Hutter 2017, SGDR, without restarts;
/// d2l 12.11's cosine schedule). PyTorch 1.13 computes it recursively from the current lr, so an
/// lr changed from outside carries on:
/// \code{.unparsed}
///   lr_e = eta_min + (1 + cos(pi e / T_max)) / (1 + cos(pi (e - 1) / T_max)) * (lr_(e-1) -
///   eta_min) lr_e = lr_(e-1) + (base_lr - eta_min) * (1 - cos(pi / T_max)) / 2
///                                               where (e - 1 - T_max) % (2 T_max) == 0
/// \endcode
/// With lr set by this scheduler alone this is the closed form
/// `eta_min + (base_lr - eta_min) (1 + cos(pi e / T_max)) / 2`, a period of 2 T_max: after
/// T_max epochs the lr climbs back.
class CosineAnnealingLR final : public LRScheduler {
 public:
  /// \throws ember::Error if T_max is not in [1, 2^53] or eta_min is not finite.
  CosineAnnealingLR(Optimizer& optimizer, std::int64_t T_max, double eta_min = 0.0);
  const char* name() const override { return "CosineAnnealingLR"; }
  std::vector<double> hyperparameters() const override {
    return {static_cast<double>(t_max_), eta_min_};
  }
  std::int64_t t_max() const { return t_max_; }  ///< T_max: half the period, in epochs.
  double eta_min() const { return eta_min_; }    ///< The lowest lr.

 private:
  std::vector<double> compute_lr(const std::vector<double>& current) const override;
  std::int64_t t_max_;
  double eta_min_;
};

}  // namespace ember::optim
