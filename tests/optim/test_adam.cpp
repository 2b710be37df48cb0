// optim::Adam and optim::AdamW: PyTorch's 5-step trajectories for every option (golden adam_*,
// adamw_*), the two spellings of the options, parameter groups, the checks with PyTorch's
// messages, and the update kernel against its scalar reference.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <ember/autograd/ops.h>
#include <ember/core/generator.h>
#include <ember/core/ops.h>
#include <ember/nn/linear.h>
#include <ember/optim/adam.h>
#include <ember/optim/sgd.h>

#include "../../optim/src/kernels/adam_kernel.h"
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

// Runs the trajectory of one golden case (op adam or adamw) with optimizer type Opt and checks
// the parameter and the state after every step against both files.
template <class Opt>
void check_trajectory(const std::string& name) {
  const test::GoldenCase f32 = test::load_golden(name + ".f32.txt");
  const test::GoldenCase f64 = test::load_golden(name + ".f64.txt");
  INFO(name);
  Tensor p = f32.at("param_init").as_float();
  p.requires_grad_();
  Opt opt({p}, {.lr = f32.number("lr"),
                .betas = {f32.number("beta1"), f32.number("beta2")},
                .eps = f32.number("eps"),
                .weight_decay = f32.number("weight_decay"),
                .amsgrad = f32.number("amsgrad") != 0,
                .maximize = f32.number("maximize") != 0});
  const int steps = static_cast<int>(f32.number("steps"));
  REQUIRE(steps >= 1);
  for (int k = 1; k <= steps; ++k) {
    const std::string step = "_step" + std::to_string(k);
    INFO("step " << k);
    p.mutable_grad() = f32.at("grad" + step).as_float();
    opt.step();
    const optim::AdamParamState& st = opt.param_groups()[0].state[0];
    CHECK(st.step == k);
    test::check_golden(p, f32, f64, "param" + step);
    test::check_golden(st.exp_avg, f32, f64, "exp_avg" + step);
    test::check_golden(st.exp_avg_sq, f32, f64, "exp_avg_sq" + step);
    if (f32.has("max_exp_avg_sq" + step)) {
      test::check_golden(st.max_exp_avg_sq, f32, f64, "max_exp_avg_sq" + step);
    } else {
      CHECK(!st.max_exp_avg_sq.defined());
    }
  }
  CHECK(p.is_leaf());
  CHECK(p.grad_fn() == nullptr);
}

}  // namespace

TEST_CASE("Adam: trajectories match PyTorch (golden adam_*)", "[optim][adam]") {
  const auto cases = test::golden_cases("adam");
  REQUIRE(cases.size() >= 11);
  for (const std::string& name : cases) check_trajectory<optim::Adam>(name);
}

TEST_CASE("AdamW: trajectories match PyTorch (golden adamw_*)", "[optim][adam]") {
  const auto cases = test::golden_cases("adamw");
  REQUIRE(cases.size() >= 12);
  for (const std::string& name : cases) check_trajectory<optim::AdamW>(name);
}

TEST_CASE("Adam: one step by hand", "[optim][adam]") {
  // p = [1, -2], g = [0.5, -0.25], lr = 0.1, betas (0.9, 0.999), eps 1e-8. On the first step
  // m = 0.1 g and v = 0.001 g^2, and the bias corrections 1 - 0.9 and 1 - 0.999 undo those
  // factors: m_hat = g, v_hat = g^2, so p moves by lr * g / (|g| + eps) = 0.1 sign(g) (up to eps).
  Tensor p = param({1, -2});
  SECTION("Adam: p - 0.1 sign(g)") {
    optim::Adam adam({p}, {.lr = 0.1});
    set_grad(p, {0.5f, -0.25f});
    adam.step();
    const auto v = p.to_vector<float>();
    CHECK(v[0] == Approx(0.9).epsilon(1e-6));
    CHECK(v[1] == Approx(-1.9).epsilon(1e-6));
    CHECK(adam.param_groups()[0].state[0].exp_avg.to_vector<float>() ==
          std::vector<float>{0.1f * 0.5f, 0.1f * -0.25f});
  }
  SECTION("maximize: p + 0.1 sign(g)") {
    optim::Adam adam({p}, {.lr = 0.1, .maximize = true});
    set_grad(p, {0.5f, -0.25f});
    adam.step();
    CHECK(p.to_vector<float>()[0] == Approx(1.1).epsilon(1e-6));
  }
  SECTION("AdamW: p (1 - lr wd) - 0.1 sign(g)") {
    // (1 - 0.1 * 0.5) * 1 - 0.1 = 0.85; the decay does not enter m or v.
    optim::AdamW adamw({p}, {.lr = 0.1, .weight_decay = 0.5});
    set_grad(p, {0.5f, -0.25f});
    adamw.step();
    CHECK(p.to_vector<float>()[0] == Approx(0.85).epsilon(1e-6));
    CHECK(adamw.param_groups()[0].state[0].exp_avg.to_vector<float>()[0] == 0.1f * 0.5f);
  }
  SECTION("Adam's weight decay is an L2 gradient: m sees g + wd p") {
    optim::Adam adam({p}, {.lr = 0.1, .weight_decay = 0.5});
    set_grad(p, {0.5f, -0.25f});
    adam.step();  // d = 0.5 + 0.5 * 1 = 1: m = 0.1
    CHECK(adam.param_groups()[0].state[0].exp_avg.to_vector<float>()[0] == 0.1f * 1.0f);
  }
  SECTION("parameters without a grad are skipped, their step does not advance") {
    Tensor q = param({3});
    optim::Adam adam({p, q}, {.lr = 0.1});
    set_grad(p, {0.5f, 0.25f});
    adam.step();
    adam.step();
    CHECK(q.to_vector<float>() == std::vector<float>{3});
    CHECK(adam.param_groups()[0].state[0].step == 2);
    CHECK(adam.param_groups()[0].state[1].step == 0);
    CHECK(!adam.param_groups()[0].state[1].exp_avg.defined());
  }
}

TEST_CASE("AdamOptions: libtorch's builder and designated initializers are the same options",
          "[optim][adam]") {
  // libtorch: torch::optim::AdamOptions(1e-3).betas({0.9, 0.999}).eps(1e-8).weight_decay(0)
  const optim::AdamOptions built = optim::AdamOptions(1e-2)
                                       .betas({0.8, 0.99})
                                       .eps(1e-6)
                                       .weight_decay(0.1)
                                       .amsgrad(true)
                                       .maximize(false);
  const optim::AdamOptions designated = optim::AdamOptions::Fields{
      .lr = 1e-2, .betas = {0.8, 0.99}, .eps = 1e-6, .weight_decay = 0.1, .amsgrad = true};
  CHECK(built == designated);
  CHECK(built.lr() == 1e-2);
  CHECK(std::get<0>(built.betas()) == 0.8);
  CHECK(std::get<1>(built.betas()) == 0.99);
  CHECK(built.eps() == 1e-6);
  CHECK(built.weight_decay() == 0.1);
  CHECK(built.amsgrad());
  CHECK(!built.maximize());
  // PyTorch's defaults: Adam lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 0; AdamW's
  // weight_decay 1e-2.
  CHECK(optim::AdamOptions() == optim::AdamOptions::Fields{});
  CHECK(optim::AdamOptions().lr() == 1e-3);
  CHECK(optim::AdamOptions().betas() == std::tuple<double, double>{0.9, 0.999});
  CHECK(optim::AdamOptions().eps() == 1e-8);
  CHECK(optim::AdamOptions().weight_decay() == 0.0);
  CHECK(optim::AdamWOptions().weight_decay() == 1e-2);
  CHECK(optim::AdamWOptions::Fields{}.weight_decay == 1e-2);

  SECTION("the three constructor spellings give bitwise identical trajectories") {
    auto run = [](int spelling) {
      Generator gen(5);
      nn::Linear fc(3, 2, true, gen);
      const Tensor x = randn({4, 3}, gen);
      std::vector<Tensor> params = fc.parameters();
      optim::AdamW opt = spelling == 0
                             ? optim::AdamW(params, optim::AdamWOptions(0.05).amsgrad(true))
                         : spelling == 1 ? optim::AdamW(params, {.lr = 0.05, .amsgrad = true})
                                         : optim::AdamW(params, 0.05);
      if (spelling == 2) opt.param_groups()[0].options.amsgrad(true);
      for (int i = 0; i < 4; ++i) {
        opt.zero_grad();
        (fc(x) * fc(x)).sum().backward();
        opt.step();
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
    Generator gen(5);
    CHECK(nn::Linear(3, 2, true, gen).weight.to_vector<float>() !=
          std::vector<float>(builder.begin(), builder.begin() + 6));
  }
}

TEST_CASE("Adam: parameter groups with their own options, lr set between steps", "[optim][adam]") {
  Tensor a = param({1}), b = param({1});
  optim::Adam adam({optim::AdamParamGroupOptions{{a}, 0.5},
                    optim::AdamParamGroupOptions{.params = {b}, .betas = std::tuple{0.5, 0.5}}},
                   {.lr = 0.1});
  REQUIRE(adam.param_groups().size() == 2);
  CHECK(adam.param_groups()[0].options.lr() == 0.5);
  CHECK(adam.param_groups()[1].options.lr() == 0.1);
  CHECK(adam.param_groups()[1].options.betas() == std::tuple<double, double>{0.5, 0.5});
  CHECK(adam.num_param_groups() == 2);
  CHECK(adam.get_lr(1) == 0.1);
  set_grad(a, {1});
  set_grad(b, {1});
  adam.step();  // first steps move by lr (m_hat = g, v_hat = g^2)
  CHECK(a.to_vector<float>()[0] == Approx(0.5).epsilon(1e-6));
  CHECK(b.to_vector<float>()[0] == Approx(0.9).epsilon(1e-6));
  adam.set_lr(1, 0.2);  // what a scheduler does: param_groups()[1].options.lr(0.2)
  CHECK(adam.param_groups()[1].options.lr() == 0.2);
  adam.step();
  CHECK(b.to_vector<float>()[0] == Approx(0.7).epsilon(1e-6));
  CHECK_THROWS_WITH(adam.set_lr(2, 0.1), "Adam::set_lr: no parameter group 2 (there are 2)");
  Tensor c = param({2});
  adam.add_param_group({.params = {c}, .amsgrad = true});
  CHECK(adam.param_groups()[2].options.amsgrad());
  CHECK(adam.param_groups()[2].options.lr() == 0.1);
}

TEST_CASE("Adam: invalid options are refused with PyTorch's messages", "[optim][adam]") {
  Tensor p = param({1});
  CHECK_THROWS_WITH(optim::Adam({p}, {.lr = -1}), "Adam: Invalid learning rate: -1.0");
  CHECK_THROWS_WITH(optim::Adam({p}, {.lr = 1e-3, .betas = {1.0, 0.999}}),
                    "Adam: Invalid beta parameter at index 0: 1.0");
  CHECK_THROWS_WITH(optim::Adam({p}, {.lr = 1e-3, .betas = {0.9, -0.5}}),
                    "Adam: Invalid beta parameter at index 1: -0.5");
  CHECK_THROWS_WITH(optim::Adam({p}, {.lr = 1e-3, .eps = -1}), "Adam: Invalid epsilon value: -1.0");
  CHECK_THROWS_WITH(optim::Adam({p}, {.lr = 1e-3, .weight_decay = -1}),
                    "Adam: Invalid weight_decay value: -1.0");
  CHECK_THROWS_WITH(optim::AdamW({p}, optim::AdamWOptions(-0.5)),
                    "AdamW: Invalid learning rate: -0.5");
  CHECK_THROWS_WITH(optim::AdamW({p}, optim::AdamWOptions().betas({0.9, 1.0})),
                    "AdamW: Invalid beta parameter at index 1: 1.0");
  CHECK_THROWS_WITH(optim::Adam({p}, {.lr = std::nan("")}), "Adam: Invalid learning rate: nan");
  CHECK_THROWS_WITH(optim::Adam(std::vector<Tensor>{}, {.lr = 0.1}),
                    Contains("empty parameter list"));
  CHECK_THROWS_WITH(optim::Adam({p, p}, {.lr = 0.1}), Contains("appears more than once"));
  CHECK_THROWS_WITH(optim::Adam({p * 2.0}, {.lr = 0.1}), Contains("can't optimize a non-leaf"));
  CHECK_THROWS_WITH(optim::Adam({zeros({2}, kInt64)}, {.lr = 0.1}), Contains("must be float32"));
  CHECK_THROWS_WITH(optim::Adam({optim::AdamParamGroupOptions{{param({1})}, -1.0}}, {.lr = 0.1}),
                    "Adam: Invalid learning rate: -1.0");
  // Options changed to invalid values are caught at step(), before anything moves.
  optim::Adam adam({p}, {.lr = 0.1});
  set_grad(p, {1});
  adam.param_groups()[0].options.betas({0.9, 1.5});
  CHECK_THROWS_WITH(adam.step(), "Adam::step: Invalid beta parameter at index 1: 1.5");
  CHECK(p.to_vector<float>() == std::vector<float>{1});
  CHECK(adam.param_groups()[0].state[0].step == 0);
}

TEST_CASE("Adam: zero_grad sets grads to none by default, or to zeros", "[optim][adam]") {
  nn::Linear fc(3, 2);
  optim::Adam adam(fc.parameters(), {.lr = 0.1});
  fc(ones({4, 3})).sum().backward();
  adam.zero_grad(false);
  CHECK(fc.weight.grad().to_vector<float>() == std::vector<float>(6, 0.0f));
  adam.zero_grad();
  CHECK(!fc.weight.grad().defined());
}

TEST_CASE("Adam: a small regression trains", "[optim][adam]") {
  // y = 2 x1 - 3 x2 + 1 from 64 samples: 500 full-batch Adam steps fit it.
  Generator gen(8);
  Tensor x = randn({64, 2}, gen);
  Tensor y = matmul(x, from_vector(std::vector<float>{2, -3}, {2, 1})) + 1.0;
  nn::Linear fc(2, 1, true, gen);
  optim::Adam adam(fc.parameters(), {.lr = 0.05});
  for (int step = 0; step < 500; ++step) {
    adam.zero_grad();
    Tensor diff = fc(x) - y;
    (diff * diff).mean().backward();
    adam.step();
  }
  const auto w = fc.weight.to_vector<float>();
  CHECK(w[0] == Approx(2.0).margin(1e-3));
  CHECK(w[1] == Approx(-3.0).margin(1e-3));
  CHECK(fc.bias.item<float>() == Approx(1.0).margin(1e-3));
}

TEST_CASE("Adam: the vectorized kernel matches the scalar reference at every tail size",
          "[optim][adam]") {
  Generator gen(23);
  for (std::int64_t n : {0, 1, 7, 8, 9, 17, 1023}) {
    for (int variant = 0; variant < 6; ++variant) {
      optim::kernels::AdamScalars s;
      s.beta1 = variant == 3 ? 0.5f : 0.9f;
      s.one_minus_beta1 = variant == 3 ? 0.5f : 0.1f;
      s.beta2 = variant == 3 ? 0.75f : 0.999f;
      s.one_minus_beta2 = variant == 3 ? 0.25f : 0.001f;
      s.weight_decay = variant == 1 ? 0.01f : 0.0f;
      s.decay_factor = variant == 2 ? 0.995f : 1.0f;
      s.bias_correction2_sqrt = 0.1f;
      s.eps = variant == 5 ? 0.5f : 1e-8f;
      s.neg_step_size = -0.05f;
      s.amsgrad = variant == 4 || variant == 5;
      s.maximize = variant == 5;
      INFO("n=" << n << " variant=" << variant);
      const auto p0 = randn({n}, gen).to_vector<float>();
      const auto g = randn({n}, gen).to_vector<float>();
      const auto m0 = randn({n}, gen).to_vector<float>();
      auto v0 = rand({n}, gen).to_vector<float>(), x0 = rand({n}, gen).to_vector<float>();
      if (n > 3) {
        v0[0] = std::numeric_limits<float>::quiet_NaN();  // max propagates nan
        x0[1] = std::numeric_limits<float>::quiet_NaN();
        v0[2] = 0.0f;  // sqrt(0): denom = eps
      }
      auto p_fast = p0, p_ref = p0, m_fast = m0, m_ref = m0, v_fast = v0, v_ref = v0;
      auto x_fast = x0, x_ref = x0;
      optim::kernels::adam_update(p_fast.data(), g.data(), m_fast.data(), v_fast.data(),
                                  x_fast.data(), n, s);
      optim::kernels::adam_update_reference(p_ref.data(), g.data(), m_ref.data(), v_ref.data(),
                                            x_ref.data(), n, s);
      // Equal up to whether the compiler fused a multiply-add (one rounding of a term).
      auto same = [](float a, float b) {
        return (std::isnan(a) && std::isnan(b)) || a == Approx(b).epsilon(1e-6).margin(1e-6);
      };
      for (std::int64_t i = 0; i < n; ++i) {
        CHECK(same(p_fast[i], p_ref[i]));
        CHECK(same(m_fast[i], m_ref[i]));
        CHECK(same(v_fast[i], v_ref[i]));
        CHECK(same(x_fast[i], x_ref[i]));
      }
      if (n > 3 && s.amsgrad) {
        CHECK(std::isnan(x_fast[0]));
        CHECK(std::isnan(x_fast[1]));
      }
    }
  }
}

TEST_CASE("Optimizer: SGD, Adam and AdamW behind one interface", "[optim][adam]") {
  // A training loop (or a scheduler) that takes any optimizer.
  Tensor a = param({1}), b = param({1}), c = param({1});
  std::vector<std::unique_ptr<optim::Optimizer>> optimizers;
  optimizers.push_back(std::make_unique<optim::SGD>(std::vector<Tensor>{a}, 0.1));
  optimizers.push_back(std::make_unique<optim::Adam>(std::vector<Tensor>{b}, 0.1));
  optimizers.push_back(std::make_unique<optim::AdamW>(std::vector<Tensor>{c}, 0.1));
  for (auto& opt : optimizers) {
    CHECK(opt->num_param_groups() == 1);
    CHECK(opt->get_lr(0) == 0.1);
    opt->set_lr(0, 0.5);
    CHECK(opt->get_lr(0) == 0.5);
    CHECK_THROWS_WITH(opt->get_lr(1), Contains("no parameter group 1 (there are 1)"));
  }
  for (Tensor* p : {&a, &b, &c}) set_grad(*p, {1});
  for (auto& opt : optimizers) opt->step();
  // SGD: 1 - 0.5; Adam: 1 - 0.5 sign(1); AdamW: 1 (1 - 0.5 * 0.01) - 0.5.
  CHECK(a.item<float>() == 0.5f);
  CHECK(b.item<float>() == Approx(0.5).epsilon(1e-6));
  CHECK(c.item<float>() == Approx(0.495).epsilon(1e-6));
  for (auto& opt : optimizers) opt->zero_grad();
  CHECK(!a.grad().defined());
  CHECK(!c.grad().defined());
}
