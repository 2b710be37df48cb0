// Lesson 4: gradients accumulate; zero them between steps.
//
// backward() ADDS into each leaf's .grad() instead of overwriting it, as PyTorch does. It is the
// rule of lesson 3 (a tensor used twice gets the sum of both gradients) carried across calls,
// and it is useful: since d(L1 + L2)/dw = dL1/dw + dL2/dw, calling backward on L1 and then on L2
// leaves the same .grad() as one backward on L1 + L2, so a batch too large for memory can be
// processed in pieces ("gradient accumulation"). The price: a training loop must clear the
// gradients before each backward, or step k follows the sum of k gradients.
// Clear one tensor with t.mutable_grad() = Tensor() (back to "no gradient yet"); clear a whole
// model with nn::Module::zero_grad() (to none, or to zeros with zero_grad(false)); an optimizer
// has the same zero_grad() for its parameters.
//
// Step into: autograd/src/engine.cpp (AccumulateGrad::apply: first gradient kept, later ones
// added with add_), nn/src/module.cpp (Module::zero_grad).
#include <catch2/catch.hpp>

#include <ember/autograd/gradcheck.h>
#include <ember/autograd/ops.h>
#include <ember/core/generator.h>
#include <ember/nn/functional.h>
#include <ember/nn/linear.h>

using namespace ember;
using V = std::vector<float>;

namespace {
Tensor leaf(const V& values) {
  Tensor t = from_vector(values, {2, 2});
  t.requires_grad_();
  return t;
}
}  // namespace

TEST_CASE("Lesson 4: a second backward adds to .grad()", "[lesson4]") {
  Tensor w = leaf({1, 2, 3, 4});
  Tensor x = from_vector(V{5, 6, 7, 8}, {2, 2});  // data: needs no gradient

  SECTION("forward") {
    CHECK((w * x).sum().item<float>() == 70.0f);
  }  // 5 + 12 + 21 + 32

  SECTION("backward, twice, then cleared") {
    (w * x).sum().backward();  // d/dw sum(w * x) = x
    CHECK(w.grad().to_vector<float>() == V{5, 6, 7, 8});
    (w * x).sum().backward();  // a new graph, the same gradient, added on top
    CHECK(w.grad().to_vector<float>() == V{10, 12, 14, 16});  // 2x, not x
    CHECK_FALSE(x.grad().defined());  // x never required grad: nothing was computed for it

    w.mutable_grad() = Tensor();  // clear: "no gradient yet"
    CHECK_FALSE(w.grad().defined());
    (w * x).sum().backward();
    CHECK(w.grad().to_vector<float>() == V{5, 6, 7, 8});
  }
}

TEST_CASE("Lesson 4: accumulating two losses gives the gradient of their sum", "[lesson4]") {
  Tensor w = leaf({1, 2, 3, 4});
  // L1 = sum(w*w): dL1/dw = 2w.  L2 = sum(3w): dL2/dw = 3.  Together 2w + 3 (lesson 2 again).
  (w * w).sum().backward();
  CHECK(w.grad().to_vector<float>() == V{2, 4, 6, 8});
  (w * 3.0).sum().backward();
  CHECK(w.grad().to_vector<float>() == V{5, 7, 9, 11});

  Tensor w2 = leaf({1, 2, 3, 4});
  ((w2 * w2).sum() + (w2 * 3.0).sum()).backward();  // one backward on L1 + L2
  CHECK(w2.grad().to_vector<float>() == w.grad().to_vector<float>());

  auto result = autograd::gradcheck(
      [](const std::vector<Tensor>& t) { return (t[0] * t[0]).sum() + (t[0] * 3.0).sum(); }, {w2},
      {.eps = 1e-3, .atol = 1e-3, .rtol = 1e-2});  // float32 tolerances
  INFO(result.message);
  CHECK(result.ok);
}

TEST_CASE("Lesson 4: forgetting zero_grad in a loop", "[lesson4]") {
  // Three "training steps" on the same data, each computing dL/dw = x.
  Tensor w = leaf({1, 2, 3, 4});
  Tensor x = from_vector(V{1, 1, 1, 1}, {2, 2});
  for (int step = 0; step < 3; ++step) (w * x).sum().backward();  // no zeroing
  CHECK(w.grad().to_vector<float>() == V{3, 3, 3, 3});            // 1 + 1 + 1: three times too big

  for (int step = 0; step < 3; ++step) {
    w.mutable_grad() = Tensor();  // zero first, as every training loop must
    (w * x).sum().backward();
  }
  CHECK(w.grad().to_vector<float>() == V{1, 1, 1, 1});
}

TEST_CASE("Lesson 4: zero_grad on a whole nn::Module", "[lesson4]") {
  Generator gen(0);
  nn::Linear layer(2, 2, /*has_bias=*/true, gen);  // y = x W^T + b, W [2, 2], b [2]
  Tensor x = from_vector(V{1, 2, 3, 4}, {2, 2});   // N = 2 rows of D = 2 features

  SECTION("forward and backward through the layer") {
    layer(x).sum().backward();
    // d/dW sum(x W^T + b): W(k, d) meets x(n, d) in every row n, so dW(k, :) = sum_n x(n, :)
    // = [1 + 3, 2 + 4] for both outputs k; db(k) = number of rows = 2.
    CHECK(layer.weight.grad().to_vector<float>() == V{4, 6, 4, 6});
    CHECK(layer.bias.grad().to_vector<float>() == V{2, 2});
  }

  SECTION("zero_grad() sets every parameter's grad to none") {
    layer(x).sum().backward();
    layer.zero_grad();
    for (const Tensor& p : layer.parameters()) CHECK_FALSE(p.grad().defined());
  }

  SECTION("zero_grad(false) keeps zero tensors of the right shape") {
    layer(x).sum().backward();
    layer.zero_grad(/*set_to_none=*/false);
    CHECK(layer.weight.grad().to_vector<float>() == V{0, 0, 0, 0});
    CHECK(layer.bias.grad().sizes() == Shape{2});
    layer(x).sum().backward();  // 0 + gradient = gradient
    CHECK(layer.weight.grad().to_vector<float>() == V{4, 6, 4, 6});
  }

  SECTION("gradcheck the layer's op, linear(x, W, b)") {
    auto result = autograd::gradcheck(
        [&x](const std::vector<Tensor>& t) { return nn::functional::linear(x, t[0], t[1]); },
        {layer.weight, layer.bias}, {.eps = 1e-3, .atol = 1e-3, .rtol = 1e-2});  // float32
    INFO(result.message);
    CHECK(result.ok);
  }
}
