// Issue 13, kind B for the optimizer: options the float32 update cannot represent are refused at
// construction and at step(), naming the option.
#include <catch2/catch.hpp>

#include <limits>

#include <ember/optim/adam.h>
#include <ember/optim/lr_scheduler.h>
#include <ember/optim/sgd.h>

using namespace ember;
using Catch::Contains;

TEST_CASE("SGD: options that do not fit float32 are refused", "[optim][hostile]") {
  Tensor p = zeros({2}).requires_grad_();
  CHECK_THROWS_WITH(optim::SGD({p}, {.lr = 1e300}),
                    "SGD: lr=1e+300 cannot be converted to type float32 without overflow");
  CHECK_THROWS_WITH(optim::SGD({p}, {.lr = 0.1, .momentum = 1e39}),
                    Contains("SGD: momentum=1e+39 cannot be converted"));
  CHECK_THROWS_WITH(optim::SGD({p}, {.lr = 0.1, .dampening = -1e39}),
                    Contains("SGD: 1 - dampening=1e+39 cannot be converted"));
  CHECK_THROWS_WITH(optim::SGD({p}, {.lr = 0.1, .weight_decay = 4e38}),
                    Contains("SGD: weight_decay=4e+38 cannot be converted"));
  CHECK_THROWS_WITH(optim::SGD({p}, {.lr = std::numeric_limits<double>::quiet_NaN()}),
                    Contains("SGD: invalid learning rate lr=nan"));
  optim::SGD sgd({p}, {.lr = 0.1});
  p.mutable_grad() = ones({2});
  sgd.param_groups()[0].options.lr(1e300);
  CHECK_THROWS_WITH(sgd.step(), Contains("SGD::step: lr=1e+300 cannot be converted"));
  CHECK(p.to_vector<float>() == std::vector<float>{0, 0});
  // A grad of the wrong shape or dtype cannot be assigned, so step() never meets one.
  CHECK_THROWS_WITH(p.mutable_grad() = ones({2, 1}),
                    Contains("grad: assigned grad has data of a different size: [2, 1]"));
}

TEST_CASE("Adam/AdamW: hostile options are refused, naming the option", "[optim][hostile]") {
  Tensor p = zeros({2}).requires_grad_();
  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  // PyTorch's words for PyTorch's rules; ember also refuses what is not finite.
  CHECK_THROWS_WITH(optim::Adam({p}, {.lr = -1}), "Adam: Invalid learning rate: -1.0");
  CHECK_THROWS_WITH(optim::Adam({p}, {.lr = inf}), "Adam: Invalid learning rate: inf");
  CHECK_THROWS_WITH(optim::Adam({p}, {.lr = nan}), "Adam: Invalid learning rate: nan");
  CHECK_THROWS_WITH(optim::Adam({p}, {.eps = -1}), "Adam: Invalid epsilon value: -1.0");
  CHECK_THROWS_WITH(optim::Adam({p}, {.eps = nan}), "Adam: Invalid epsilon value: nan");
  CHECK_THROWS_WITH(optim::Adam({p}, {.betas = {1.0, 0.999}}),
                    "Adam: Invalid beta parameter at index 0: 1.0");
  CHECK_THROWS_WITH(optim::Adam({p}, {.betas = {-1e-300, 0.999}}),
                    "Adam: Invalid beta parameter at index 0: -1e-300");
  CHECK_THROWS_WITH(optim::Adam({p}, {.betas = {0.9, nan}}),
                    "Adam: Invalid beta parameter at index 1: nan");
  CHECK_THROWS_WITH(optim::Adam({p}, {.betas = {0.9, inf}}),
                    "Adam: Invalid beta parameter at index 1: inf");
  CHECK_THROWS_WITH(optim::Adam({p}, {.weight_decay = -1}),
                    "Adam: Invalid weight_decay value: -1.0");
  CHECK_THROWS_WITH(optim::AdamW({p}, {.weight_decay = -0.01}),
                    "AdamW: Invalid weight_decay value: -0.01");
  // Values the float32 update cannot hold.
  CHECK_THROWS_WITH(optim::Adam({p}, {.lr = 1e300}),
                    "Adam: lr=1e+300 cannot be converted to type float32 without overflow");
  CHECK_THROWS_WITH(optim::Adam({p}, {.eps = 1e39}),
                    Contains("Adam: eps=1e+39 cannot be converted"));
  CHECK_THROWS_WITH(optim::AdamW({p}, {.lr = 1e20, .weight_decay = 1e20}),
                    Contains("AdamW: 1 - lr * weight_decay=-1e+40 cannot be converted"));
  // A step size lr / (1 - beta1^t) beyond float32: refused at step(), nothing touched.
  optim::Adam adam({p}, {.lr = 1e30, .betas = {1.0 - 1e-15, 0.999}});
  p.mutable_grad() = ones({2});
  CHECK_THROWS_WITH(adam.step(), Contains("Adam::step: step size lr / (1 - beta1^1) = "));
  CHECK(p.to_vector<float>() == std::vector<float>{0, 0});
  CHECK(adam.param_groups()[0].state[0].step == 0);
  // Options made invalid between steps.
  adam.param_groups()[0].options.betas({0.9, 0.999}).lr(-2);
  CHECK_THROWS_WITH(adam.step(), "Adam::step: Invalid learning rate: -2.0");
  CHECK(p.to_vector<float>() == std::vector<float>{0, 0});
  // A scheduler may drive lr anywhere; the optimizer refuses it at its next step.
  adam.param_groups()[0].options.lr(0.1);
  optim::StepLR scheduler(adam, 1, -1.0);
  scheduler.step();
  CHECK(adam.get_lr(0) == -0.1);
  CHECK_THROWS_WITH(adam.step(), "Adam::step: Invalid learning rate: -0.1");
  CHECK_THROWS_WITH(optim::StepLR(adam, -5), "StepLR: step_size must be >= 1, got -5");
  CHECK_THROWS_WITH(optim::StepLR(adam, 1, inf), "StepLR: gamma must be finite, got inf");
  CHECK_THROWS_WITH(optim::CosineAnnealingLR(adam, std::int64_t{1} << 62),
                    Contains("CosineAnnealingLR: T_max must be in [1, 2^53]"));
}
