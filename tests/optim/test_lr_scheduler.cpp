// optim::StepLR and optim::CosineAnnealingLR: PyTorch 1.13's learning rates, bit for bit, over
// 14 steps (through CosineAnnealingLR's trough and climb back), on SGD and Adam alike.
#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include <ember/core/ops.h>
#include <ember/optim/adam.h>
#include <ember/optim/lr_scheduler.h>
#include <ember/optim/sgd.h>

using namespace ember;
using V = std::vector<double>;

namespace {

// One group per lr, each with one parameter.
std::vector<optim::ParamGroup> sgd_groups(const V& lrs) {
  std::vector<optim::ParamGroup> groups;
  for (double lr : lrs) groups.push_back({{zeros({1}).requires_grad_()}, lr});
  return groups;
}

// The lrs of group `g` after construction and after each of `steps` steps.
V trajectory(optim::LRScheduler& scheduler, std::size_t g, int steps) {
  V lrs{scheduler.get_last_lr()[g]};
  for (int i = 0; i < steps; ++i) {
    scheduler.step();
    lrs.push_back(scheduler.get_last_lr()[g]);
    CHECK(scheduler.optimizer().get_lr(g) == lrs.back());  // set on the optimizer's group
  }
  return lrs;
}

}  // namespace

// The values below come from PyTorch 1.13 (printed with %.17g, compared with ==):
//   ps = [torch.zeros(1, requires_grad=True) for _ in lrs]
//   opt = torch.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(ps, lrs)], lr=lrs[0])
//   s = make(opt); out = [s.get_last_lr()]
//   for _ in range(14): opt.step(); s.step(); out.append(s.get_last_lr())
TEST_CASE("StepLR: PyTorch's learning rates", "[optim][scheduler]") {
  SECTION("StepLR(opt, 3, 0.5), lrs [0.1, 0.03]: halved every 3 steps, per group") {
    optim::SGD sgd(sgd_groups({0.1, 0.03}), {.lr = 0.1});
    optim::StepLR scheduler(sgd, 3, 0.5);
    CHECK(scheduler.last_epoch() == 0);
    CHECK(scheduler.base_lrs() == V{0.1, 0.03});
    CHECK(trajectory(scheduler, 0, 14) ==
          V{0.10000000000000001, 0.10000000000000001, 0.10000000000000001, 0.050000000000000003,
            0.050000000000000003, 0.050000000000000003, 0.025000000000000001, 0.025000000000000001,
            0.025000000000000001, 0.012500000000000001, 0.012500000000000001, 0.012500000000000001,
            0.0062500000000000003, 0.0062500000000000003, 0.0062500000000000003});
    CHECK(scheduler.last_epoch() == 14);
    CHECK(sgd.param_groups()[1].options.lr() == 0.0018749999999999999);
  }
  SECTION("StepLR(opt, 1), gamma 0.1 by default: the product rounds as PyTorch's") {
    optim::Adam adam({zeros({1}).requires_grad_()}, {.lr = 0.1});
    optim::StepLR scheduler(adam, 1);
    CHECK(trajectory(scheduler, 0, 14) ==
          V{0.10000000000000001, 0.010000000000000002, 0.0010000000000000002,
            0.00010000000000000003, 1.0000000000000004e-05, 1.0000000000000004e-06,
            1.0000000000000005e-07, 1.0000000000000005e-08, 1.0000000000000005e-09,
            1.0000000000000006e-10, 1.0000000000000006e-11, 1.0000000000000006e-12,
            1.0000000000000007e-13, 1.0000000000000008e-14, 1.0000000000000009e-15});
  }
}

TEST_CASE("CosineAnnealingLR: PyTorch's recursive learning rates", "[optim][scheduler]") {
  SECTION("CosineAnnealingLR(opt, 5), lrs [0.1, 0.05]: down to 0 at 5, back up at 10") {
    optim::SGD sgd(sgd_groups({0.1, 0.05}), {.lr = 0.1});
    optim::CosineAnnealingLR scheduler(sgd, 5);
    const V group0 = trajectory(scheduler, 0, 14);
    CHECK(group0 == V{0.10000000000000001, 0.090450849718747381, 0.065450849718747373,
                      0.034549150281252633, 0.0095491502812526333, 0, 0.0095491502812526281,
                      0.034549150281252647, 0.065450849718747414, 0.090450849718747436,
                      0.10000000000000006, 0.090450849718747464, 0.065450849718747428,
                      0.034549150281252668, 0.0095491502812526437});
  }
  SECTION("group 1 of the same run") {
    optim::SGD sgd(sgd_groups({0.1, 0.05}), {.lr = 0.1});
    optim::CosineAnnealingLR scheduler(sgd, 5);
    CHECK(trajectory(scheduler, 1, 14) ==
          V{0.050000000000000003, 0.04522542485937369, 0.032725424859373686, 0.017274575140626316,
            0.0047745751406263167, 0, 0.0047745751406263141, 0.017274575140626323,
            0.032725424859373707, 0.045225424859373718, 0.050000000000000031, 0.045225424859373732,
            0.032725424859373714, 0.017274575140626334, 0.0047745751406263219});
  }
  SECTION("CosineAnnealingLR(opt, 4, 0.01) on AdamW: eta_min is the floor") {
    optim::AdamW adamw({zeros({1}).requires_grad_()}, {.lr = 0.1});
    optim::CosineAnnealingLR scheduler(adamw, 4, 0.01);
    CHECK(trajectory(scheduler, 0, 14) ==
          V{0.10000000000000001, 0.086819805153394644, 0.055000000000000007, 0.023180194846605363,
            0.01, 0.023180194846605363, 0.055000000000000021, 0.086819805153394686,
            0.10000000000000006, 0.0868198051533947, 0.055000000000000049, 0.023180194846605412,
            0.01, 0.023180194846605363, 0.054999999999999924});
    CHECK(adamw.param_groups()[0].options.lr() == 0.054999999999999924);
  }
}

TEST_CASE("Schedulers: an lr set from outside carries on (the recursive form)",
          "[optim][scheduler]") {
  // StepLR multiplies the current lr: halving it by hand halves every later value.
  optim::SGD sgd({zeros({1}).requires_grad_()}, {.lr = 1.0});
  optim::StepLR scheduler(sgd, 2, 0.5);
  scheduler.step();                        // epoch 1: 1.0
  sgd.param_groups()[0].options.lr(0.25);  // by hand
  scheduler.step();                        // epoch 2: 0.25 * 0.5
  CHECK(scheduler.get_last_lr() == V{0.125});
}

TEST_CASE("Schedulers: bad arguments are refused", "[optim][scheduler]") {
  optim::SGD sgd({zeros({1}).requires_grad_()}, {.lr = 1.0});
  CHECK_THROWS_WITH(optim::StepLR(sgd, 0), "StepLR: step_size must be >= 1, got 0");
  CHECK_THROWS_WITH(optim::CosineAnnealingLR(sgd, 0),
                    "CosineAnnealingLR: T_max must be in [1, 2^53], got 0");
  CHECK_THROWS_WITH(optim::CosineAnnealingLR(sgd, 10, std::nan("")),
                    "CosineAnnealingLR: eta_min must be finite, got nan");
  optim::StepLR scheduler(sgd, 1);
  sgd.add_param_group({{zeros({1}).requires_grad_()}});
  CHECK_THROWS_WITH(scheduler.step(),
                    "StepLR::step: the optimizer has 2 parameter groups, the scheduler was made "
                    "for 1");
}
