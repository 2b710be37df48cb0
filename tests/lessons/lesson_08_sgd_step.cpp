// Lesson 8: one SGD step on a Linear layer, by hand and with the library.
//
// A Linear layer computes logits z = x W^T + b (x [N, D], W [K, D], b [K]). With the
// cross-entropy of lesson 7, G = dL/dz = (softmax(z) - onehot) / N, and lessons 5 and 6 give
//   dL/dW = G^T x    ([K, N] @ [N, D] = [K, D]: z = x W^T is matmul with W^T)
//   dL/db = sum_n G(n, :)   (b is broadcast over the N rows, so its gradient is a sum)
// Stochastic gradient descent then moves every parameter a small step downhill:
//   W <- W - lr dL/dW,  b <- b - lr dL/db
// The update is not part of the model, so it runs inside a NoGradGuard (no graph is recorded
// for it); changing a leaf that requires grad in place outside one is refused, because the
// graph may still need its old value. optim::SGD does exactly this update (plus momentum and
// weight decay when asked), and zero_grad() clears the gradients for the next step.
//
// Step into: nn/src/functional/linear.cpp (linear and LinearBackward), optim/src/sgd.cpp
// (SGD::step), nn/src/functional/loss.cpp (cross_entropy).
#include <catch2/catch.hpp>

#include <ember/autograd/grad_mode.h>
#include <ember/autograd/gradcheck.h>
#include <ember/autograd/ops.h>
#include <ember/core/generator.h>
#include <ember/nn/functional.h>
#include <ember/nn/linear.h>
#include <ember/optim/sgd.h>

using namespace ember;
namespace F = ember::nn::functional;
using V = std::vector<float>;

namespace {
// Every element within `margin` of the expected value.
auto values_near(const V& expected, double margin) {
  return Catch::Matchers::Approx(expected).margin(margin);
}

// N = 2 examples, D = 2 features, K = 2 classes; both examples are class 1.
Tensor inputs() {
  return from_vector(V{1, 2, 3, 4}, {2, 2});
}
Tensor targets() {
  return from_vector(std::vector<std::int64_t>{1, 1}, {2});
}

// A layer with W = 0 and b = 0, so that every number below can be worked out by hand.
nn::Linear zero_layer() {
  Generator gen(0);
  nn::Linear layer(2, 2, /*has_bias=*/true, gen);
  NoGradGuard no_grad;
  layer.weight.zero_();
  layer.bias.zero_();
  return layer;
}

// torch: lin = torch.nn.Linear(2, 2); zero weight and bias; x = [[1., 2], [3, 4]]; t = [1, 1];
// F.cross_entropy(lin(x), t).backward(); torch.optim.SGD(lin.parameters(), lr=0.1).step()
// -> weight [[-0.1, -0.15], [0.1, 0.15]], bias [-0.05, 0.05], next loss 0.24027031660079956
constexpr double kLr = 0.1;
const V kWeightAfter{-0.1f, -0.15f, 0.1f, 0.15f};
const V kBiasAfter{-0.05f, 0.05f};
}  // namespace

TEST_CASE("Lesson 8: one SGD step, by hand", "[lesson8]") {
  nn::Linear layer = zero_layer();
  Tensor x = inputs();

  SECTION("forward") {
    Tensor z = layer(x);
    CHECK(z.to_vector<float>() == V{0, 0, 0, 0});  // W = 0, b = 0
    // p = [1/2, 1/2] for both rows, so the loss is -log(1/2) = ln 2 = 0.6931472
    CHECK(F::cross_entropy(z, targets()).item<float>() == Approx(0.6931472).margin(1e-6));
  }

  SECTION("backward, the update by hand, and a lower loss") {
    F::cross_entropy(layer(x), targets()).backward();
    // G = (p - onehot) / N = ([1/2, 1/2] - [0, 1]) / 2 = [1/4, -1/4] for both rows.
    // dW = G^T x: row 0 = 1/4 [1, 2] + 1/4 [3, 4] = [1, 1.5]; row 1 = -[1, 1.5]
    CHECK(layer.weight.grad().to_vector<float>() == V{1, 1.5f, -1, -1.5f});
    // db = column sums of G = [1/4 + 1/4, -1/4 - 1/4]
    CHECK(layer.bias.grad().to_vector<float>() == V{0.5f, -0.5f});

    // The gradients from the formulas, with core ops, agree with backward's.
    Tensor G = (F::softmax(layer(x).detach(), 1) - from_vector(V{0, 1, 0, 1}, {2, 2})) / 2.0;
    CHECK(matmul(G.t(), x).to_vector<float>() == layer.weight.grad().to_vector<float>());
    CHECK(G.sum(0).to_vector<float>() == layer.bias.grad().to_vector<float>());

    {
      NoGradGuard no_grad;                           // the update itself must not be recorded
      layer.weight.add_(layer.weight.grad(), -kLr);  // W - 0.1 dW
      layer.bias.add_(layer.bias.grad(), -kLr);
    }
    CHECK_THAT(layer.weight.to_vector<float>(), values_near(kWeightAfter, 1e-7));
    CHECK_THAT(layer.bias.to_vector<float>(), values_near(kBiasAfter, 1e-7));
    // New logits: row 0 = [-0.45, 0.45], row 1 = [-0.95, 0.95]: both lean towards class 1.
    // (log(1 + e^-0.9) + log(1 + e^-1.9)) / 2 = 0.2402703 < ln 2
    CHECK(F::cross_entropy(layer(x), targets()).item<float>() ==
          Approx(0.24027031660079956).margin(1e-6));
  }

  SECTION("updating a parameter outside a NoGradGuard is refused") {
    F::cross_entropy(layer(x), targets()).backward();
    CHECK_THROWS_WITH(layer.weight.add_(layer.weight.grad(), -kLr),
                      "add_: in-place change of a tensor that requires grad (a leaf: update it "
                      "inside a NoGradGuard)");
  }
}

TEST_CASE("Lesson 8: one SGD step, with optim::SGD", "[lesson8]") {
  nn::Linear layer = zero_layer();
  optim::SGD sgd(layer.parameters(), {.lr = kLr});
  Tensor x = inputs();
  sgd.zero_grad();
  F::cross_entropy(layer(x), targets()).backward();
  sgd.step();
  CHECK_THAT(layer.weight.to_vector<float>(), values_near(kWeightAfter, 1e-7));
  CHECK_THAT(layer.bias.to_vector<float>(), values_near(kBiasAfter, 1e-7));
  sgd.zero_grad();
  CHECK_FALSE(layer.weight.grad().defined());
}

TEST_CASE("Lesson 8: by hand and library agree from a random start", "[lesson8]") {
  Generator gen_a(8), gen_b(8);  // the same seed gives the same initial weights
  nn::Linear by_hand(2, 2, true, gen_a), library(2, 2, true, gen_b);
  REQUIRE(by_hand.weight.to_vector<float>() == library.weight.to_vector<float>());
  Tensor x = inputs();
  F::cross_entropy(by_hand(x), targets()).backward();
  {
    NoGradGuard no_grad;
    for (Tensor& p : by_hand.parameters()) p.add_(p.grad(), -kLr);
  }
  optim::SGD sgd(library.parameters(), {.lr = kLr});
  F::cross_entropy(library(x), targets()).backward();
  sgd.step();
  CHECK_THAT(library.weight.to_vector<float>(),
             values_near(by_hand.weight.to_vector<float>(), 1e-7));
  CHECK_THAT(library.bias.to_vector<float>(), values_near(by_hand.bias.to_vector<float>(), 1e-7));
}

TEST_CASE("Lesson 8: gradcheck the ops of the step", "[lesson8]") {
  Generator gen(8);
  nn::Linear layer(2, 2, true, gen);
  Tensor x = inputs();
  x.requires_grad_();  // also check the gradient with respect to the input
  Tensor t = targets();
  auto result = autograd::gradcheck(
      [&t](const std::vector<Tensor>& in) {
        return F::cross_entropy(F::linear(in[0], in[1], in[2]), t);
      },
      {x, layer.weight, layer.bias}, {.eps = 1e-3, .atol = 1e-3, .rtol = 1e-2});  // float32
  INFO(result.message);
  CHECK(result.ok);
}
