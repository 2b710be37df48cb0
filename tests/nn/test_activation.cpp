// Elementwise activations: small hand-derived values, extreme inputs, gradcheck, the modules.
#include <catch2/catch.hpp>

#include "support/gradcheck.h"
#include "support/leaf.h"

#include <cmath>
#include <limits>
#include <sstream>

#include <ember/autograd/gradcheck.h>
#include <ember/core/generator.h>
#include <ember/nn/activation.h>
#include <ember/nn/functional.h>

using namespace ember;
namespace F = ember::nn::functional;
using Ts = std::vector<Tensor>;
using ember::test::leaf;

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// Standard normal values pushed away from 0 by at least 0.1 (relu has a kink there).
Tensor away_from_zero(const Shape& shape, std::uint64_t seed) {
  Generator gen(seed);
  std::vector<float> v(static_cast<std::size_t>(numel_of(shape)));
  for (float& x : v) {
    x = gen.normal();
    x += x < 0 ? -0.1f : 0.1f;
  }
  return leaf(v, shape);
}

}  // namespace

TEST_CASE("activations: forward and backward on 2x2 values", "[nn][activation]") {
  SECTION("relu") {
    Tensor x = leaf({-1.0f, 0.0f, 2.0f, 3.0f}, {2, 2});
    Tensor y = F::relu(x);
    CHECK(y.to_vector<float>() == std::vector<float>{0, 0, 2, 3});
    y.backward(ones({2, 2}));
    CHECK(x.grad().to_vector<float>() == std::vector<float>{0, 0, 1, 1});  // relu'(0) = 0
  }
  SECTION("sigmoid") {
    Tensor x = leaf({0.0f, 1.0f, -1.0f, 2.0f}, {2, 2});
    Tensor y = F::sigmoid(x);
    // sigmoid(0) = 0.5, sigmoid(1) = 1/(1+e^-1) = 0.7310586, sigmoid(-1) = 0.2689414
    CHECK(y.at<float>({0, 0}) == 0.5f);
    CHECK(y.at<float>({0, 1}) == Approx(0.7310586).epsilon(1e-6));
    CHECK(y.at<float>({1, 0}) == Approx(0.2689414).epsilon(1e-6));
    y.backward(ones({2, 2}));
    CHECK(x.grad().at<float>({0, 0}) == 0.25f);  // y (1 - y) = 0.5 * 0.5
  }
  SECTION("tanh") {
    Tensor x = leaf({0.0f, 0.5f, -0.5f, 1.0f}, {2, 2});
    Tensor y = F::tanh(x);
    CHECK(y.at<float>({0, 1}) == Approx(0.46211716).epsilon(1e-6));  // tanh(0.5)
    y.backward(ones({2, 2}));
    CHECK(x.grad().at<float>({0, 0}) == 1.0f);  // 1 - tanh(0)^2
  }
  SECTION("silu") {
    Tensor x = leaf({0.0f, 1.0f, -1.0f, 2.0f}, {2, 2});
    Tensor y = F::silu(x);
    CHECK(y.at<float>({0, 1}) == Approx(0.7310586).epsilon(1e-6));  // 1 * sigmoid(1)
    y.backward(ones({2, 2}));
    CHECK(x.grad().at<float>({0, 0}) == 0.5f);  // s (1 + 0) at 0
  }
  SECTION("logsigmoid") {
    Tensor x = leaf({0.0f, 1.0f, -1.0f, 2.0f}, {2, 2});
    Tensor y = F::logsigmoid(x);
    CHECK(y.at<float>({0, 0}) == Approx(-0.6931472).epsilon(1e-6));  // log(1/2)
    y.backward(ones({2, 2}));
    CHECK(x.grad().at<float>({0, 0}) == 0.5f);  // sigmoid(-0)
  }
}

TEST_CASE("activations: extreme inputs", "[nn][activation]") {
  const Tensor x = from_vector(
      std::vector<float>{1e4f, -1e4f, 88.7f, -88.7f, 100.0f, -100.0f, kInf, -kInf}, {8});
  const auto sig = F::sigmoid(x).to_vector<float>();
  CHECK(sig[0] == 1.0f);
  CHECK(sig[1] == 0.0f);
  CHECK(sig[5] > 0.0f);  // 3.7e-44: a subnormal, not flushed
  CHECK(sig[6] == 1.0f);
  CHECK(sig[7] == 0.0f);
  const auto th = F::tanh(x).to_vector<float>();
  CHECK(th[0] == 1.0f);
  CHECK(th[1] == -1.0f);
  CHECK(th[6] == 1.0f);
  CHECK(th[7] == -1.0f);
  const auto ls = F::logsigmoid(x).to_vector<float>();
  CHECK(ls[0] == 0.0f);
  CHECK(ls[1] == -1e4f);  // stable: never log(0)
  CHECK(ls[3] == Approx(-88.7f));
  CHECK(ls[7] == -kInf);
  const auto si = F::silu(x).to_vector<float>();
  CHECK(si[0] == 1e4f);
  CHECK(si[1] == 0.0f);
  CHECK(std::isnan(si[7]));  // -inf * sigmoid(-inf) = -inf * 0, as PyTorch
  SECTION("NaN propagates") {
    const Tensor n = from_vector(std::vector<float>{std::nanf(""), 1.0f}, {2});
    CHECK(std::isnan(F::sigmoid(n).to_vector<float>()[0]));
    CHECK(std::isnan(F::tanh(n).to_vector<float>()[0]));
    CHECK(std::isnan(F::relu(n).to_vector<float>()[0]));
    CHECK(std::isnan(F::silu(n).to_vector<float>()[0]));
    CHECK(std::isnan(F::logsigmoid(n).to_vector<float>()[0]));
  }
}

TEST_CASE("activations: gradcheck", "[nn][activation][gradcheck]") {
  const Tensor x = away_from_zero({3, 5}, 1);
  CHECK_GRADCHECK([](const Ts& t) { return F::sigmoid(t[0]); }, x);
  CHECK_GRADCHECK([](const Ts& t) { return F::tanh(t[0]); }, x);
  CHECK_GRADCHECK([](const Ts& t) { return F::relu(t[0]); }, x);
  CHECK_GRADCHECK([](const Ts& t) { return F::silu(t[0]); }, x);
  CHECK_GRADCHECK([](const Ts& t) { return F::logsigmoid(t[0]); }, x);
  SECTION("on a non-contiguous view") {
    const Tensor base = away_from_zero({5, 3}, 2);
    CHECK_GRADCHECK([](const Ts& t) { return F::silu(t[0].t()); }, base);
    CHECK_GRADCHECK([](const Ts& t) { return F::sigmoid(t[0].t()); }, base);
  }
}

TEST_CASE("activations: errors name the op and dtype", "[nn][activation]") {
  // As PyTorch: F.silu / F.logsigmoid of an int64 tensor raise ("silu_cpu" not implemented for
  // 'Long'); F.relu keeps int64 and F.sigmoid / F.tanh give float32
  // (tests/core/test_unary_dtypes.cpp has the whole table).
  const Tensor ints = from_vector(std::vector<std::int64_t>{-1, 2}, {2});
  CHECK_THROWS_WITH(F::silu(ints), "silu: expected a float32 input, got int64 of shape [2]");
  CHECK_THROWS_WITH(F::logsigmoid(ints),
                    "logsigmoid: expected a float32 input, got int64 of shape [2]");
  CHECK(F::relu(ints).to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 2});
  CHECK(F::sigmoid(ints).dtype() == kFloat32);
  CHECK(F::tanh(ints).dtype() == kFloat32);
}

TEST_CASE("activations: modules print and forward like PyTorch", "[nn][activation][module]") {
  auto repr = [](const nn::Module& m) {
    std::ostringstream out;
    out << m;
    return out.str();
  };
  nn::ReLU relu;
  nn::Sigmoid sigmoid;
  nn::Tanh tanh_m;
  nn::SiLU silu;
  nn::LogSigmoid logsigmoid;
  CHECK(repr(relu) == "ReLU()");
  CHECK(repr(sigmoid) == "Sigmoid()");
  CHECK(repr(tanh_m) == "Tanh()");
  CHECK(repr(silu) == "SiLU()");
  CHECK(repr(logsigmoid) == "LogSigmoid()");
  CHECK(repr(nn::Softmax(1)) == "Softmax(dim=1)");
  CHECK(repr(nn::LogSoftmax(-1)) == "LogSoftmax(dim=-1)");
  CHECK(repr(nn::Softmin(0)) == "Softmin(dim=0)");
  CHECK(repr(nn::Softmax2d()) == "Softmax2d()");
  const Tensor x = from_vector(std::vector<float>{-1.0f, 2.0f}, {1, 2});
  CHECK(relu(x).to_vector<float>() == std::vector<float>{0.0f, 2.0f});
  CHECK(sigmoid(x).to_vector<float>() == F::sigmoid(x).to_vector<float>());
  CHECK(tanh_m(x).to_vector<float>() == F::tanh(x).to_vector<float>());
  CHECK(silu(x).to_vector<float>() == F::silu(x).to_vector<float>());
  CHECK(logsigmoid(x).to_vector<float>() == F::logsigmoid(x).to_vector<float>());
  CHECK(relu.parameters().empty());
}
