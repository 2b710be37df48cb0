// Learning-rate schedulers. See lr_scheduler.h.
#include <ember/optim/lr_scheduler.h>

#include <cmath>
#include <numbers>
#include <utility>

#include <ember/core/error.h>

namespace ember::optim {

namespace {

std::vector<double> current_lrs(const Optimizer& optimizer) {
  std::vector<double> lrs(optimizer.num_param_groups());
  for (std::size_t g = 0; g < lrs.size(); ++g) lrs[g] = optimizer.get_lr(g);
  return lrs;
}

}  // namespace

LRScheduler::LRScheduler(Optimizer& optimizer)
    : optimizer_(&optimizer), base_lrs_(current_lrs(optimizer)) {}

// As _LRScheduler.step() without an epoch argument.
void LRScheduler::step() {
  EMBER_CHECK(optimizer_->num_param_groups() == base_lrs_.size(), name(),
              "::step: the optimizer has ", optimizer_->num_param_groups(),
              " parameter groups, the scheduler was made for ", base_lrs_.size());
  EMBER_CHECK(last_epoch_ < std::int64_t{1} << 53, name(), "::step: last_epoch ", last_epoch_,
              " cannot grow further");
  ++last_epoch_;
  const std::vector<double> lrs = compute_lr(current_lrs(*optimizer_));
  for (std::size_t g = 0; g < lrs.size(); ++g) optimizer_->set_lr(g, lrs[g]);
  last_lr_ = current_lrs(*optimizer_);
}

void LRScheduler::set_state(std::int64_t last_epoch, std::vector<double> base_lrs,
                            std::vector<double> last_lr) {
  const std::size_t groups = optimizer_->num_param_groups();
  EMBER_CHECK(last_epoch >= 0 && last_epoch <= std::int64_t{1} << 53, name(),
              ": last_epoch must be in [0, 2^53], got ", last_epoch);
  EMBER_CHECK(base_lrs.size() == groups && last_lr.size() == groups, name(), ": the optimizer has ",
              groups, " parameter groups, the state has ", base_lrs.size(), " base lrs and ",
              last_lr.size(), " last lrs");
  last_epoch_ = last_epoch;
  base_lrs_ = std::move(base_lrs);
  last_lr_ = std::move(last_lr);
}

StepLR::StepLR(Optimizer& optimizer, std::int64_t step_size, double gamma)
    : LRScheduler(optimizer), step_size_(step_size), gamma_(gamma) {
  EMBER_CHECK(step_size >= 1, "StepLR: step_size must be >= 1, got ", step_size);
  EMBER_CHECK(std::isfinite(gamma), "StepLR: gamma must be finite, got ", gamma);
  initial_step();
}

// StepLR.get_lr.
std::vector<double> StepLR::compute_lr(const std::vector<double>& current) const {
  if (last_epoch() == 0 || last_epoch() % step_size_ != 0) return current;
  std::vector<double> lrs = current;
  for (double& lr : lrs) lr = lr * gamma_;
  return lrs;
}

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, std::int64_t T_max, double eta_min)
    : LRScheduler(optimizer), t_max_(T_max), eta_min_(eta_min) {
  // Bounded so that 2 T_max and the epoch arithmetic below cannot overflow.
  EMBER_CHECK(T_max >= 1 && T_max <= std::int64_t{1} << 53,
              "CosineAnnealingLR: T_max must be in [1, 2^53], got ", T_max);
  EMBER_CHECK(std::isfinite(eta_min), "CosineAnnealingLR: eta_min must be finite, got ", eta_min);
  initial_step();
}

// CosineAnnealingLR.get_lr, operation for operation (Python evaluates left to right in
// doubles; glibc's cos is the one Python's math.cos calls), so the lrs are PyTorch's bits. The
// branch for a scheduler constructed at last_epoch > 0 does not arise: ember's start at -1.
std::vector<double> CosineAnnealingLR::compute_lr(const std::vector<double>& current) const {
  const std::int64_t e = last_epoch();
  if (e == 0) return current;
  const double pi = std::numbers::pi;
  const double t_max = static_cast<double>(t_max_);
  std::vector<double> lrs = current;
  // Python's % takes the divisor's sign: (e - 1 - T_max) % (2 T_max) is in [0, 2 T_max).
  const std::int64_t period = 2 * t_max_;
  const std::int64_t phase = ((e - 1 - t_max_) % period + period) % period;
  if (phase == 0) {
    // At the trough (e = T_max + 1, 3 T_max + 1, ...) the recursion below would divide by
    // 1 + cos(pi) = 0: PyTorch climbs by the closed form's increment instead.
    for (std::size_t g = 0; g < lrs.size(); ++g) {
      const double rise = (base_lrs()[g] - eta_min_) * (1.0 - std::cos(pi / t_max)) / 2.0;
      lrs[g] = current[g] + rise;
    }
    return lrs;
  }
  const double ratio = (1.0 + std::cos(pi * static_cast<double>(e) / t_max)) /
                       (1.0 + std::cos(pi * static_cast<double>(e - 1) / t_max));
  for (std::size_t g = 0; g < lrs.size(); ++g) {
    const double scaled = ratio * (current[g] - eta_min_);
    lrs[g] = scaled + eta_min_;
  }
  return lrs;
}

}  // namespace ember::optim
