// Issue 13, kind B for the optimizer: options the float32 update cannot represent are refused at
// construction and at step(), naming the option.
#include <catch2/catch.hpp>

#include <limits>

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
