// Issue 13, kind B for gradcheck: a step that float32 cannot take is refused.
#include <catch2/catch.hpp>

#include <limits>

#include <ember/autograd/gradcheck.h>
#include <ember/autograd/node.h>
#include <ember/autograd/ops.h>

using namespace ember;
using Catch::Contains;

TEST_CASE("gradcheck: eps must be positive and finite in float32", "[autograd][hostile]") {
  Tensor x = ones({2}).requires_grad_();
  auto fn = [](const std::vector<Tensor>& in) {
    return in[0] * in[0];
  };
  for (double eps : {0.0, -1e-3, 1e39, std::numeric_limits<double>::infinity(),
                     std::numeric_limits<double>::quiet_NaN()}) {
    INFO("eps " << eps);
    CHECK_THROWS_WITH(autograd::gradcheck(fn, {x}, {.eps = eps}),
                      Contains("gradcheck: eps must be positive and finite in float32, got "));
  }
  CHECK(autograd::gradcheck(fn, {x}).ok);
}

TEST_CASE("sum_to refuses a gradient that is not a broadcast of the shape", "[autograd][hostile]") {
  CHECK(autograd::sum_to(ones({2, 3}), {1, 3}).to_vector<float>() == std::vector<float>{2, 2, 2});
  CHECK(autograd::sum_to(ones({2, 3}), {3}).sizes() == Shape{3});
  CHECK_THROWS_WITH(autograd::sum_to(ones({2, 3}), {4, 3}),
                    "sum_to: gradient of shape [2, 3] cannot be reduced to shape [4, 3]");
  CHECK_THROWS_WITH(autograd::sum_to(ones({3}), {2, 3}),
                    "sum_to: gradient of shape [3] cannot be reduced to shape [2, 3]");
}
