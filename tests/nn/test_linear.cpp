// nn::Linear and functional::linear: y = x W^T + b against PyTorch's golden values, the three
// gradients, any batch shape, gradcheck, PyTorch's default init, and the errors.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <ember/autograd/grad_mode.h>
#include <ember/autograd/gradcheck.h>
#include <ember/autograd/node.h>
#include <ember/autograd/ops.h>
#include <ember/core/generator.h>
#include <ember/nn/functional/linear.h>
#include <ember/nn/linear.h>

#include "support/golden.h"
#include "support/leaf.h"

using namespace ember;
using Catch::Matchers::Contains;
using ember::test::leaf;

namespace {

// The files to compare a float32 result with: both, unless PyTorch's float32 itself is off.
std::vector<std::string> golden_files(const std::string& name) {
  std::vector<std::string> files{name + ".f32.txt"};
  if (!test::load_golden(files[0]).f32_only()) files.push_back(name + ".f64.txt");
  return files;
}

}  // namespace

TEST_CASE("Linear: forward and gradients match PyTorch (golden linear_*)", "[nn][linear]") {
  const auto cases = test::golden_cases("linear");
  REQUIRE(!cases.empty());
  for (const std::string& name : cases) {
    for (const std::string& file : golden_files(name)) {
      INFO(file);
      const test::GoldenCase c = test::load_golden(file);
      Tensor x = leaf(c.at("input").as_float());
      Tensor w = leaf(c.at("weight").as_float());
      Tensor b = c.has("bias") ? leaf(c.at("bias").as_float()) : Tensor();
      if (c.expects_error()) {
        // PyTorch: "mat1 and mat2 shapes cannot be multiplied (2x3 and 5x4)".
        CHECK_THROWS_WITH(nn::functional::linear(x, w, b), Contains("cannot be multiplied"));
        continue;
      }
      Tensor y = nn::functional::linear(x, w, b);
      CHECK(test::compare(y, c.at("output"), c.rtol(), c.atol()) == "");
      CHECK(y.grad_fn() != nullptr);
      y.backward(c.at("grad_output").as_float());
      CHECK(test::compare(x.grad(), c.at("grad_input"), c.rtol(), c.atol()) == "");
      CHECK(test::compare(w.grad(), c.at("grad_weight"), c.rtol(), c.atol()) == "");
      if (b.defined()) {
        CHECK(test::compare(b.grad(), c.at("grad_bias"), c.rtol(), c.atol()) == "");
      }
    }
  }
}

TEST_CASE("Linear: the module computes the same as the golden values", "[nn][linear]") {
  for (const std::string& name : test::golden_cases("linear")) {
    const test::GoldenCase c = test::load_golden(name + ".f64.txt");
    INFO(name);
    if (c.expects_error()) continue;
    const Tensor w = c.at("weight").as_float();
    nn::Linear fc(w.size(1), w.size(0), c.has("bias"));
    {
      // Load the golden weights into the layer's own parameters (detach() shares their data).
      NoGradGuard no_grad;
      fc.weight.detach().copy_(w);
      if (c.has("bias")) fc.bias.detach().copy_(c.at("bias").as_float());
    }
    Tensor x = c.at("input").as_float();  // needs no grad: only dW and db are computed
    Tensor y = fc(x);
    CHECK(test::compare(y, c.at("output"), c.rtol(), c.atol()) == "");
    y.backward(c.at("grad_output").as_float());
    CHECK(!x.grad().defined());
    CHECK(test::compare(fc.weight.grad(), c.at("grad_weight"), c.rtol(), c.atol()) == "");
    if (c.has("bias")) {
      CHECK(test::compare(fc.bias.grad(), c.at("grad_bias"), c.rtol(), c.atol()) == "");
    } else {
      CHECK(!fc.bias.defined());
    }
  }
}

TEST_CASE("Linear: a 2x2 example by hand", "[nn][linear]") {
  // x = [[1, 2], [3, 4]], W = [[1, 0], [1, -1]], b = [0.5, -0.5]
  Tensor x = from_vector(std::vector<float>{1, 2, 3, 4}, {2, 2});
  Tensor w = from_vector(std::vector<float>{1, 0, 1, -1}, {2, 2});
  Tensor b = from_vector(std::vector<float>{0.5f, -0.5f}, {2});
  x.requires_grad_();
  w.requires_grad_();
  b.requires_grad_();
  Tensor y = nn::functional::linear(x, w, b);
  SECTION("forward") {
    // y[0] = [1*1 + 2*0 + 0.5, 1*1 + 2*(-1) - 0.5] = [1.5, -1.5]; y[1] = [3.5, -1.5]
    CHECK(y.to_vector<float>() == std::vector<float>{1.5f, -1.5f, 3.5f, -1.5f});
  }
  SECTION("backward") {
    // g = [[1, 0], [0, 2]]: dx = g W = [[1, 0], [2, -2]]; dW = g^T x = [[1, 2], [6, 8]];
    // db = column sums of g = [1, 2]
    y.backward(from_vector(std::vector<float>{1, 0, 0, 2}, {2, 2}));
    CHECK(x.grad().to_vector<float>() == std::vector<float>{1, 0, 2, -2});
    CHECK(w.grad().to_vector<float>() == std::vector<float>{1, 2, 6, 8});
    CHECK(b.grad().to_vector<float>() == std::vector<float>{1, 2});
  }
}

TEST_CASE("Linear: any batch shape (..., in), as PyTorch", "[nn][linear]") {
  Generator gen(11);
  nn::Linear fc(5, 3, true, gen);
  Tensor x = randn({2, 4, 5}, gen);
  Tensor y = fc(x);
  REQUIRE(y.sizes() == Shape{2, 4, 3});
  Tensor flat = fc(x.reshape({8, 5}));
  CHECK(y.reshape({8, 3}).to_vector<float>() == flat.to_vector<float>());
  // A single sample [in] gives [out].
  Tensor one = fc(x.select(0, 1).select(0, 2));
  CHECK(one.sizes() == Shape{3});
  CHECK(one.to_vector<float>() == flat.select(0, 6).to_vector<float>());
  // Non-contiguous input (a transposed view) gives the same values.
  Tensor xt = randn({5, 6}, gen).t();
  CHECK(fc(xt).to_vector<float>() == fc(xt.contiguous()).to_vector<float>());
  // An empty batch.
  CHECK(fc(zeros({0, 5})).sizes() == Shape{0, 3});
}

TEST_CASE("Linear: gradcheck of input, weight and bias", "[nn][linear]") {
  Generator gen(2);
  auto fn = [](const std::vector<Tensor>& in) {
    return in.size() == 3 ? nn::functional::linear(in[0], in[1], in[2])
                          : nn::functional::linear(in[0], in[1]);
  };
  Tensor x = randn({3, 2, 4}, gen), w = randn({5, 4}, gen), b = randn({5}, gen);
  x.requires_grad_();
  w.requires_grad_();
  b.requires_grad_();
  auto with_bias = autograd::gradcheck(fn, {x, w, b});
  INFO(with_bias.message);
  CHECK(with_bias.ok);
  auto without_bias = autograd::gradcheck(fn, {x, w});
  INFO(without_bias.message);
  CHECK(without_bias.ok);
}

TEST_CASE("Linear: records one LinearBackward node, none under NoGradGuard", "[nn][linear]") {
  Generator gen(4);
  nn::Linear fc(3, 2, true, gen);
  Tensor y = fc(randn({2, 3}, gen));
  REQUIRE(y.grad_fn() != nullptr);
  CHECK(y.grad_fn()->name() == "LinearBackward");
  NoGradGuard no_grad;
  CHECK(fc(randn({2, 3}, gen)).grad_fn() == nullptr);
}

TEST_CASE("Linear: PyTorch's default init, drawn from the generator", "[nn][linear]") {
  Generator g1(42), g2(42), g3(43);
  nn::Linear a(100, 50, true, g1), b(100, 50, true, g2), c(100, 50, true, g3);
  CHECK(a.weight.sizes() == Shape{50, 100});
  CHECK(a.bias.sizes() == Shape{50});
  CHECK(a.weight.to_vector<float>() == b.weight.to_vector<float>());
  CHECK(a.bias.to_vector<float>() == b.bias.to_vector<float>());
  CHECK(a.weight.to_vector<float>() != c.weight.to_vector<float>());
  // kaiming_uniform_(a=sqrt(5)): U(-1/sqrt(in), 1/sqrt(in)) = U(-0.1, 0.1); bias the same.
  const auto w = a.weight.to_vector<float>();
  double sum_sq = 0;
  float lo = 1, hi = -1;
  for (float v : w) {
    sum_sq += double(v) * v;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  CHECK(lo >= -0.1f);
  CHECK(hi <= 0.1f);
  CHECK(lo < -0.099f);
  CHECK(hi > 0.099f);
  // Var of U(-0.1, 0.1) = 0.01 / 3; 5000 draws estimate it within a few percent.
  CHECK(sum_sq / double(w.size()) == Approx(0.01 / 3).epsilon(0.05));
  for (float v : a.bias.to_vector<float>()) {
    CHECK(std::abs(v) <= 0.1f);
  }
  nn::Linear no_bias(3, 2, false);
  CHECK(!no_bias.bias.defined());
  CHECK(no_bias.parameters().size() == 1);
}

TEST_CASE("Linear: shape and dtype errors name the shapes", "[nn][linear]") {
  nn::Linear fc(4, 3);
  CHECK_THROWS_WITH(fc(zeros({2, 5})),
                    Contains("linear: input [2, 5] and weight [3, 4] cannot be multiplied"));
  CHECK_THROWS_WITH(fc(zeros({2, 4}, kInt64)), Contains("expected float32 input"));
  CHECK_THROWS_WITH(nn::functional::linear(zeros({2, 4}), zeros({3, 4}), zeros({4})),
                    Contains("bias must be [3]"));
  CHECK_THROWS_WITH(nn::functional::linear(zeros({2, 4}), zeros({4})),
                    Contains("weight must be 2-d"));
  CHECK_THROWS_WITH(nn::Linear(-1, 3), Contains("must be >= 0"));
}
