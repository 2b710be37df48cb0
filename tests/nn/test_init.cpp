// nn::init: in-place fills without a graph, their bounds and statistics, and fan computation.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <ember/autograd/ops.h>
#include <ember/core/generator.h>
#include <ember/datasets/dataloader.h>
#include <ember/nn/conv.h>
#include <ember/nn/init.h>
#include <ember/nn/linear.h>

#include "support/golden.h"

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

std::vector<double> as_doubles(const Tensor& t) {
  std::vector<double> out;
  if (t.dtype() == kInt64) {
    for (std::int64_t v : t.to_vector<std::int64_t>()) out.push_back(static_cast<double>(v));
  } else {
    for (float v : t.to_vector<float>()) out.push_back(v);
  }
  return out;
}

std::vector<double> linear_draws(const nn::Linear& m) {
  return as_doubles(cat({m.weight.detach().flatten(), m.bias.detach()}));
}

// The permutation's first (or last) 8 numbers.
std::vector<double> permutation_part(std::uint64_t seed, bool head) {
  Generator gen(seed);
  const std::vector<std::int64_t> order = datasets::random_permutation(60000, gen);
  std::vector<double> out;
  for (std::size_t i = 0; i < 8; ++i) out.push_back(double(order[head ? i : order.size() - 8 + i]));
  return out;
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

TEST_CASE("init and the generator draw PyTorch's numbers from the same seed", "[nn][init]") {
  // Note [PyTorch's draws]: tests/data/golden/generator_draws.txt holds what PyTorch draws right
  // after torch.manual_seed(seed) (regenerate.py's DRAWS); ember must give the same numbers,
  // bit for bit, from Generator(seed).
  using Draw = std::function<std::vector<double>(Generator&, std::uint64_t)>;
  const std::map<std::string, Draw> draws = {
      {"rand",
       [](Generator& g, std::uint64_t) {
         return as_doubles(rand({7}, g));
       }},
      {"uniform",
       [](Generator& g, std::uint64_t) {
         Tensor t = empty({6});
         t.uniform_(-0.3, 0.7, &g);
         return as_doubles(t);
       }},
      {"randn",
       [](Generator& g, std::uint64_t) {
         return as_doubles(randn({5}, g));
       }},
      {"randint",
       [](Generator& g, std::uint64_t) {
         return as_doubles(randint(-3, 10, {8}, g));
       }},
      {"randint_wide",
       [](Generator& g, std::uint64_t) {
         return as_doubles(randint(-(std::int64_t{1} << 40), std::int64_t{1} << 40, {4}, g));
       }},
      {"randperm_head",
       [](Generator&, std::uint64_t s) {
         return permutation_part(s, true);
       }},
      {"randperm_tail",
       [](Generator&, std::uint64_t s) {
         return permutation_part(s, false);
       }},
      {"linear",
       [](Generator& g, std::uint64_t) {
         return linear_draws(nn::Linear(5, 3, true, g));
       }},
      {"conv2d",
       [](Generator& g, std::uint64_t) {
         nn::Conv2d m(2, 3, 3, g);
         return as_doubles(cat({m.weight.detach().flatten(), m.bias.detach()}));
       }},
      {"xavier_uniform",
       [](Generator& g, std::uint64_t) {
         Tensor t = empty({4, 6});
         return as_doubles(nn::init::xavier_uniform_(t, 1.0, g));
       }},
      {"kaiming_uniform",
       [](Generator& g, std::uint64_t) {
         Tensor t = empty({4, 6});
         return as_doubles(nn::init::kaiming_uniform_(t, 0.0, g));
       }},
      {"lenet",
       [](Generator& g, std::uint64_t) {
         // The layers in order (each draws its default init), then xavier_uniform_ on each weight.
         nn::Conv2d c1(nn::Conv2dOptions(1, 6, 5).padding(2), g), c2(6, 16, 5, g);
         nn::Linear l1(400, 120, true, g), l2(120, 84, true, g), l3(84, 10, true, g);
         for (Tensor w : {c1.weight, c2.weight, l1.weight, l2.weight, l3.weight})
           nn::init::xavier_uniform_(w, 1.0, g);
         return test::head_and_tail({c1.weight, c1.bias, c2.weight, c2.bias, l1.weight, l1.bias,
                                     l2.weight, l2.bias, l3.weight, l3.bias});
       }},
  };
  const test::GeneratorDraws want = test::load_generator_draws();
  for (const auto& [name, draw] : draws) {
    REQUIRE(want.count(name) == 1);
    CHECK(want.at(name).size() == 3);  // seeds 0, 1 and 2^32 + 5
    for (const auto& [seed, values] : want.at(name)) {
      INFO(name << ", seed " << seed);
      Generator gen(seed);
      CHECK(draw(gen, seed) == values);
    }
  }
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
