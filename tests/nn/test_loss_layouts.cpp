// cross_entropy and nll_loss in every layout PyTorch 1.13 accepts (K classes):
//   one sample  input [K]                  target [] int64 or [K] float32
//   a batch     input [N, K]               target [N] int64 or [N, K] float32   (test_loss.cpp)
//   K-dim       input [N, K, d1, ..., dm]  target [N, d1, ..., dm] int64 or the input's shape
// Each element of the target picks one row of K logits (class dim 1), so the loss is the [N, K]
// loss of those rows: Reduction::None keeps the target's shape, Mean divides by sum w[t] over the
// elements not ignored (or by the number of elements for probability targets). Also: the
// gradient that flows to probability targets. Step into to_rows in nn/src/functional/loss.cpp to
// see how a layout becomes rows (Note [loss layouts] there).
//
// Tolerances: the values below are PyTorch's float32 results; ours are computed in float32 too,
// in another order, so we compare with relative 1e-5 and absolute 1e-6 (a few ulps of losses of
// order one). Gradients are also checked by central differences (Note [Float32 gradcheck]).
#include <catch2/catch.hpp>

#include "support/all_close.h"
#include "support/gradcheck.h"
#include "support/leaf.h"

#include <vector>

#include <ember/core/generator.h>
#include <ember/nn/functional.h>
#include <ember/nn/loss.h>

using namespace ember;
namespace F = ember::nn::functional;
using Ts = std::vector<Tensor>;

using ember::test::check_all_close;
using ember::test::leaf;

namespace {

// The [2, 3, 2, 2] logits of the K-dim cases: N = 2, K = 3, d1 = d2 = 2, values in halves.
//   x = (((torch.arange(24) * 7) % 11 - 5) * 0.5).reshape(2, 3, 2, 2)
Tensor kdim_logits() {
  return from_vector(std::vector<float>{-2.5f, 1.0f, -1.0f, 2.5f,  0.5f, -1.5f, 2.0f,  0.0f,
                                        -2.0f, 1.5f, -0.5f, -2.5f, 1.0f, -1.0f, 2.5f,  0.5f,
                                        -1.5f, 2.0f, 0.0f,  -2.0f, 1.5f, -0.5f, -2.5f, 1.0f},
                     {2, 3, 2, 2});
}

// Its [2, 2, 2] class-index targets.
//   t = torch.tensor([[[0, 2], [1, 1]], [[2, 0], [0, 1]]])
Tensor kdim_targets() {
  return from_vector(std::vector<std::int64_t>{0, 2, 1, 1, 2, 0, 0, 1}, {2, 2, 2});
}

// Class weights for K = 3.  w = torch.tensor([1., 2., 0.5])
Tensor class_weights() {
  return from_vector(std::vector<float>{1.0f, 2.0f, 0.5f}, {3});
}

}  // namespace

TEST_CASE("cross_entropy: K-dim input [N, K, d1, d2]", "[nn][loss][layouts]") {
  const Tensor x = kdim_logits();
  const Tensor t = kdim_targets();
  SECTION("plain: one loss per element, in the target's shape") {
    // Element (n=0, d=(0,0)) has logits x[0, :, 0, 0] = [-2.5, 0.5, -2] and target 0:
    // -log p_0 = log(e^-2.5 + e^0.5 + e^-2) + 2.5 = 3.123873.
    // F.cross_entropy(x, t, reduction='none' / 'mean' / 'sum')
    F::CrossEntropyOptions o;
    o.reduction = F::Reduction::None;
    const Tensor none = F::cross_entropy(x, t, o);
    CHECK(none.sizes() == Shape{2, 2, 2});
    check_all_close(none, {3.123873f, 0.50459689f, 0.12387295f, 2.5850973f, 0.50459689f, 3.123873f,
                           0.085097261f, 3.5045969f});
    o.reduction = F::Reduction::Mean;  // the sum / 8 elements
    CHECK(F::cross_entropy(x, t, o).item<float>() == Approx(1.6944505f).epsilon(1e-5));
    o.reduction = F::Reduction::Sum;
    CHECK(F::cross_entropy(x, t, o).item<float>() == Approx(13.555604f).epsilon(1e-5));
  }
  SECTION("weight, ignore_index and label_smoothing") {
    // Targets equal to 1 are ignored (loss 0); Mean divides by the weights of the rest,
    // w[0] + w[2] + w[2] + w[0] + w[0] = 1 + 0.5 + 0.5 + 1 + 1 = 4: 7.7164283 / 4 = 1.9291071.
    // F.cross_entropy(x, t, weight=w, ignore_index=1, label_smoothing=0.2, reduction=...)
    F::CrossEntropyOptions o;
    o.weight = class_weights();
    o.ignore_index = 1;
    o.label_smoothing = 0.2;
    o.reduction = F::Reduction::None;
    check_all_close(F::cross_entropy(x, t, o), {2.8113356f, 0.75291145f, 0.0f, 0.0f, 0.75291145f,
                                                2.8113356f, 0.5879339f, 0.0f});
    o.reduction = F::Reduction::Sum;
    CHECK(F::cross_entropy(x, t, o).item<float>() == Approx(7.7164283f).epsilon(1e-5));
    o.reduction = F::Reduction::Mean;
    Tensor xg = leaf(x);
    const Tensor loss = F::cross_entropy(xg, t, o);
    CHECK(loss.item<float>() == Approx(1.9291071f).epsilon(1e-5));
    // backward: ignored elements get zero gradient in all K classes.
    // xg = x.clone().requires_grad_(); F.cross_entropy(xg, t, ...).backward(); xg.grad
    loss.backward();
    CHECK(xg.grad().sizes() == Shape{2, 3, 2, 2});
    check_all_close(
        xg.grad(),
        {-0.20530349f, 0.041313764f, 0.0f,          0.0f,          0.19490211f,    -0.028574012f,
         0.0f,         0.0f,         0.010401371f,  -0.012739757f, 0.0f,           0.0f,
         0.041313764f, -0.20530349f, 0.020592583f,  0.0f,          -0.028574012f,  0.19490211f,
         -0.01385791f, 0.0f,         -0.012739757f, 0.010401371f,  -0.0067346934f, 0.0f});
  }
  SECTION("[N, K, d] equals the batch of rows it is made of") {
    // x3 [2, 3, 4]: element (n, d) has the logits x3[n, :, d], i.e. row (n, d) of the [2, 4, 3]
    // tensor x3.transpose(1, 2): a batch of 8 rows with the same losses, bit for bit.
    const Tensor x3 = x.reshape({2, 3, 4});
    const Tensor t3 = t.reshape({2, 4});
    F::CrossEntropyOptions o;
    o.reduction = F::Reduction::None;
    const Tensor rows = x3.transpose(1, 2).contiguous().reshape({8, 3});
    CHECK(F::cross_entropy(x3, t3, o).to_vector<float>() ==
          F::cross_entropy(rows, t3.reshape({8}), o).to_vector<float>());
  }
}

TEST_CASE("nll_loss: K-dim input [N, K, d1, d2]", "[nn][loss][layouts]") {
  // loss = -w[t] x[n, t, d]: element (0, (0,0)) has target 0, so -1 * -2.5 = 2.5; element
  // (0, (0,1)) target 2: -0.5 * 1.5 = -0.75. Mean: the sum -0.5 over weights 4 = -0.125.
  // F.nll_loss(x, t, weight=w, ignore_index=1, reduction=...)
  const Tensor t = kdim_targets();
  F::NLLLossOptions o;
  o.weight = class_weights();
  o.ignore_index = 1;
  o.reduction = F::Reduction::None;
  const Tensor none = F::nll_loss(kdim_logits(), t, o);
  CHECK(none.sizes() == Shape{2, 2, 2});
  check_all_close(none, {2.5f, -0.75f, 0.0f, 0.0f, -0.75f, 1.0f, -2.5f, 0.0f});
  o.reduction = F::Reduction::Mean;
  CHECK(F::nll_loss(kdim_logits(), t, o).item<float>() == Approx(-0.125f));
  o.reduction = F::Reduction::Sum;
  CHECK(F::nll_loss(kdim_logits(), t, o).item<float>() == Approx(-0.5f));
}

TEST_CASE("cross_entropy and nll_loss: one sample [K] with a 0-d target", "[nn][loss][layouts]") {
  // u = torch.tensor([0.5, -1., 2.]); target torch.tensor(1) (0-d)
  // F.cross_entropy(u, torch.tensor(1), weight=w, label_smoothing=0.2, reduction=...)
  //   none -> 5.742404 (shape []), mean -> 5.742404 / w[1] = 2.871202, sum -> 5.742404
  const Tensor u = from_vector(std::vector<float>{0.5f, -1.0f, 2.0f}, {3});
  const Tensor t = from_vector(std::vector<std::int64_t>{1}, {});
  F::CrossEntropyOptions o;
  o.weight = class_weights();
  o.label_smoothing = 0.2;
  o.reduction = F::Reduction::None;
  const Tensor none = F::cross_entropy(u, t, o);
  CHECK(none.dim() == 0);
  CHECK(none.item<float>() == Approx(5.742404f).epsilon(1e-5));
  o.reduction = F::Reduction::Mean;
  CHECK(F::cross_entropy(u, t, o).item<float>() == Approx(2.871202f).epsilon(1e-5));
  o.reduction = F::Reduction::Sum;
  CHECK(F::cross_entropy(u, t, o).item<float>() == Approx(5.742404f).epsilon(1e-5));
  SECTION("the same as a batch of one, gradient included") {
    Tensor ug = leaf(u);
    F::cross_entropy(ug, t, o).backward();
    Tensor batch = leaf(u.reshape({1, 3}));
    F::cross_entropy(batch, from_vector(std::vector<std::int64_t>{1}, {1}), o).backward();
    CHECK(ug.grad().sizes() == Shape{3});
    CHECK(ug.grad().to_vector<float>() == batch.grad().to_vector<float>());
  }
  SECTION("probability target [K]") {
    // loss = -sum_k w[k] q[k] log p[k] with q = [0.25, 0.25, 0.5]
    // F.cross_entropy(u, torch.tensor([0.25, 0.25, 0.5]), weight=w, reduction='none') -> 2.1163113
    F::CrossEntropyOptions p;
    p.weight = class_weights();
    p.reduction = F::Reduction::None;
    const Tensor q = from_vector(std::vector<float>{0.25f, 0.25f, 0.5f}, {3});
    const Tensor loss = F::cross_entropy(u, q, p);
    CHECK(loss.dim() == 0);
    CHECK(loss.item<float>() == Approx(2.1163113f).epsilon(1e-5));
  }
  SECTION("nll_loss") {
    // F.nll_loss(u, torch.tensor(2), reduction='none') -> -u[2] = -2, shape []
    F::NLLLossOptions n;
    n.reduction = F::Reduction::None;
    const Tensor loss = F::nll_loss(u, from_vector(std::vector<std::int64_t>{2}, {}), n);
    CHECK(loss.dim() == 0);
    CHECK(loss.item<float>() == -2.0f);
  }
}

TEST_CASE("cross_entropy: K-dim probability targets, gradient to the target",
          "[nn][loss][layouts]") {
  // q is written per element (8 elements of 3 class probabilities, [2, 2, 2, 3]) and moved to
  // class dim 1: a non-contiguous [2, 3, 2, 2] target.
  //   q_elems = torch.tensor([[.5, .25, .25], [.25, .5, .25], [.25, .25, .5], [1., 0., 0.],
  //                           [0., 1., 0.], [0., 0., 1.], [.2, .3, .5], [.6, .2, .2]])
  //   qg = q_elems.reshape(2, 2, 2, 3).requires_grad_(); q = qg.permute(0, 3, 1, 2)
  //   xg = x.clone().requires_grad_()
  //   l = F.cross_entropy(xg, q, weight=w, label_smoothing=0.1); l.backward()
  Tensor qg =
      leaf(from_vector(std::vector<float>{0.5f, 0.25f, 0.25f, 0.25f, 0.5f, 0.25f, 0.25f, 0.25f,
                                          0.5f, 1.0f,  0.0f,  0.0f,  0.0f, 1.0f,  0.0f,  0.0f,
                                          0.0f, 1.0f,  0.2f,  0.3f,  0.5f, 0.6f,  0.2f,  0.2f},
                       {2, 2, 2, 3}));
  const Tensor q = qg.transpose(2, 3).transpose(1, 2);  // [2, 2, 3, 2] -> [2, 3, 2, 2]
  Tensor xg = leaf(kdim_logits());
  SECTION("none and sum") {
    // F.cross_entropy(x, q, reduction='none') and reduction='sum'
    F::CrossEntropyOptions o;
    o.reduction = F::Reduction::None;
    const Tensor none = F::cross_entropy(xg, q, o);
    CHECK(none.sizes() == Shape{2, 2, 2});
    check_all_close(none, {2.248873f, 2.1295969f, 2.123873f, 0.085097261f, 3.5045969f, 2.623873f,
                           3.3350973f, 1.4045969f});
    o.reduction = F::Reduction::Sum;
    CHECK(F::cross_entropy(xg, q, o).item<float>() == Approx(17.455605f).epsilon(1e-5));
  }
  SECTION("mean with weight and label_smoothing, both gradients") {
    // Mean divides by the 8 elements. d loss / d q[k] = -w[k] (1 - eps) log p[k] / 8 >= 0: the
    // loss grows with the mass q puts on unlikely classes.
    F::CrossEntropyOptions o;
    o.weight = class_weights();
    o.label_smoothing = 0.1;
    const Tensor loss = F::cross_entropy(xg, q, o);
    CHECK(loss.item<float>() == Approx(2.5409987f).epsilon(1e-5));
    loss.backward();
    // xg.grad
    check_all_close(xg.grad(),
                    {-0.054208156f, 0.029693985f,   -0.026701719f, 4.9579307e-05f, 0.060117885f,
                     -0.11574524f,  0.047693782f,   0.001247319f,  -0.0059097344f, 0.086051241f,
                     -0.020992067f, -0.0012969056f, 0.083566874f,  -0.0010509582f, 0.095215708f,
                     -0.021010086f, -0.22613172f,   0.054247353f,  -0.065828621f,  -0.049175184f,
                     0.14256485f,   -0.053196397f,  -0.029387096f, 0.070185266f});
    // qg.grad, per element like qg
    REQUIRE(qg.grad().defined());
    CHECK(qg.grad().sizes() == Shape{2, 2, 2, 3});
    check_all_close(
        qg.grad(),
        {0.35143569f,   0.027871413f, 0.14759286f,  0.11301716f,   0.78853428f,  0.028383574f,
         0.35143569f,   0.027871413f, 0.14759286f,  0.0095734419f, 0.58164686f,  0.28603673f,
         0.11301716f,   0.78853428f,  0.028383574f, 0.35143569f,   0.027871413f, 0.14759286f,
         0.0095734419f, 0.58164686f,  0.28603673f,  0.11301716f,   0.78853428f,  0.028383574f});
  }
  SECTION("only the target requires grad") {
    F::cross_entropy(kdim_logits(), q).backward();
    CHECK(qg.grad().defined());
  }
}

TEST_CASE("cross_entropy and nll_loss: gradcheck in the new layouts", "[nn][loss][layouts]") {
  Generator gen(21);
  const Tensor x = leaf(randn({2, 3, 2, 2}, gen));
  const Tensor t = kdim_targets();
  for (F::Reduction r : {F::Reduction::None, F::Reduction::Mean, F::Reduction::Sum}) {
    INFO("reduction " << static_cast<int>(r));
    F::CrossEntropyOptions ce;
    ce.reduction = r;
    ce.weight = class_weights();
    ce.ignore_index = 1;
    ce.label_smoothing = 0.2;
    CHECK_GRADCHECK([&](const Ts& in) { return F::cross_entropy(in[0], t, ce); }, x);
    // A non-contiguous input: the leaf is [2, 2, 2, 3] (classes last), the loss sees its
    // [2, 3, 2, 2] view.
    const Tensor x_last = leaf(randn({2, 2, 2, 3}, gen));
    CHECK_GRADCHECK([&](const Ts& in) { return F::cross_entropy(in[0].transpose(1, 3), t, ce); },
                    x_last);
    // Probability targets: the gradients of both the logits and q (q need not sum to one).
    const Tensor q = leaf(F::softmax(randn({2, 3, 2, 2}, gen), 1));
    CHECK_GRADCHECK([&](const Ts& in) { return F::cross_entropy(in[0], in[1], ce); }, x, q);
    // One sample [K] with a probability target.
    const Tensor u = leaf(randn({4}, gen));
    const Tensor qu = leaf(F::softmax(randn({4}, gen), 0));
    F::CrossEntropyOptions one = ce;
    one.weight = Tensor();
    CHECK_GRADCHECK([&](const Ts& in) { return F::cross_entropy(in[0], in[1], one); }, u, qu);
    F::NLLLossOptions nll;
    nll.reduction = r;
    nll.weight = class_weights();
    nll.ignore_index = 1;
    CHECK_GRADCHECK([&](const Ts& in) { return F::nll_loss(in[0].transpose(1, 3), t, nll); },
                    x_last);
  }
}

TEST_CASE("cross_entropy and nll_loss: layout errors name the op and both shapes",
          "[nn][loss][layouts]") {
  Generator gen(22);
  const Tensor x = randn({2, 5, 4}, gen);
  // PyTorch: "Expected target size [2, 4], got [2, 3]"
  CHECK_THROWS_WITH(F::cross_entropy(x, from_vector(std::vector<std::int64_t>(6, 0), {2, 3})),
                    Catch::Contains("cross_entropy") && Catch::Contains("[2, 3]") &&
                        Catch::Contains("[2, 5, 4]") && Catch::Contains("expected [2, 4]"));
  CHECK_THROWS_WITH(
      F::nll_loss(x, from_vector(std::vector<std::int64_t>(2, 0), {2})),
      Catch::Contains("nll_loss") && Catch::Contains("[2]") && Catch::Contains("[2, 5, 4]"));
  // A float target is a probability target and must have the input's shape.
  CHECK_THROWS_WITH(F::cross_entropy(x, randn({2, 4}, gen)), Catch::Contains("cross_entropy") &&
                                                                 Catch::Contains("[2, 4]") &&
                                                                 Catch::Contains("[2, 5, 4]"));
  // One sample [5] takes a 0-d target. PyTorch: "size mismatch (got input: [5], target: [1])"
  CHECK_THROWS_WITH(
      F::cross_entropy(randn({5}, gen), from_vector(std::vector<std::int64_t>{1}, {1})),
      Catch::Contains("[5]") && Catch::Contains("[1]") && Catch::Contains("expected []"));
  CHECK_THROWS_WITH(F::cross_entropy(randn({}, gen), from_vector(std::vector<std::int64_t>{0}, {})),
                    Catch::Contains("cross_entropy") && Catch::Contains("0-d"));
  SECTION("an out-of-range target names its value and multi-index") {
    // Target [2, 4] with 7 at [1, 2] (flat position 1 * 4 + 2 = 6); 5 classes.
    // PyTorch: "Target 7 is out of bounds."
    std::vector<std::int64_t> t(8, 0);
    t[6] = 7;
    const Tensor target = from_vector(t, {2, 4});
    CHECK_THROWS_WITH(
        F::cross_entropy(x, target),
        Catch::Contains("cross_entropy: target 7 at index [1, 2] (flat position 6)") &&
            Catch::Contains("5 classes"));
    CHECK_THROWS_WITH(F::nll_loss(x, target),
                      Catch::Contains("nll_loss") && Catch::Contains("index [1, 2]"));
  }
}

TEST_CASE("CrossEntropyLoss and NLLLoss take the K-dim layout", "[nn][loss][layouts][module]") {
  // The modules forward to the functions: same value, same shape for Reduction::None.
  const Tensor x = kdim_logits();
  const Tensor t = kdim_targets();
  F::CrossEntropyOptions o;
  o.reduction = F::Reduction::None;
  nn::CrossEntropyLoss ce(o);
  CHECK(ce(x, t).sizes() == Shape{2, 2, 2});
  CHECK(ce(x, t).to_vector<float>() == F::cross_entropy(x, t, o).to_vector<float>());
  nn::NLLLoss nll;
  CHECK(nll(x, t).item<float>() == F::nll_loss(x, t).item<float>());
}
