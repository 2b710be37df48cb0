// Lesson 7: softmax and cross-entropy, and why the fused gradient is softmax - onehot.
//
// A classifier outputs K logits z per example. Softmax turns them into probabilities and
// cross-entropy scores the probability given to the target class t:
//   p_k = exp(z_k) / S,  S = sum_j exp(z_j)        L = -log p_t = -z_t + log S
// On paper, differentiate L directly:
//   dL/dz_k = -[k == t] + (1/S) dS/dz_k = -[k == t] + exp(z_k) / S = p_k - onehot_k
// The long way gives the same: softmax's Jacobian is dp_i/dz_k = p_i ([i == k] - p_k), and
// dL/dp_t = -1/p_t, so dL/dz_k = -(1/p_t) p_t ([t == k] - p_k) = p_k - [k == t].
// The long way divides by p_t, which underflows to 0 for a confident wrong answer (then
// log 0 = -inf and 0 * inf = NaN); the fused form never divides. That is why cross_entropy takes
// logits and fuses softmax, log and the pick of class t into one op with gradient p - onehot
// (divided by N for the mean over a batch).
// Stability: softmax(z) = softmax(z - c) for any c (the exp(-c) cancels), so we subtract
// c = max_j z_j; then every exp is <= 1 and nothing overflows: log S = c + log sum exp(z - c).
//
// Step into: nn/src/functional/loss.cpp (cross_entropy and CrossEntropyBackward),
// nn/src/functional/softmax.cpp (softmax, log_softmax), autograd/src/ops/reduce.cpp (max, sum).
#include <catch2/catch.hpp>

#include <cmath>

#include <ember/autograd/gradcheck.h>
#include <ember/autograd/node.h>
#include <ember/autograd/ops.h>
#include <ember/core/generator.h>
#include <ember/nn/functional.h>

using namespace ember;
namespace F = ember::nn::functional;
using V = std::vector<float>;

namespace {
// Every element within `margin` of the expected value.
auto values_near(const V& expected, double margin) {
  return Catch::Matchers::Approx(expected).margin(margin);
}

// Two examples, two classes. Row 0: z = [0, ln 3] -> exp = [1, 3] -> p = [1/4, 3/4].
// Row 1: z = [1, 1] -> p = [1/2, 1/2]. Targets: class 1 for row 0, class 0 for row 1.
Tensor logits() {
  Tensor z = from_vector(V{0, std::log(3.0f), 1, 1}, {2, 2});
  z.requires_grad_();
  return z;
}
Tensor targets() {
  return from_vector(std::vector<std::int64_t>{1, 0}, {2});
}
Tensor onehot() {
  return from_vector(V{0, 1, 1, 0}, {2, 2});
}

// Cross-entropy from core ops only, stable as in the header: -(mean over rows) of log p_t.
Tensor cross_entropy_by_hand(const Tensor& z, const Tensor& onehot_targets) {
  Tensor c = std::get<0>(z.max(1, /*keepdim=*/true));                   // [N, 1]
  Tensor shifted = z - c;                                               // every entry <= 0
  Tensor log_p = shifted - log(exp(shifted).sum(1, /*keepdim=*/true));  // log softmax
  return -(log_p * onehot_targets).sum() / static_cast<double>(z.size(0));
}

void check_gradient(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                    const std::vector<Tensor>& inputs) {
  auto result = autograd::gradcheck(fn, inputs, {.eps = 1e-3, .atol = 1e-3, .rtol = 1e-2});
  INFO(result.message);  // float32 tolerances: see Note [Float32 gradcheck]
  CHECK(result.ok);
}

// -log(3/4) = 0.2876821, -log(1/2) = 0.6931472; mean 0.4904146.
// torch: F.cross_entropy(torch.tensor([[0, math.log(3)], [1., 1]]), torch.tensor([1, 0]))
//        -> 0.4904146194458008
constexpr double kExpectedLoss = 0.4904146194458008;
// (p - onehot) / N = ([1/4, 3/4] - [0, 1]) / 2, ([1/2, 1/2] - [1, 0]) / 2; the same in torch.
const V kExpectedGrad{0.125f, -0.125f, -0.25f, 0.25f};
}  // namespace

TEST_CASE("Lesson 7: softmax and cross-entropy from core ops", "[lesson7]") {
  Tensor z = logits();

  SECTION("forward") {
    Tensor p = exp(z) / exp(z).sum(1, /*keepdim=*/true);  // the textbook softmax
    CHECK_THAT(p.to_vector<float>(), values_near(V{0.25f, 0.75f, 0.5f, 0.5f}, 1e-6));
    CHECK(cross_entropy_by_hand(z, onehot()).item<float>() == Approx(kExpectedLoss).margin(1e-6));
  }

  SECTION("backward: autograd through exp, sum, log, max finds p - onehot") {
    cross_entropy_by_hand(z, onehot()).backward();
    CHECK_THAT(z.grad().to_vector<float>(), values_near(kExpectedGrad, 1e-6));
    // Each row of p - onehot sums to 0: that is why the gradient flowing through the max
    // (c appears in every shifted entry) cancels, and shifting changes nothing.
    CHECK_THAT(z.grad().sum(1).to_vector<float>(), values_near(V{0, 0}, 1e-7));
  }

  SECTION("gradcheck every op used (random logits: no ties for max)") {
    Generator gen(7);
    Tensor r = randn({3, 4}, gen);
    r.requires_grad_();
    using Ts = std::vector<Tensor>;
    check_gradient([](const Ts& t) { return exp(t[0]); }, {r});
    check_gradient([](const Ts& t) { return log(exp(t[0]).sum(1, true)); }, {r});
    check_gradient([](const Ts& t) { return std::get<0>(t[0].max(1, true)); }, {r});
    Tensor oh = from_vector(V{1, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0}, {3, 4});
    check_gradient([&oh](const Ts& t) { return cross_entropy_by_hand(t[0], oh); }, {r});
  }
}

TEST_CASE("Lesson 7: the library's fused functions agree", "[lesson7]") {
  Tensor z = logits();

  SECTION("forward") {
    CHECK_THAT(F::softmax(z, 1).to_vector<float>(), values_near(V{0.25f, 0.75f, 0.5f, 0.5f}, 1e-6));
    // log(1/4) = -1.3862944, log(3/4) = -0.2876821, log(1/2) = -0.6931472
    CHECK_THAT(F::log_softmax(z, 1).to_vector<float>(),
               values_near(V{-1.3862944f, -0.2876821f, -0.6931472f, -0.6931472f}, 1e-6));
    CHECK(F::cross_entropy(z, targets()).item<float>() == Approx(kExpectedLoss).margin(1e-6));
  }

  SECTION("backward: one fused node, gradient p - onehot over N") {
    Tensor loss = F::cross_entropy(z, targets());
    CHECK(loss.grad_fn()->name() == "CrossEntropyBackward");  // no softmax, log or exp nodes
    loss.backward();
    CHECK_THAT(z.grad().to_vector<float>(), values_near(kExpectedGrad, 1e-6));
    Tensor p = F::softmax(z.detach(), 1);
    CHECK_THAT(z.grad().to_vector<float>(),
               values_near(((p - onehot()) / 2.0).to_vector<float>(), 1e-7));
  }

  SECTION("the same as nll_loss of log_softmax") {
    Tensor loss = F::nll_loss(F::log_softmax(z, 1), targets());
    CHECK(loss.item<float>() == Approx(kExpectedLoss).margin(1e-6));
    loss.backward();
    CHECK_THAT(z.grad().to_vector<float>(), values_near(kExpectedGrad, 1e-6));
  }

  SECTION("gradcheck") {
    Generator gen(7);
    Tensor r = randn({3, 4}, gen);
    r.requires_grad_();
    Tensor t = from_vector(std::vector<std::int64_t>{0, 2, 1}, {3});
    using Ts = std::vector<Tensor>;
    check_gradient([](const Ts& x) { return F::softmax(x[0], 1); }, {r});
    check_gradient([](const Ts& x) { return F::log_softmax(x[0], 1); }, {r});
    check_gradient([&t](const Ts& x) { return F::cross_entropy(x[0], t); }, {r});
  }
}

TEST_CASE("Lesson 7: why subtract the max", "[lesson7]") {
  Tensor z = from_vector(V{1000, 0}, {1, 2});
  // Naive: exp(1000) overflows float32 to inf, and inf / inf is NaN.
  Tensor naive = exp(z) / exp(z).sum(1, true);
  CHECK(std::isnan(naive.to_vector<float>()[0]));
  // Shifted by the max: exp([0, -1000]) = [1, 0], so p = [1, 0] and log p = [0, -1000].
  CHECK(F::softmax(z, 1).to_vector<float>() == V{1, 0});
  CHECK(F::log_softmax(z, 1).to_vector<float>() == V{0, -1000});
  // A confident wrong answer costs 1000, a finite number, not inf.
  Tensor wrong = from_vector(std::vector<std::int64_t>{1}, {1});
  CHECK(F::cross_entropy(z, wrong).item<float>() == 1000.0f);
}

TEST_CASE("Lesson 7: targets are class indices from 0 to K - 1", "[lesson7]") {
  Tensor bad = from_vector(std::vector<std::int64_t>{0, 2}, {2});
  CHECK_THROWS_WITH(F::cross_entropy(logits(), bad),
                    "cross_entropy: target 2 at position 1 is out of bounds for 2 classes "
                    "(expected 0 <= target < 2 or ignore_index -100)");
}
