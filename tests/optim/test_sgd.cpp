// optim::SGD: PyTorch's multi-step trajectories (golden sgd_*), momentum buffers, parameter
// groups, zero_grad, option checks, and the update kernel against its scalar reference.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include <ember/autograd/ops.h>
#include <ember/core/generator.h>
#include <ember/core/parallel.h>
#include <ember/nn/linear.h>
#include <ember/optim/sgd.h>

#include "../../optim/src/kernels/sgd_kernel.h"
#include "support/golden.h"

using namespace ember;
using Catch::Matchers::Contains;

namespace {

Tensor param(const std::vector<float>& values) {
  Tensor p = from_vector(values, {static_cast<std::int64_t>(values.size())});
  p.requires_grad_();
  return p;
}

void set_grad(Tensor& p, const std::vector<float>& g) {
  p.mutable_grad() = from_vector(g, {static_cast<std::int64_t>(g.size())});
}

}  // namespace

TEST_CASE("SGD: trajectories match PyTorch (golden sgd_*)", "[optim][sgd]") {
  const auto cases = test::golden_cases("sgd");
  REQUIRE(cases.size() >= 4);
  for (const std::string& name : cases) {
    for (const char* suffix : {".f32.txt", ".f64.txt"}) {
      const test::GoldenCase c = test::load_golden(name + suffix);
      INFO(name + suffix);
      Tensor p = c.at("param_init").as_float();
      p.requires_grad_();
      optim::SGD sgd({p}, optim::SGDOptions(c.number("lr"))
                              .momentum(c.number("momentum"))
                              .dampening(c.number("dampening"))
                              .weight_decay(c.number("weight_decay"))
                              .nesterov(c.number("nesterov") != 0));
      const int steps = static_cast<int>(c.number("steps"));
      REQUIRE(steps >= 1);
      for (int k = 1; k <= steps; ++k) {
        const std::string step = "step" + std::to_string(k);
        INFO(step);
        p.mutable_grad() = c.at("grad_" + step).as_float();
        sgd.step();
        CHECK(test::compare(p, c.at("param_" + step), c.rtol(), c.atol()) == "");
        const Tensor& buf = sgd.param_groups()[0].momentum_buffers[0];
        if (c.has("momentum_buffer_" + step)) {
          REQUIRE(buf.defined());
          CHECK(test::compare(buf, c.at("momentum_buffer_" + step), c.rtol(), c.atol()) == "");
        } else {
          CHECK(!buf.defined());
        }
      }
      CHECK(p.is_leaf());
      CHECK(p.grad_fn() == nullptr);
    }
  }
}

TEST_CASE("SGD: one step by hand, each option", "[optim][sgd]") {
  // p = [1, -2], g = [0.5, 0.25], lr = 0.1
  Tensor p = param({1, -2});
  SECTION("plain: p - lr g = [0.95, -2.025]") {
    optim::SGD sgd({p}, {.lr = 0.1});
    set_grad(p, {0.5f, 0.25f});
    sgd.step();
    CHECK(p.to_vector<float>() == std::vector<float>{1.0f - 0.1f * 0.5f, -2.0f - 0.1f * 0.25f});
  }
  SECTION("maximize: p + lr g") {
    optim::SGD sgd({p}, {.lr = 0.1, .maximize = true});
    set_grad(p, {0.5f, 0.25f});
    sgd.step();
    CHECK(p.to_vector<float>() == std::vector<float>{1.0f + 0.1f * 0.5f, -2.0f + 0.1f * 0.25f});
  }
  SECTION("momentum: buf starts as the first gradient, then buf = m buf + (1 - damp) g") {
    optim::SGD sgd({p}, {.lr = 1.0, .momentum = 0.5, .dampening = 0.5});
    set_grad(p, {1, 2});
    sgd.step();  // buf = [1, 2] (no dampening on the first step); p = [0, -4]
    CHECK(sgd.param_groups()[0].momentum_buffers[0].to_vector<float>() == std::vector<float>{1, 2});
    CHECK(p.to_vector<float>() == std::vector<float>{0, -4});
    set_grad(p, {1, 2});
    sgd.step();  // buf = 0.5 [1, 2] + 0.5 [1, 2] = [1, 2]; p = [-1, -6]
    CHECK(p.to_vector<float>() == std::vector<float>{-1, -6});
  }
  SECTION("parameters without a grad are skipped") {
    Tensor q = param({3});
    optim::SGD sgd({p, q}, {.lr = 0.1, .momentum = 0.9});
    set_grad(p, {0.5f, 0.25f});
    sgd.step();
    CHECK(q.to_vector<float>() == std::vector<float>{3});
    CHECK(!sgd.param_groups()[0].momentum_buffers[1].defined());
  }
}

TEST_CASE("SGD: parameter groups with their own lr", "[optim][sgd]") {
  Tensor a = param({1}), b = param({1});
  optim::SGD sgd({optim::ParamGroup{{a}, 0.5}, optim::ParamGroup{{b}}}, {.lr = 0.1});
  REQUIRE(sgd.param_groups().size() == 2);
  CHECK(sgd.param_groups()[0].options.lr() == 0.5);
  CHECK(sgd.param_groups()[1].options.lr() == 0.1);
  set_grad(a, {1});
  set_grad(b, {1});
  sgd.step();
  CHECK(a.to_vector<float>() == std::vector<float>{0.5f});
  CHECK(b.to_vector<float>() == std::vector<float>{0.9f});
  // A schedule changes lr between steps.
  sgd.param_groups()[1].options.lr(0.2);
  sgd.step();
  CHECK(b.to_vector<float>() == std::vector<float>{0.9f - 0.2f});
  // More parameters later.
  Tensor c = param({2});
  sgd.add_param_group({{c}, std::nullopt, 0.9});
  CHECK(sgd.param_groups()[2].options.momentum() == 0.9);
  CHECK(sgd.param_groups()[2].options.lr() == 0.1);
}

TEST_CASE("SGDOptions: libtorch's builder and designated initializers are the same options",
          "[optim][sgd]") {
  // libtorch: torch::optim::SGDOptions(0.1).momentum(0.9).nesterov(true)
  const optim::SGDOptions built =
      optim::SGDOptions(0.1).momentum(0.9).weight_decay(1e-2).nesterov(true);
  const optim::SGDOptions designated =
      optim::SGDOptions::Fields{.lr = 0.1, .momentum = 0.9, .weight_decay = 1e-2, .nesterov = true};
  CHECK(built == designated);
  // libtorch's getters.
  CHECK(built.lr() == 0.1);
  CHECK(built.momentum() == 0.9);
  CHECK(built.dampening() == 0.0);
  CHECK(built.weight_decay() == 1e-2);
  CHECK(built.nesterov());
  CHECK(!built.maximize());
  // Defaults: lr = 1e-3 (PyTorch 2.2's), everything else off, in both spellings.
  CHECK(optim::SGDOptions() == optim::SGDOptions::Fields{});
  CHECK(optim::SGDOptions().lr() == 1e-3);
  CHECK(optim::SGDOptions(0.5).maximize(true).dampening(0.25) ==
        optim::SGDOptions::Fields{.lr = 0.5, .dampening = 0.25, .maximize = true});

  SECTION("the three constructor spellings give bitwise identical trajectories") {
    // Same model, same data; SGD built from the builder, from a designated list, and from a
    // bare lr (libtorch's `SGD(net->parameters(), 0.1)`, here with the other options set after).
    auto run = [](int spelling) {
      Generator gen(5);
      nn::Linear fc(3, 2, true, gen);
      const Tensor x = randn({4, 3}, gen);
      std::vector<Tensor> params = fc.parameters();
      optim::SGD sgd =
          spelling == 0   ? optim::SGD(params, optim::SGDOptions(0.1).momentum(0.9).nesterov(true))
          : spelling == 1 ? optim::SGD(params, {.lr = 0.1, .momentum = 0.9, .nesterov = true})
                          : optim::SGD(params, 0.1);
      if (spelling == 2) sgd.param_groups()[0].options.momentum(0.9).nesterov(true);
      for (int i = 0; i < 4; ++i) {
        sgd.zero_grad();
        (fc(x) * fc(x)).sum().backward();
        sgd.step();
      }
      auto w = fc.weight.to_vector<float>();
      const auto b = fc.bias.to_vector<float>();
      w.insert(w.end(), b.begin(), b.end());
      return w;
    };
    const auto builder = run(0), designated_run = run(1), lr_only = run(2);
    REQUIRE(builder.size() == 8);
    CHECK(std::memcmp(builder.data(), designated_run.data(), builder.size() * 4) == 0);
    CHECK(std::memcmp(builder.data(), lr_only.data(), builder.size() * 4) == 0);
    // And the options moved the weights (the comparison is not of three untouched copies).
    Generator gen(5);
    CHECK(nn::Linear(3, 2, true, gen).weight.to_vector<float>() !=
          std::vector<float>(builder.begin(), builder.begin() + 6));
  }
  SECTION("a schedule reads and sets lr through the getters and setters") {
    Tensor p = param({1});
    optim::SGD sgd({p}, optim::SGDOptions(1.0));
    auto& options = sgd.param_groups()[0].options;
    set_grad(p, {1});
    sgd.step();  // p = 1 - 1 * 1 = 0
    options.lr(options.lr() * 0.5);
    sgd.step();  // p = 0 - 0.5 * 1 = -0.5
    CHECK(p.to_vector<float>() == std::vector<float>{-0.5f});
    CHECK(sgd.defaults().lr() == 1.0);  // the defaults are not the group's options
  }
  SECTION("builder options are checked as designated ones") {
    Tensor p = param({1});
    CHECK_THROWS_WITH(optim::SGD({p}, optim::SGDOptions(-0.1)),
                      "SGD: invalid learning rate lr=-0.1 (must be finite and >= 0)");
    CHECK_THROWS_WITH(optim::SGD({p}, optim::SGDOptions(0.1).nesterov(true)),
                      "SGD: nesterov momentum requires a momentum > 0 and zero dampening (got "
                      "momentum=0, dampening=0)");
  }
}

TEST_CASE("SGD: zero_grad sets grads to none by default, or to zeros", "[optim][sgd]") {
  nn::Linear fc(3, 2);
  optim::SGD sgd(fc.parameters(), {.lr = 0.1});
  fc(ones({4, 3})).sum().backward();
  REQUIRE(fc.weight.grad().defined());
  sgd.zero_grad(false);
  CHECK(fc.weight.grad().to_vector<float>() == std::vector<float>(6, 0.0f));
  sgd.zero_grad();
  CHECK(!fc.weight.grad().defined());
  CHECK(!fc.bias.grad().defined());
}

TEST_CASE("SGD: a small regression trains", "[optim][sgd]") {
  // y = 2 x1 - 3 x2 + 1 from 64 samples: 200 steps of full-batch SGD with momentum fit it.
  Generator gen(8);
  Tensor x = randn({64, 2}, gen);
  Tensor w_true = from_vector(std::vector<float>{2, -3}, {1, 2});
  Tensor y = matmul(x, w_true.t()) + 1.0;
  nn::Linear fc(2, 1, true, gen);
  optim::SGD sgd(fc.parameters(), {.lr = 0.05, .momentum = 0.9});
  for (int step = 0; step < 200; ++step) {
    sgd.zero_grad();
    Tensor diff = fc(x) - y;
    (diff * diff).mean().backward();
    sgd.step();
  }
  const auto w = fc.weight.to_vector<float>();
  CHECK(w[0] == Approx(2.0).margin(1e-3));
  CHECK(w[1] == Approx(-3.0).margin(1e-3));
  CHECK(fc.bias.item<float>() == Approx(1.0).margin(1e-3));
}

TEST_CASE("SGD: invalid options and parameters are rejected at construction", "[optim][sgd]") {
  Tensor p = param({1});
  CHECK_THROWS_WITH(optim::SGD({p}, {.lr = -0.1}), Contains("invalid learning rate lr=-0.1"));
  CHECK_THROWS_WITH(optim::SGD({p}, {.lr = NAN}), Contains("invalid learning rate"));
  CHECK_THROWS_WITH(optim::SGD({p}, {.lr = 0.1, .momentum = -1}),
                    Contains("invalid momentum value -1"));
  CHECK_THROWS_WITH(optim::SGD({p}, {.lr = 0.1, .weight_decay = -1}),
                    Contains("invalid weight_decay value -1"));
  CHECK_THROWS_WITH(optim::SGD({p}, {.lr = 0.1, .nesterov = true}),
                    Contains("nesterov momentum requires a momentum > 0 and zero dampening"));
  CHECK_THROWS_WITH(
      optim::SGD({p}, {.lr = 0.1, .momentum = 0.9, .dampening = 0.1, .nesterov = true}),
      Contains("zero dampening"));
  CHECK_THROWS_WITH(optim::SGD(std::vector<Tensor>{}, {.lr = 0.1}),
                    Contains("empty parameter list"));
  CHECK_THROWS_WITH(optim::SGD({p, p}, {.lr = 0.1}), Contains("appears more than once"));
  CHECK_THROWS_WITH(optim::SGD({optim::ParamGroup{{p}}, optim::ParamGroup{{p}}}, {.lr = 0.1}),
                    Contains("appears more than once"));
  CHECK_THROWS_WITH(optim::SGD({optim::ParamGroup{{param({1})}, -1.0}}, {.lr = 0.1}),
                    Contains("invalid learning rate lr=-1"));
  Tensor computed = p * 2.0;
  CHECK_THROWS_WITH(optim::SGD({computed}, {.lr = 0.1}), Contains("can't optimize a non-leaf"));
  CHECK_THROWS_WITH(optim::SGD({zeros({2}, kInt64)}, {.lr = 0.1}), Contains("must be float32"));
  // Options changed to invalid values are caught at step(), before anything is updated.
  optim::SGD sgd({p}, {.lr = 0.1});
  set_grad(p, {1});
  sgd.param_groups()[0].options.lr(-1);
  CHECK_THROWS_WITH(sgd.step(), Contains("SGD::step: invalid learning rate"));
  CHECK(p.to_vector<float>() == std::vector<float>{1});
  sgd.param_groups()[0].options.lr(0.1);
  // A grad of another shape is refused when assigned (as PyTorch's `p.grad = g`), so step()
  // never sees one.
  CHECK_THROWS_WITH(
      p.mutable_grad() = zeros({3}),
      "grad: assigned grad has data of a different size: [3] for a tensor of shape [1]");
}

TEST_CASE("SGD: the vectorized kernel matches the scalar reference at every tail size",
          "[optim][sgd]") {
  Generator gen(21);
  for (std::int64_t n : {0, 1, 7, 8, 9, 17, 1023}) {
    for (int variant = 0; variant < 6; ++variant) {
      optim::kernels::SgdScalars s;
      s.lr = 0.05f;
      s.momentum = variant >= 2 ? 0.9f : 0.0f;
      s.one_minus_dampening = variant == 3 ? 0.7f : 1.0f;
      s.weight_decay = variant % 2 == 1 ? 0.01f : 0.0f;
      s.nesterov = variant == 4;
      s.maximize = variant == 5;
      s.first_step = variant == 2;
      INFO("n=" << n << " variant=" << variant);
      const auto p0 = randn({n}, gen).to_vector<float>();
      const auto g = randn({n}, gen).to_vector<float>();
      const auto b0 = randn({n}, gen).to_vector<float>();
      auto p_fast = p0, p_ref = p0, b_fast = b0, b_ref = b0;
      optim::kernels::sgd_update(p_fast.data(), g.data(), b_fast.data(), n, s);
      optim::kernels::sgd_update_reference(p_ref.data(), g.data(), b_ref.data(), n, s);
      // Equal up to whether the compiler fused a multiply-add: one rounding of the terms, which
      // cancellation can make large relative to the result, so the margin is absolute.
      for (std::int64_t i = 0; i < n; ++i) {
        CHECK(p_fast[i] == Approx(p_ref[i]).epsilon(1e-6).margin(1e-6));
        CHECK(b_fast[i] == Approx(b_ref[i]).epsilon(1e-6).margin(1e-6));
      }
    }
  }
}

TEST_CASE("SGD: results are bitwise identical at 1 and 2 threads", "[optim][sgd]") {
  Generator gen(22);
  const std::int64_t n = (std::int64_t{1} << 17) + 13;  // two pieces of at least 2^11 batches
  const auto p0 = randn({n}, gen).to_vector<float>();
  const auto g = randn({n}, gen).to_vector<float>();
  optim::kernels::SgdScalars s;
  s.lr = 0.1f;
  s.momentum = 0.9f;
  s.weight_decay = 1e-4f;
  s.nesterov = true;
  s.first_step = true;
  const int threads = get_num_threads();
  std::vector<std::vector<float>> results;
  for (int t : {1, 2}) {
    set_num_threads(t);
    auto p = p0;
    std::vector<float> buf(static_cast<std::size_t>(n));
    optim::kernels::sgd_update(p.data(), g.data(), buf.data(), n, s);
    s.first_step = false;
    optim::kernels::sgd_update(p.data(), g.data(), buf.data(), n, s);
    s.first_step = true;
    results.push_back(p);
  }
  set_num_threads(threads);
  CHECK(std::memcmp(results[0].data(), results[1].data(), results[0].size() * 4) == 0);
}
