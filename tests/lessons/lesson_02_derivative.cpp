// Lesson 2: a derivative by hand vs. backward().
//
// For y = x*x + 3x calculus gives dy/dx = 2x + 3. There are three ways to get that number, and
// they must agree:
//   1. by hand, from the formula;
//   2. numerically, from the definition: (f(x + h) - f(x - h)) / 2h, the central difference,
//      whose error shrinks as h^2 (for this quadratic it is exact up to rounding);
//   3. by reverse-mode autograd: each op on a tensor that requires grad records a node
//      (MulBackward, AddBackward, ...) that knows its local derivative, and y.backward() walks
//      those nodes from y back to x, multiplying local derivatives together (the chain rule;
//      lesson 3 looks at the walk itself).
// For a tensor x the same holds element by element. backward() starts from dy/dy = 1, so y must
// be a single number; for a y with many elements pass a gradient v of y's shape, and backward
// computes v times the Jacobian (each x.grad element = sum_i v_i dy_i/dx).
//
// Step into: autograd/src/ops/elementwise.cpp (mul and the MulBackward lambda below it; add), then
// autograd/src/engine.cpp (ember::autograd::backward).
#include <catch2/catch.hpp>

#include <ember/autograd/gradcheck.h>
#include <ember/autograd/node.h>
#include <ember/autograd/ops.h>

using namespace ember;
using Catch::Contains;
using V = std::vector<float>;

namespace {
// Every element within `margin` of the expected value.
auto values_near(const V& expected, double margin) {
  return Catch::Matchers::Approx(expected).margin(margin);
}

Tensor f(const Tensor& x) {
  return x * x + 3.0 * x;
}

Tensor leaf(const V& values, const Shape& shape) {
  Tensor t = from_vector(values, shape);
  t.requires_grad_();
  return t;
}
}  // namespace

TEST_CASE("Lesson 2: dy/dx of y = x*x + 3x at x = 2, three ways", "[lesson2]") {
  Tensor x = leaf({2}, {});  // a 0-d tensor: one number

  SECTION("forward") {
    Tensor y = f(x);
    CHECK(y.item<float>() == 10.0f);  // 2*2 + 3*2 = 10
    CHECK(y.requires_grad());         // x requires grad, so y carries a graph back to x
    CHECK(y.grad_fn()->name() == "AddBackward");
    CHECK_FALSE(x.grad().defined());  // nothing has run backward yet
  }

  SECTION("backward agrees with the hand derivative") {
    f(x).backward();
    CHECK(x.grad().item<float>() == 7.0f);  // 2*2 + 3 = 7
  }

  SECTION("the central difference agrees too") {
    // (f(2.01) - f(1.99)) / 0.02 = (10.0701 - 9.9301) / 0.02 = 7. float32 rounds f to about
    // 1e-6, divided by 2h = 0.02 that is ~5e-5, hence the margin.
    const double h = 1e-2;
    const float up = f(from_vector(V{2.0f + static_cast<float>(h)}, {})).item<float>();
    const float down = f(from_vector(V{2.0f - static_cast<float>(h)}, {})).item<float>();
    CHECK((up - down) / (2 * h) == Approx(7.0).margin(1e-3));
  }
}

TEST_CASE("Lesson 2: the same on a 2x2 tensor, element by element", "[lesson2]") {
  Tensor x = leaf({1, 2, 3, 4}, {2, 2});

  SECTION("forward") {
    // 1+3, 4+6, 9+9, 16+12
    CHECK(f(x).to_vector<float>() == V{4, 10, 18, 28});
  }

  SECTION("backward of y.sum() gives dy/dx for every element") {
    f(x).sum().backward();  // d(sum)/dy = 1 everywhere, then 1 * (2x + 3)
    CHECK(x.grad().to_vector<float>() == V{5, 7, 9, 11});  // 2*1+3, 2*2+3, 2*3+3, 2*4+3
  }

  SECTION("a y with many elements needs a gradient of its shape") {
    Tensor y = f(x);
    CHECK_THROWS_WITH(y.backward(),
                      "backward: a gradient can be created implicitly only for "
                      "outputs with one element; pass one of shape [2, 2]");
    y.backward(ones({2, 2}));  // the same as y.sum().backward()
    CHECK(x.grad().to_vector<float>() == V{5, 7, 9, 11});
  }

  SECTION("backward(v) weighs each element's derivative by v") {
    f(x).backward(from_vector(V{1, 0, 10, -1}, {2, 2}));
    CHECK(x.grad().to_vector<float>() == V{5, 0, 90, -11});  // 1*5, 0*7, 10*9, -1*11
  }

  SECTION("gradcheck: central differences on every element, compared with backward") {
    auto result = autograd::gradcheck([](const std::vector<Tensor>& t) { return f(t[0]); }, {x},
                                      {.eps = 1e-3, .atol = 1e-3, .rtol = 1e-2});  // float32
    INFO(result.message);
    CHECK(result.ok);
  }
}

TEST_CASE("Lesson 2: no requires_grad, no graph, no gradient", "[lesson2]") {
  Tensor c = from_vector(V{1, 2, 3, 4}, {2, 2});  // requires_grad() is false by default
  Tensor y = f(c);
  CHECK_FALSE(y.requires_grad());
  CHECK(y.grad_fn() == nullptr);  // no work was spent recording anything
  CHECK_THROWS_WITH(y.sum().backward(),
                    Contains("does not require grad and has no grad_fn (did you call "
                             "requires_grad_() on the inputs"));
  // Only floating-point tensors can have derivatives.
  CHECK_THROWS_WITH(arange(3).requires_grad_(),
                    "requires_grad_: only float32 tensors can require "
                    "gradients, this one is int64");
}

TEST_CASE("Lesson 2: a derivative that is not a polynomial: d exp(x) / dx = exp(x)", "[lesson2]") {
  Tensor x = leaf({0, 1}, {2});
  Tensor y = exp(x);
  y.sum().backward();
  // exp(0) = 1, exp(1) = e; ExpBackward reuses the output it saved: grad = y.
  CHECK_THAT(x.grad().to_vector<float>(), values_near(V{1.0f, 2.7182817f}, 1e-6));
  CHECK(x.grad().to_vector<float>() == y.to_vector<float>());
  auto result = autograd::gradcheck([](const std::vector<Tensor>& t) { return exp(t[0]); }, {x},
                                    {.eps = 1e-3, .atol = 1e-3, .rtol = 1e-2});  // float32
  INFO(result.message);
  CHECK(result.ok);
}
