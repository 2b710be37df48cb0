// Lesson 14: dropout, and why a network has a train mode and an eval mode.
//
// Dropout (d2l 5.6) zeroes each hidden value with probability p while training, so no unit can
// rely on any other being there. "Inverted" dropout scales the survivors by 1 / (1 - p) so the
// expected value is unchanged and evaluation needs no correction:
//   y = m * x / (1 - p),   m ~ Bernoulli(1 - p) elementwise,   E[y] = (1 - p) x / (1 - p) = x.
// The mask is fixed once drawn, so y is linear in x with a diagonal Jacobian:
//   dL/dx = dL/dy * m / (1 - p)     (the gradient is dropped where the value was dropped).
// At evaluation dropout is the identity: Module::eval() sets the mode of a module and all its
// children, Module::train() sets it back. We write d2l's dropout_layer from scratch, compare it
// with ember::dropout, check the gradient, and watch the mode switch a Sequential.
//
// Step into: autograd/src/ops/dropout.cpp (the op and its backward lambda),
// core/src/ops/dropout.cpp (the mask: Note [Dropout masks at any thread count] in
// core/include/ember/core/dropout.h), nn/src/dropout.cpp (the mode), nn/src/module.cpp (train).
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "support/gradcheck.h"

#include <ember/autograd/dropout.h>
#include <ember/autograd/node.h>
#include <ember/autograd/ops.h>
#include <ember/core/dropout.h>
#include <ember/core/generator.h>
#include <ember/core/ops.h>
#include <ember/nn/activation.h>
#include <ember/nn/dropout.h>
#include <ember/nn/flatten.h>
#include <ember/nn/functional.h>
#include <ember/nn/linear.h>
#include <ember/nn/sequential.h>

using namespace ember;
using Ts = std::vector<Tensor>;

namespace {

// d2l 5.6:
//   def dropout_layer(X, dropout):
//       assert 0 <= dropout <= 1
//       if dropout == 1: return torch.zeros_like(X)
//       mask = (torch.rand(X.shape) > dropout).float()
//       return mask * X / (1.0 - dropout)
Tensor dropout_layer(const Tensor& X, double dropout, Generator& gen) {
  REQUIRE((0 <= dropout && dropout <= 1));
  if (dropout == 1) return zeros_like(X);
  const Tensor mask = (rand(X.sizes(), gen) > dropout).to(kFloat32);
  return mask * X / (1.0 - dropout);
}

}  // namespace

TEST_CASE("Lesson 14: dropout_layer from scratch, as d2l writes it", "[lessons][lesson14]") {
  // X = torch.arange(16, dtype = torch.float32).reshape((2, 8))
  const Tensor X = arange(16).to(kFloat32).reshape({2, 8});
  Generator gen(0);
  SECTION("p = 0 keeps everything, p = 1 drops everything") {
    CHECK(dropout_layer(X, 0, gen).to_vector<float>() == X.to_vector<float>());
    CHECK(dropout_layer(X, 1, gen).to_vector<float>() == std::vector<float>(16, 0.0f));
  }
  SECTION("p = 0.5: each value is dropped or doubled") {
    const std::vector<float> x = X.to_vector<float>(),
                             y = dropout_layer(X, 0.5, gen).to_vector<float>();
    for (std::size_t i = 0; i < x.size(); ++i) CHECK((y[i] == 0.0f || y[i] == 2.0f * x[i]));
  }
  SECTION("the expectation is unchanged: the mean of many dropped-out ones is about 1") {
    // 100000 values, each 0 or 1 / (1 - 0.2) = 1.25 with probability 0.2 / 0.8: the mean is 1
    // with standard deviation sqrt(0.2 * 0.8 / 100000) * 1.25 = 0.0016.
    const float mean = dropout_layer(ones({100000}), 0.2, gen).mean().item<float>();
    CHECK(std::abs(mean - 1.0f) < 0.01f);
    const float mean2 = ember::dropout(ones({100000}), 0.2, true, gen).mean().item<float>();
    CHECK(std::abs(mean2 - 1.0f) < 0.01f);
  }
}

TEST_CASE("Lesson 14: ember::dropout and its gradient", "[lessons][lesson14]") {
  // core::dropout_mask draws the mask dropout uses: with the same seed we know it in advance.
  Generator mask_gen(3);
  const Tensor m = core::dropout_mask({2, 2}, 0.5, mask_gen);
  const std::vector<float> mv = m.to_vector<float>();
  for (float v : mv) CHECK((v == 0.0f || v == 2.0f));  // 0 or 1 / (1 - 0.5)

  Tensor x = tensor({1.0f, 2.0f, 3.0f, 4.0f}).reshape({2, 2}).requires_grad_();
  Generator gen(3);
  const Tensor y = ember::dropout(x, 0.5, true, gen);
  SECTION("forward: y = x * m") {
    CHECK(y.to_vector<float>() == std::vector<float>{1 * mv[0], 2 * mv[1], 3 * mv[2], 4 * mv[3]});
    CHECK(y.grad_fn()->name() == "DropoutBackward");
  }
  SECTION("backward: dL/dx = dL/dy * m") {
    y.backward(tensor({10.0f, 20.0f, 30.0f, 40.0f}).reshape({2, 2}));
    CHECK(x.grad().to_vector<float>() ==
          std::vector<float>{10 * mv[0], 20 * mv[1], 30 * mv[2], 40 * mv[3]});
  }
  SECTION("gradcheck, with the mask fixed by a generator made inside fn") {
    // Each evaluation of fn must draw the same mask, or the finite differences compare
    // different functions.
    CHECK_GRADCHECK(
        [](const Ts& in) {
          Generator g(5);
          return ember::dropout(in[0], 0.3, true, g);
        },
        x);
  }
  SECTION("p = 1: zeros, and nothing flows back") {
    const Tensor z = ember::dropout(x, 1.0, true, gen);
    z.sum().backward();
    CHECK(z.to_vector<float>() == std::vector<float>{0, 0, 0, 0});
    CHECK(x.grad().to_vector<float>() == std::vector<float>{0, 0, 0, 0});
  }
  SECTION("a probability outside [0, 1] is an error") {
    CHECK_THROWS_WITH(ember::dropout(x, 1.5, true),
                      "dropout: dropout probability has to be between 0 and 1, but got 1.5");
  }
}

TEST_CASE("Lesson 14: train and eval mode switch every Dropout in a network",
          "[lessons][lesson14]") {
  // d2l 5.6's concise MLP:
  //   self.net = nn.Sequential(
  //       nn.Flatten(), nn.LazyLinear(num_hiddens_1), nn.ReLU(),
  //       nn.Dropout(dropout_1), nn.LazyLinear(num_hiddens_2), nn.ReLU(),
  //       nn.Dropout(dropout_2), nn.LazyLinear(num_outputs))
  Generator gen(1);
  nn::Linear fc1(12, 8, true, gen), fc2(8, 8, true, gen), fc3(8, 3, true, gen);
  nn::Sequential net(nn::Flatten(), fc1, nn::ReLU(), nn::Dropout(0.5), fc2, nn::ReLU(),
                     nn::Dropout(0.5), fc3);
  const Tensor X = randn({4, 3, 4}, gen);
  // The same network with the dropouts taken out.
  const auto plain = [&] {
    return fc3(fc2(fc1(X.flatten(1)).relu()).relu());
  };
  SECTION("a new module is in training mode: two calls draw two masks") {
    CHECK(net.is_training());
    CHECK(net(X).to_vector<float>() != net(X).to_vector<float>());
  }
  SECTION("eval() reaches every child: dropout is the identity") {
    net.eval();
    for (const auto& child : net.children()) CHECK_FALSE(child->is_training());
    CHECK(net(X).to_vector<float>() == plain().to_vector<float>());
    CHECK(net(X).to_vector<float>() == net(X).to_vector<float>());
  }
  SECTION("train() switches it back") {
    net.eval();
    net.train();
    CHECK(net(X).to_vector<float>() != plain().to_vector<float>());
  }
}
