// nn::Flatten: a view that merges dims, against PyTorch's golden values, with gradcheck.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include <ember/autograd/gradcheck.h>
#include <ember/autograd/ops.h>
#include <ember/core/generator.h>
#include <ember/nn/flatten.h>

#include "support/golden.h"

using namespace ember;
using Catch::Matchers::Contains;

TEST_CASE("Flatten: output and gradient match PyTorch (golden flatten_*)", "[nn][flatten]") {
  const auto cases = test::golden_cases("flatten");
  REQUIRE(!cases.empty());
  for (const std::string& name : cases) {
    for (const char* suffix : {".f32.txt", ".f64.txt"}) {
      const test::GoldenCase c = test::load_golden(name + suffix);
      INFO(name + suffix);
      nn::Flatten flatten(static_cast<std::int64_t>(c.number("start_dim")),
                          static_cast<std::int64_t>(c.number("end_dim")));
      Tensor x = c.at("input").as_float();
      x.requires_grad_();
      Tensor y = flatten(x);
      CHECK(y.sizes() == c.at("output").shape);
      CHECK(test::compare(y, c.at("output"), c.rtol(), c.atol()) == "");
      y.backward(c.at("grad_output").as_float());
      CHECK(x.grad().sizes() == x.sizes());
      CHECK(test::compare(x.grad(), c.at("grad_input"), c.rtol(), c.atol()) == "");
    }
  }
}

TEST_CASE("Flatten: a view of contiguous input, N x C x H x W to N x CHW", "[nn][flatten]") {
  Tensor x = arange(0.0, 24.0).reshape({2, 3, 2, 2});
  Tensor y = nn::Flatten()(x);
  CHECK(y.sizes() == Shape{2, 12});
  CHECK(y.storage() == x.storage());  // shares the data: no copy
  CHECK(y.to_vector<float>() == x.to_vector<float>());
  CHECK(nn::Flatten(0)(x).sizes() == Shape{24});
  CHECK(nn::Flatten(1, 2)(x).sizes() == Shape{2, 6, 2});
  CHECK(nn::Flatten(-3, -2)(x).sizes() == Shape{2, 6, 2});
  // Non-contiguous input still gives row-major values.
  Tensor xt = arange(0.0, 6.0).reshape({2, 3}).t();
  CHECK(nn::Flatten(0)(xt).to_vector<float>() == std::vector<float>{0, 3, 1, 4, 2, 5});
}

TEST_CASE("Flatten: gradcheck", "[nn][flatten]") {
  Generator gen(9);
  Tensor x = randn({2, 3, 2}, gen);
  x.requires_grad_();
  // Multiply by a fixed tensor so the gradient is not trivially all ones.
  Tensor scale = randn({2, 6}, gen);
  auto result = autograd::gradcheck(
      [&](const std::vector<Tensor>& in) { return nn::Flatten()(in[0]) * scale; }, {x});
  INFO(result.message);
  CHECK(result.ok);
}

TEST_CASE("Flatten: dims out of range throw", "[nn][flatten]") {
  CHECK_THROWS_AS(nn::Flatten(3)(zeros({2, 3})), ember::Error);
  CHECK_THROWS_AS(nn::Flatten(1, 0)(zeros({2, 3, 4})), ember::Error);
}
