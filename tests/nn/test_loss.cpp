// Losses: hand-derived 2x2 cases, PyTorch's mean/ignore/weight rules, probability targets,
// out-of-range targets, gradcheck, the modules, and the fused cross-entropy graph.
#include <catch2/catch.hpp>

#include "support/all_close.h"
#include "support/gradcheck.h"

#include <cmath>
#include <limits>
#include <sstream>

#include <ember/autograd/grad_mode.h>
#include <ember/autograd/gradcheck.h>
#include <ember/autograd/node.h>
#include <ember/core/generator.h>
#include <ember/nn/functional.h>
#include <ember/nn/loss.h>

using namespace ember;
namespace F = ember::nn::functional;
using Ts = std::vector<Tensor>;

using ember::test::check_all_close;

namespace {

Tensor randn_leaf(const Shape& shape, std::uint64_t seed) {
  Generator gen(seed);
  Tensor t = randn(shape, gen);
  t.requires_grad_();
  return t;
}

Tensor targets(const std::vector<std::int64_t>& v) {
  return from_vector(v, {static_cast<std::int64_t>(v.size())});
}

}  // namespace

TEST_CASE("cross_entropy: 2x2 by hand", "[nn][loss]") {
  // Logits [0, 0] and [0, log 3] with targets 0 and 1: p = [1/2, 1/2] and [1/4, 3/4], so the
  // losses are log 2 and -log(3/4); mean = (log 2 + log(4/3)) / 2 = log(8/3) / 2.
  Tensor x = from_vector(std::vector<float>{0.0f, 0.0f, 0.0f, std::log(3.0f)}, {2, 2});
  x.requires_grad_();
  const Tensor t = targets({0, 1});
  SECTION("forward") {
    F::CrossEntropyOptions none;
    none.reduction = F::Reduction::None;
    check_all_close(F::cross_entropy(x, t, none), {std::log(2.0f), -std::log(0.75f)});
    CHECK(F::cross_entropy(x, t).item<float>() == Approx(std::log(8.0 / 3.0) / 2));
  }
  SECTION("backward") {
    // d mean / dx = (p - onehot) / N: row 0 [-1/4, 1/4], row 1 [1/8, -1/8]
    F::cross_entropy(x, t).backward();
    check_all_close(x.grad(), {-0.25f, 0.25f, 0.125f, -0.125f});
  }
}

TEST_CASE("cross_entropy: mean divides by the weight of the rows that count", "[nn][loss]") {
  const Tensor x = from_vector(std::vector<float>{0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f}, {3, 2});
  F::CrossEntropyOptions o;
  o.weight = from_vector(std::vector<float>{1.0f, 3.0f}, {2});
  o.ignore_index = 0;
  // rows 1, 2 have target 1 (weight 3): each loss 3 log 2; row 0 ignored; mean = 6 log 2 / 6.
  CHECK(F::cross_entropy(x, targets({0, 1, 1}), o).item<float>() == Approx(std::log(2.0f)));
  o.reduction = F::Reduction::Sum;
  CHECK(F::cross_entropy(x, targets({0, 1, 1}), o).item<float>() == Approx(6 * std::log(2.0f)));
  SECTION("all rows ignored: mean is NaN, the gradient zero (as PyTorch)") {
    Tensor xg = x.clone();
    xg.requires_grad_();
    F::CrossEntropyOptions all;
    all.ignore_index = 1;
    const Tensor loss = F::cross_entropy(xg, targets({1, 1, 1}), all);
    CHECK(std::isnan(loss.item<float>()));
    loss.backward();
    for (float g : xg.grad().to_vector<float>()) CHECK(g == 0.0f);
  }
}

TEST_CASE("cross_entropy: extreme logits stay finite", "[nn][loss]") {
  Tensor x = from_vector(
      std::vector<float>{1e4f, -1e4f, 0.0f, 88.7f, 88.0f, 89.0f, 5.0f, 5.0f, 5.0f}, {3, 3});
  x.requires_grad_();
  F::CrossEntropyOptions none;
  none.reduction = F::Reduction::None;
  const Tensor loss = F::cross_entropy(x, targets({1, 2, 0}), none);
  const auto l = loss.to_vector<float>();
  CHECK(l[0] == 2e4f);  // (max - x_t) + log(sum) = 2e4 + log(1), exactly
  CHECK(l[1] == Approx(std::log(std::exp(-0.3) + std::exp(-1.0) + 1.0)));
  CHECK(l[2] == Approx(std::log(3.0)));
  loss.sum().backward();
  for (float g : x.grad().to_vector<float>()) CHECK(std::isfinite(g));
}

TEST_CASE("cross_entropy: probability targets", "[nn][loss]") {
  // import torch, torch.nn.functional as F
  // x = torch.tensor([[1.,2.,3.],[0.5,-1.,2.]], requires_grad=True)
  // q = torch.tensor([[0.2,0.3,0.5],[1.,0.,0.]]); w = torch.tensor([1.,2.,0.5])
  // F.cross_entropy(x, q, weight=w, label_smoothing=0.1)  -> 1.655704, then .backward()
  // F.cross_entropy(x, q, reduction='sum')                  -> 2.8489172
  Tensor x = from_vector(std::vector<float>{1.0f, 2.0f, 3.0f, 0.5f, -1.0f, 2.0f}, {2, 3});
  x.requires_grad_();
  const Tensor q = from_vector(std::vector<float>{0.2f, 0.3f, 0.5f, 1.0f, 0.0f, 0.0f}, {2, 3});
  F::CrossEntropyOptions o;
  o.weight = from_vector(std::vector<float>{1.0f, 2.0f, 0.5f}, {3});
  o.label_smoothing = 0.1;
  const Tensor loss = F::cross_entropy(x, q, o);
  CHECK(loss.item<float>() == Approx(1.655704f).epsilon(1e-5));
  loss.backward();
  check_all_close(
      x.grad(), {-0.05887543f, -0.17342331f, 0.23229875f, -0.37756073f, -0.013451112f, 0.3910118f});
  F::CrossEntropyOptions sum;
  sum.reduction = F::Reduction::Sum;
  CHECK(F::cross_entropy(x, q, sum).item<float>() == Approx(2.8489172f).epsilon(1e-5));
  CHECK_THROWS_WITH(F::cross_entropy(x, from_vector(std::vector<float>{0.5f, 0.5f}, {1, 2})),
                    Catch::Contains("cross_entropy") && Catch::Contains("[1, 2]"));
}

TEST_CASE("losses: bad targets throw naming the op, value and position", "[nn][loss]") {
  const Tensor x = randn_leaf({3, 10}, 1).detach();
  CHECK_THROWS_WITH(F::cross_entropy(x, targets({1, 200, 3})), Catch::Contains("cross_entropy") &&
                                                                   Catch::Contains("200") &&
                                                                   Catch::Contains("position 1"));
  CHECK_THROWS_WITH(F::cross_entropy(x, targets({1, 2, -1})),
                    Catch::Contains("-1") && Catch::Contains("position 2"));
  CHECK_THROWS_WITH(F::nll_loss(x, targets({10, 2, 1})),
                    Catch::Contains("nll_loss") && Catch::Contains("10"));
  CHECK_THROWS_WITH(F::cross_entropy(x, targets({1, 2})), Catch::Contains("[2]"));
  CHECK_THROWS_WITH(F::cross_entropy(x, from_vector(std::vector<std::uint8_t>{1, 2, 3}, {3})),
                    Catch::Contains("uint8"));
  // A [3] input is one sample, whose class-index target is 0-d (test_loss_layouts.cpp).
  CHECK_THROWS_WITH(F::cross_entropy(randn_leaf({3}, 2), targets({1})),
                    Catch::Contains("[1]") && Catch::Contains("[3]"));
  F::CrossEntropyOptions bad_weight;
  bad_weight.weight = from_vector(std::vector<float>{1.0f, 2.0f}, {2});
  CHECK_THROWS_WITH(F::cross_entropy(x, targets({1, 2, 3}), bad_weight), Catch::Contains("weight"));
  CHECK_THROWS_WITH(F::binary_cross_entropy_with_logits(x, randn_leaf({3, 9}, 3)),
                    Catch::Contains("[3, 9]") && Catch::Contains("[3, 10]"));
  CHECK_THROWS_AS(F::mse_loss(x, randn_leaf({4, 10}, 3)), ember::Error);
  // BCE is not differentiable in weight or pos_weight (PyTorch 1.13 refuses them too); without a
  // graph they may require grad.
  F::BCEWithLogitsOptions learned;
  learned.pos_weight = randn_leaf({10}, 4);
  const Tensor y = randn_leaf({3, 10}, 5).detach();
  CHECK_THROWS_WITH(F::binary_cross_entropy_with_logits(x, y, learned),
                    Catch::Contains("not differentiable with respect to pos_weight"));
  learned.pos_weight = Tensor();
  learned.weight = randn_leaf({10}, 6);
  CHECK_THROWS_WITH(F::binary_cross_entropy_with_logits(x, y, learned),
                    Catch::Contains("not differentiable with respect to weight"));
  NoGradGuard no_grad;
  CHECK_NOTHROW(F::binary_cross_entropy_with_logits(x, y, learned));
}

TEST_CASE("losses: gradcheck", "[nn][loss][gradcheck]") {
  const Tensor x = randn_leaf({4, 5}, 4);
  const Tensor t = targets({1, 0, 4, 2});
  for (F::Reduction r : {F::Reduction::None, F::Reduction::Mean, F::Reduction::Sum}) {
    INFO("reduction " << static_cast<int>(r));
    F::CrossEntropyOptions ce;
    ce.reduction = r;
    ce.weight = from_vector(std::vector<float>{0.5f, 1.0f, 2.0f, 1.5f, 1.0f}, {5});
    ce.label_smoothing = 0.2;
    ce.ignore_index = 2;
    CHECK_GRADCHECK([&](const Ts& in) { return F::cross_entropy(in[0], t, ce); }, x);
    ce.label_smoothing = 0.0;
    CHECK_GRADCHECK([&](const Ts& in) { return F::cross_entropy(in[0], t, ce); }, x);
    Generator gen(9);
    const Tensor q = F::softmax(randn({4, 5}, gen), 1);
    CHECK_GRADCHECK([&](const Ts& in) { return F::cross_entropy(in[0], q, ce); }, x);
    F::NLLLossOptions nll;
    nll.reduction = r;
    nll.weight = ce.weight;
    CHECK_GRADCHECK([&](const Ts& in) { return F::nll_loss(in[0], t, nll); }, x);
    F::BCEWithLogitsOptions bce;
    bce.reduction = r;
    bce.pos_weight = from_vector(std::vector<float>{1.0f, 2.0f, 0.5f, 3.0f, 1.0f}, {5});
    bce.weight = from_vector(std::vector<float>{0.5f, 1.0f, 2.0f, 1.5f}, {4, 1});
    const Tensor y = randn_leaf({4, 5}, 5);
    CHECK_GRADCHECK(
        [&](const Ts& in) { return F::binary_cross_entropy_with_logits(in[0], in[1], bce); }, x, y);
    CHECK_GRADCHECK([&](const Ts& in) { return F::mse_loss(in[0], in[1], r); }, x, y);
    const Tensor row = randn_leaf({5}, 6);  // broadcast target
    CHECK_GRADCHECK([&](const Ts& in) { return F::mse_loss(in[0], in[1], r); }, x, row);
  }
}

TEST_CASE("CrossEntropyLoss records one fused node", "[nn][loss][module]") {
  // d2l's shapes: [256, 10] logits. The graph is CrossEntropyBackward -> the input, nothing else:
  // no softmax or log tensor is ever built.
  Tensor x = randn_leaf({256, 10}, 7);
  Generator gen(8);
  const Tensor t = randint(0, 10, {256}, gen);
  nn::CrossEntropyLoss loss_fn;
  const Tensor loss = loss_fn(x, t);
  REQUIRE(loss.grad_fn() != nullptr);
  CHECK(loss.grad_fn()->name() == "CrossEntropyBackward");
  REQUIRE(loss.grad_fn()->next_edges().size() == 1);
  const auto& next = loss.grad_fn()->next_edges()[0].node;
  REQUIRE(next != nullptr);
  CHECK(next->next_edges().empty());  // the input's gradient accumulator: a leaf
  loss.backward();
  CHECK(x.grad().sizes() == Shape{256, 10});
}

TEST_CASE("loss modules print and forward like PyTorch", "[nn][loss][module]") {
  auto repr = [](const nn::Module& m) {
    std::ostringstream out;
    out << m;
    return out.str();
  };
  nn::CrossEntropyLoss ce;
  nn::NLLLoss nll;
  nn::BCEWithLogitsLoss bce;
  nn::MSELoss mse;
  CHECK(repr(ce) == "CrossEntropyLoss()");
  CHECK(repr(nll) == "NLLLoss()");
  CHECK(repr(bce) == "BCEWithLogitsLoss()");
  CHECK(repr(mse) == "MSELoss()");
  const Tensor x = randn_leaf({3, 4}, 10).detach();
  const Tensor t = targets({0, 3, 1});
  CHECK(ce(x, t).item<float>() == F::cross_entropy(x, t).item<float>());
  CHECK(nll(x, t).item<float>() == F::nll_loss(x, t).item<float>());
  const Tensor y = randn_leaf({3, 4}, 11).detach();
  CHECK(bce(x, y).item<float>() == F::binary_cross_entropy_with_logits(x, y).item<float>());
  CHECK(mse(x, y).item<float>() == F::mse_loss(x, y).item<float>());
  nn::MSELoss mse_sum(F::Reduction::Sum);
  CHECK(mse_sum(x, y).item<float>() == Approx(F::mse_loss(x, y).item<float>() * 12));
}
