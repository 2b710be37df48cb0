// Issue 13, kind B for nn: constructor and init arguments that cannot make a valid module are
// refused up front, naming the argument, instead of failing deep inside with a negative or
// overflowing size.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>

#include <ember/nn/adaptive.h>
#include <ember/nn/functional/activation.h>
#include <ember/nn/init.h>
#include <ember/nn/linear.h>

using namespace ember;
using Catch::Contains;

namespace {
const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();
}  // namespace

TEST_CASE("AdaptiveLogSoftmaxWithLoss: div_value must be positive and finite", "[hostile]") {
  using nn::AdaptiveLogSoftmaxWithLoss;
  // div_value 0 made in_features / 0^1 = inf, converted to int64 (undefined behaviour), and a
  // negative feature count deep inside Linear.
  for (double bad : {0.0, -0.0, -2.0, kNaN, kInf, -kInf}) {
    INFO("div_value " << bad);
    CHECK_THROWS_WITH(AdaptiveLogSoftmaxWithLoss(8, 10, {4}, bad),
                      Contains("AdaptiveLogSoftmaxWithLoss: div_value must be a positive finite "
                               "number, got "));
  }
  CHECK_THROWS_WITH(AdaptiveLogSoftmaxWithLoss(8, 10, {4}, 0.0),
                    "AdaptiveLogSoftmaxWithLoss: div_value must be a positive finite number, got "
                    "0");
  // A tiny div_value grows the hidden size past int64.
  CHECK_THROWS_WITH(AdaptiveLogSoftmaxWithLoss(8, 10, {4}, 1e-300),
                    "AdaptiveLogSoftmaxWithLoss: the hidden size of cluster 0, in_features / "
                    "div_value^1 = 8e+300, is too large (div_value 1e-300)");
  // div_value below 1 that still fits is fine (PyTorch allows it): hidden 8 / 0.5 = 16.
  AdaptiveLogSoftmaxWithLoss grow(8, 10, {4}, 0.5);
  CHECK(grow.tail[0]->parameters()[0].sizes() == Shape{16, 8});
  // A large div_value gives a 0-feature hidden layer, as PyTorch.
  AdaptiveLogSoftmaxWithLoss shrink(8, 10, {4}, 100.0);
  CHECK(shrink.tail[0]->parameters()[0].sizes() == Shape{0, 8});
  CHECK_THROWS_WITH(AdaptiveLogSoftmaxWithLoss(-8, 10, {4}),
                    Contains("in_features and n_classes must be positive, got -8 and 10"));
}

TEST_CASE("Linear: negative or overflowing feature counts are refused", "[hostile]") {
  CHECK_THROWS_WITH(nn::Linear(-1, 3),
                    "Linear: in_features and out_features must be >= 0, got in_features=-1, "
                    "out_features=3");
  CHECK_THROWS_WITH(nn::Linear(3, std::numeric_limits<std::int64_t>::min()),
                    Contains("out_features=-9223372036854775808"));
  CHECK_THROWS_WITH(nn::Linear(std::int64_t{1} << 40, std::int64_t{1} << 40),
                    Contains("has too many elements"));
}

TEST_CASE("init: values that float32 cannot hold are refused", "[hostile]") {
  Generator gen(0);
  Tensor w = zeros({2, 3});
  CHECK_THROWS_WITH(nn::init::constant_(w, 1e300),
                    "init::constant_: value 1e+300 cannot be converted to type float32 without "
                    "overflow");
  CHECK_THROWS_WITH(nn::init::uniform_(w, -kInf, kInf, gen),
                    Contains("init::uniform_: expects b - a <= the largest float32"));
  CHECK_THROWS_WITH(nn::init::uniform_(w, -3e38, 3e38, gen),
                    Contains("but found a=-3e+38 and b=3e+38"));
  CHECK_THROWS_WITH(nn::init::uniform_(w, kNaN, 1.0, gen), Contains("expected a <= b"));
  CHECK_THROWS_WITH(nn::init::normal_(w, 0.0, kNaN, gen), Contains("std must be >= 0, got nan"));
  CHECK_THROWS_WITH(nn::init::normal_(w, 1e39, 1.0, gen), Contains("init::normal_: value 1e+39"));
  CHECK_THROWS_WITH(nn::init::kaiming_uniform_(w, kNaN, gen), Contains("init::uniform_"));
  CHECK(w.to_vector<float>() == std::vector<float>(6, 0.0f));  // nothing written
}

TEST_CASE("softmax of a 0-d tensor accepts only dims -1 and 0", "[hostile]") {
  const Tensor s = scalar_tensor(2.0);
  CHECK(nn::functional::softmax(s, 0).item<float>() == 1.0f);
  CHECK(nn::functional::log_softmax(s, -1).item<float>() == 0.0f);
  CHECK_THROWS_WITH(nn::functional::softmax(s, 1),
                    "softmax: dim 1 is out of range for a tensor of 0 dims (expected -1 <= dim "
                    "< 1)");
}

TEST_CASE("softmax of an empty tensor with huge sizes is empty", "[hostile]") {
  const std::int64_t big = std::int64_t{1} << 40;
  Tensor e = zeros({big, big, 0});
  CHECK(nn::functional::softmax(e, 2).sizes() == e.sizes());
  CHECK(nn::functional::log_softmax(e, 0).sizes() == e.sizes());
}
