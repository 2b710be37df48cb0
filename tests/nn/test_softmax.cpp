// Softmax family: hand-derived values, every dim (also negative), extreme rows, gradcheck,
// Softmax2d's rank rule and the modules.
#include <catch2/catch.hpp>

#include "support/gradcheck.h"

#include <cmath>
#include <limits>

#include <ember/autograd/gradcheck.h>
#include <ember/core/generator.h>
#include <ember/nn/activation.h>
#include <ember/nn/functional.h>

using namespace ember;
namespace F = ember::nn::functional;
using Ts = std::vector<Tensor>;

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

Tensor randn_leaf(const Shape& shape, std::uint64_t seed) {
  Generator gen(seed);
  Tensor t = randn(shape, gen);
  t.requires_grad_();
  return t;
}

}  // namespace

TEST_CASE("softmax: 2x2 by hand", "[nn][softmax]") {
  Tensor x = from_vector(std::vector<float>{0.0f, 0.0f, 0.0f, std::log(3.0f)}, {2, 2});
  x.requires_grad_();
  SECTION("forward") {
    // row 0: e^0 / (e^0 + e^0) = 1/2 each; row 1: 1/(1+3) = 1/4 and 3/4
    const auto y = F::softmax(x, 1).to_vector<float>();
    CHECK(y[0] == 0.5f);
    CHECK(y[2] == Approx(0.25f));
    CHECK(y[3] == Approx(0.75f));
    const auto ly = F::log_softmax(x, -1).to_vector<float>();
    CHECK(ly[0] == Approx(std::log(0.5f)));
    // softmin of row 1: softmax([0, -log 3]) = [3/4, 1/4]
    CHECK(F::softmin(x, 1).to_vector<float>()[2] == Approx(0.75f));
  }
  SECTION("backward") {
    // grad_x = y (g - sum(g y)); g = [1, 0] on row 0: 0.5 (1 - 0.5) = 0.25, 0.5 (0 - 0.5) = -0.25
    Tensor y = F::softmax(x, 1);
    y.backward(from_vector(std::vector<float>{1.0f, 0.0f, 1.0f, 0.0f}, {2, 2}));
    const auto g = x.grad().to_vector<float>();
    CHECK(g[0] == Approx(0.25f));
    CHECK(g[1] == Approx(-0.25f));
    CHECK(g[2] == Approx(0.25f * 0.75f));  // y0 (1 - y0) with y0 = 1/4
  }
}

TEST_CASE("softmax: every dim of a 3-d tensor sums to one", "[nn][softmax]") {
  const Tensor x = randn_leaf({3, 20, 19}, 1).detach();
  for (std::int64_t dim : {0, 1, 2, -1, -2, -3}) {
    INFO("dim " << dim);
    const Tensor s = F::softmax(x, dim).sum(dim);
    for (float v : s.to_vector<float>()) CHECK(v == Approx(1.0f).epsilon(1e-5));
    const Tensor l = F::log_softmax(x, dim).exp().sum(dim);
    for (float v : l.to_vector<float>()) CHECK(v == Approx(1.0f).epsilon(1e-5));
  }
  CHECK_THROWS_WITH(F::softmax(x, 3), Catch::Contains("softmax"));
  CHECK_THROWS_AS(F::log_softmax(x, -4), ember::Error);
}

TEST_CASE("softmax: extreme rows", "[nn][softmax]") {
  const Tensor x =
      from_vector(std::vector<float>{1e4f, -1e4f, 0.0f,           // huge logits: [1, 0, 0]
                                     -kInf, 1.0f, 1.0f,           // -inf entry: [0, 1/2, 1/2]
                                     -kInf, -kInf, -kInf,         // all -inf: NaN, as PyTorch
                                     5.0f, 5.0f, 5.0f,            // all equal: 1/3 each
                                     88.7f, 88.0f, 89.0f,         // near exp overflow
                                     std::nanf(""), 1.0f, 2.0f},  // NaN poisons its row
                  {6, 3});
  const auto y = F::softmax(x, 1).to_vector<float>();
  CHECK(y[0] == 1.0f);
  CHECK(y[1] == 0.0f);
  CHECK(y[3] == 0.0f);
  CHECK(y[4] == 0.5f);
  for (int i = 6; i < 9; ++i) CHECK(std::isnan(y[i]));
  for (int i = 9; i < 12; ++i) CHECK(y[i] == Approx(1.0f / 3.0f));
  // softmax([88.7, 88, 89]) = exp([-0.3, -1, 0]) / sum
  const double s = std::exp(-0.3) + std::exp(-1.0) + 1.0;
  CHECK(y[14] == Approx(1.0 / s).epsilon(1e-5));
  for (int i = 15; i < 18; ++i) CHECK(std::isnan(y[i]));
  const auto ly = F::log_softmax(x, 1).to_vector<float>();
  CHECK(ly[0] == 0.0f);
  CHECK(ly[1] == -2e4f);  // exact, never log(0)
  CHECK(ly[3] == -kInf);
  CHECK(std::isnan(ly[6]));
  for (float v : F::softmin(x, 1).to_vector<float>()) CHECK((std::isnan(v) || (v >= 0 && v <= 1)));
}

TEST_CASE("softmax: gradcheck", "[nn][softmax][gradcheck]") {
  const Tensor x = randn_leaf({3, 5}, 2);
  const Tensor x3 = randn_leaf({2, 3, 4}, 3);
  CHECK_GRADCHECK([](const Ts& t) { return F::softmax(t[0], 1); }, x);
  CHECK_GRADCHECK([](const Ts& t) { return F::log_softmax(t[0], 1); }, x);
  CHECK_GRADCHECK([](const Ts& t) { return F::softmin(t[0], 1); }, x);
  for (std::int64_t dim : {0, 1, -1}) {
    INFO("dim " << dim);
    CHECK_GRADCHECK([dim](const Ts& t) { return F::softmax(t[0], dim); }, x3);
    CHECK_GRADCHECK([dim](const Ts& t) { return F::log_softmax(t[0], dim); }, x3);
    CHECK_GRADCHECK([dim](const Ts& t) { return F::softmin(t[0], dim); }, x3);
  }
  const Tensor x4 = randn_leaf({2, 3, 2, 2}, 4);
  CHECK_GRADCHECK([](const Ts& t) { return F::softmax2d(t[0]); }, x4);
  CHECK_GRADCHECK([](const Ts& t) { return F::log_softmax(t[0].t(), 0); }, x);  // strided input
}

TEST_CASE("softmax2d: channels of [N, C, H, W] and [C, H, W]; other ranks throw", "[nn][softmax]") {
  const Tensor x = randn_leaf({2, 3, 4, 5}, 5).detach();
  const Tensor y = F::softmax2d(x);
  const auto sums = y.sum(1).to_vector<float>();
  for (float v : sums) CHECK(v == Approx(1.0f).epsilon(1e-5));
  CHECK(F::softmax2d(x.select(0, 1)).to_vector<float>() ==
        F::softmax(x.select(0, 1), 0).to_vector<float>());
  CHECK_THROWS_WITH(F::softmax2d(randn_leaf({4, 5}, 6)),
                    Catch::Contains("softmax2d") && Catch::Contains("[4, 5]"));
  CHECK_THROWS_AS(F::softmax2d(randn_leaf({1, 2, 3, 4, 5}, 7)), ember::Error);
}

TEST_CASE("softmax modules", "[nn][softmax][module]") {
  const Tensor x = randn_leaf({2, 3}, 8).detach();
  nn::Softmax softmax(1);
  nn::LogSoftmax log_softmax(-1);
  nn::Softmin softmin(1);
  CHECK(softmax(x).to_vector<float>() == F::softmax(x, 1).to_vector<float>());
  CHECK(log_softmax(x).to_vector<float>() == F::log_softmax(x, 1).to_vector<float>());
  CHECK(softmin(x).to_vector<float>() == F::softmin(x, 1).to_vector<float>());
  CHECK(softmax.dim() == 1);
}
