// nn::init: in-place fills without a graph, their bounds and statistics, and fan computation.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

#include <ember/autograd/ops.h>
#include <ember/core/generator.h>
#include <ember/nn/init.h>

using namespace ember;
using Catch::Matchers::Contains;

namespace {

struct Stats {
  double mean = 0, std = 0, lo = 0, hi = 0;
};

Stats stats_of(const Tensor& t) {
  const auto v = t.to_vector<float>();
  Stats s;
  double sum = 0, sum_sq = 0;
  s.lo = *std::min_element(v.begin(), v.end());
  s.hi = *std::max_element(v.begin(), v.end());
  for (float x : v) sum += x;
  s.mean = sum / double(v.size());
  for (float x : v) sum_sq += (x - s.mean) * (x - s.mean);
  s.std = std::sqrt(sum_sq / double(v.size()));
  return s;
}

}  // namespace

TEST_CASE("init: constant fills", "[nn][init]") {
  Tensor t = empty({2, 3});
  nn::init::zeros_(t);
  CHECK(t.to_vector<float>() == std::vector<float>(6, 0.0f));
  nn::init::ones_(t);
  CHECK(t.to_vector<float>() == std::vector<float>(6, 1.0f));
  nn::init::constant_(t, 0.25);
  CHECK(t.to_vector<float>() == std::vector<float>(6, 0.25f));
}

TEST_CASE("init: fills a parameter in place, without a graph, bumping its version", "[nn][init]") {
  Tensor w = zeros({4, 4});
  w.requires_grad_();
  const auto before = w.version();
  const auto* data = w.storage()->data;
  Generator gen(1);
  nn::init::normal_(w, 0, 1, gen);
  CHECK(w.is_leaf());
  CHECK(w.grad_fn() == nullptr);
  CHECK(w.requires_grad());
  CHECK(w.storage()->data == data);
  CHECK(w.version() > before);
}

TEST_CASE("init: fills non-contiguous views element by element", "[nn][init]") {
  Tensor base = zeros({3, 4});
  Tensor col = base.narrow(1, 1, 2);  // [3, 2] view with row stride 4
  nn::init::ones_(col);
  CHECK(base.to_vector<float>() == std::vector<float>{0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0});
  Tensor tr = base.t();
  nn::init::zeros_(tr);
  CHECK(base.to_vector<float>() == std::vector<float>(12, 0.0f));
}

TEST_CASE("init: the same seed gives the same values", "[nn][init]") {
  Generator g1(5), g2(5);
  Tensor a = empty({10, 10}), b = empty({10, 10});
  nn::init::xavier_uniform_(a, 1.0, g1);
  nn::init::xavier_uniform_(b, 1.0, g2);
  CHECK(a.to_vector<float>() == b.to_vector<float>());
}

TEST_CASE("init: distributions have the right bounds and spread", "[nn][init]") {
  Generator gen(123);
  Tensor t = empty({200, 300});  // fan_in 300, fan_out 200, 60000 draws
  SECTION("normal_") {
    nn::init::normal_(t, 2.0, 0.5, gen);
    Stats s = stats_of(t);
    CHECK(s.mean == Approx(2.0).margin(0.01));
    CHECK(s.std == Approx(0.5).epsilon(0.02));
  }
  SECTION("uniform_") {
    nn::init::uniform_(t, -1.0, 3.0, gen);
    Stats s = stats_of(t);
    CHECK(s.lo >= -1.0);
    CHECK(s.hi < 3.0);
    CHECK(s.mean == Approx(1.0).margin(0.02));
    CHECK(s.std == Approx(4.0 / std::sqrt(12.0)).epsilon(0.02));  // (b - a) / sqrt(12)
  }
  SECTION("kaiming_uniform_") {
    // a = 0: gain sqrt(2), bound = sqrt(2) * sqrt(3 / 300) = sqrt(0.02) = 0.1414
    nn::init::kaiming_uniform_(t, 0.0, gen);
    Stats s = stats_of(t);
    CHECK(s.hi <= std::sqrt(0.02));
    CHECK(s.hi > 0.99 * std::sqrt(0.02));
    CHECK(s.lo >= -std::sqrt(0.02));
    CHECK(s.std == Approx(std::sqrt(2.0 / 300)).epsilon(0.02));  // gain / sqrt(fan_in)
    nn::init::kaiming_uniform_(t, 0.0, nn::init::FanMode::FanOut, gen);
    CHECK(stats_of(t).std == Approx(std::sqrt(2.0 / 200)).epsilon(0.02));
  }
  SECTION("kaiming_normal_") {
    nn::init::kaiming_normal_(t, 0.0, nn::init::FanMode::FanIn, gen);
    CHECK(stats_of(t).std == Approx(std::sqrt(2.0 / 300)).epsilon(0.02));
  }
  SECTION("xavier_uniform_") {
    // bound = gain * sqrt(6 / (300 + 200)) = sqrt(0.012) = 0.1095
    nn::init::xavier_uniform_(t, 1.0, gen);
    Stats s = stats_of(t);
    CHECK(s.hi <= std::sqrt(0.012));
    CHECK(s.hi > 0.99 * std::sqrt(0.012));
    CHECK(s.std == Approx(std::sqrt(2.0 / 500)).epsilon(0.02));
  }
  SECTION("xavier_normal_") {
    nn::init::xavier_normal_(t, 2.0, gen);
    CHECK(stats_of(t).std == Approx(2.0 * std::sqrt(2.0 / 500)).epsilon(0.02));
  }
}

TEST_CASE("init: fans and errors", "[nn][init]") {
  // A conv weight [out=8, in=3, 5, 5]: fan_in = 3*25, fan_out = 8*25.
  auto [fan_in, fan_out] = nn::init::calculate_fan_in_and_fan_out(empty({8, 3, 5, 5}));
  CHECK(fan_in == 75);
  CHECK(fan_out == 200);
  Tensor v = empty({5});
  CHECK_THROWS_WITH(nn::init::kaiming_uniform_(v), Contains("fewer than 2 dimensions"));
  CHECK_THROWS_WITH(nn::init::normal_(v, 0, -1), Contains("std must be >= 0"));
  CHECK_THROWS_WITH(nn::init::uniform_(v, 1, 0), Contains("expected a <= b"));
  Tensor i = zeros({2, 2}, kInt64);
  CHECK_THROWS_WITH(nn::init::zeros_(i), Contains("expected a float32 tensor, got int64"));
  Tensor undefined;
  CHECK_THROWS_WITH(nn::init::ones_(undefined), Contains("undefined"));
}
