// Lesson 17: Adam's update, written by hand as d2l 12.10 writes it, against optim::Adam.
//
// SGD moves every weight by lr times its gradient, so one learning rate has to suit weights
// whose gradients differ by orders of magnitude. Adam (Kingma & Ba 2015) keeps two running
// averages per weight, of the gradient g and of its square, and divides one by the root of the
// other:
//   v = beta1 v + (1 - beta1) g            (momentum: the mean of g)
//   s = beta2 s + (1 - beta2) g^2          (the mean of g^2: how large g usually is)
//   v_hat = v / (1 - beta1^t),  s_hat = s / (1 - beta2^t)      (bias correction, t = 1, 2, ...)
//   w = w - lr v_hat / (sqrt(s_hat) + eps)
// v and s start at 0, so early averages are too small; dividing by 1 - beta^t undoes exactly
// that (at t = 1, v_hat = g and s_hat = g^2). The step is then about lr in size whatever the
// scale of g: Adam is invariant to rescaling the loss. PyTorch computes the same thing in
// another order (the bias corrections folded into a step size and the denominator, Note [Adam
// operation order] in optim/src/kernels/adam_kernel.cpp), so by hand and library agree to a few
// float32 roundings, not bit for bit. AdamW (Loshchilov & Hutter 2019) differs in one line:
// weight decay shrinks w directly instead of entering g, where Adam would normalize it away.
//
// Step into: optim/src/adam.cpp (BasicAdam::step: bias corrections and step size in double),
// optim/src/kernels/adam_kernel.cpp (the update, one pass per parameter).
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include <ember/autograd/grad_mode.h>
#include <ember/autograd/gradcheck.h>
#include <ember/autograd/ops.h>
#include <ember/core/generator.h>
#include <ember/core/ops.h>
#include <ember/nn/functional.h>
#include <ember/optim/adam.h>
#include <ember/optim/lr_scheduler.h>

using namespace ember;
namespace F = ember::nn::functional;
using V = std::vector<float>;

namespace {

// d2l 12.10, "Adam" (the PyTorch version):
//   def adam(params, states, hyperparams):
//       beta1, beta2, eps = 0.9, 0.999, 1e-6
//       for p, (v, s) in zip(params, states):
//           with torch.no_grad():
//               v[:] = beta1 * v + (1 - beta1) * p.grad
//               s[:] = beta2 * s + (1 - beta2) * torch.square(p.grad)
//               v_bias_corr = v / (1 - beta1 ** hyperparams['t'])
//               s_bias_corr = s / (1 - beta2 ** hyperparams['t'])
//               p[:] -= hyperparams['lr'] * v_bias_corr / (torch.sqrt(s_bias_corr)
//                                                          + eps)
//           p.grad.data.zero_()
//       hyperparams['t'] += 1
struct AdamState {
  Tensor v, s;  // init_adam_states: zeros of each parameter's shape
};

void adam_by_hand(std::vector<Tensor>& params, std::vector<AdamState>& states, double lr, int& t) {
  const double beta1 = 0.9, beta2 = 0.999, eps = 1e-6;
  for (std::size_t i = 0; i < params.size(); ++i) {
    Tensor& p = params[i];
    AdamState& st = states[i];
    NoGradGuard no_grad;  // the update is not part of the model
    const Tensor g = p.grad();
    st.v = st.v * beta1 + g * (1 - beta1);
    st.s = st.s * beta2 + square(g) * (1 - beta2);
    const Tensor v_bias_corr = st.v / (1 - std::pow(beta1, t));
    const Tensor s_bias_corr = st.s / (1 - std::pow(beta2, t));
    p.add_(v_bias_corr / (sqrt(s_bias_corr) + eps), -lr);  // p[:] -= lr * ...
    p.mutable_grad() = Tensor();                           // p.grad.data.zero_()
  }
  ++t;
}

// A 2x2 regression: y = x w + b, loss = mean squared error.
Tensor inputs() {
  return from_vector(V{1, 2, 3, 4}, {2, 2});
}
Tensor targets() {
  return from_vector(V{1, -1}, {2, 1});
}
Tensor loss_of(const Tensor& w, const Tensor& b) {
  return F::mse_loss(matmul(inputs(), w) + b, targets());
}

}  // namespace

TEST_CASE("Lesson 17: the first Adam step moves each weight by about lr", "[lesson17]") {
  // w = [[0], [0]], b = [0]: predictions 0, errors -1 and 1, loss (1 + 1) / 2 = 1.
  // dL/dw = 2/N x^T (xw + b - y) = [1 3; 2 4] [-1; 1] = [2; 2],  dL/db = -1 + 1 = 0.
  // t = 1: v_hat = g and s_hat = g^2, so the step is lr g / (|g| + eps) = lr sign(g) where
  // g != 0, and 0 where g = 0.
  Tensor w = zeros({2, 1}).requires_grad_(), b = zeros({1}).requires_grad_();
  optim::Adam adam({w, b}, {.lr = 0.1, .eps = 1e-6});
  loss_of(w, b).backward();
  CHECK(w.grad().to_vector<float>() == V{2, 2});
  CHECK(b.grad().to_vector<float>() == V{0});
  adam.step();
  // w = 0 - 0.1 * 2 / (2 + 1e-6) = -0.09999995
  CHECK_THAT(w.to_vector<float>(), Catch::Matchers::Approx(V{-0.1f, -0.1f}).margin(1e-6));
  CHECK(b.to_vector<float>() == V{0});  // 0 / (0 + eps) = 0

  SECTION("scaling the loss by 1000 gives the same step (SGD's would be 1000 times larger)") {
    Tensor w2 = zeros({2, 1}).requires_grad_(), b2 = zeros({1}).requires_grad_();
    optim::Adam adam2({w2, b2}, {.lr = 0.1, .eps = 1e-6});
    (loss_of(w2, b2) * 1000.0).backward();
    adam2.step();
    CHECK_THAT(w2.to_vector<float>(), Catch::Matchers::Approx(w.to_vector<float>()).margin(1e-6));
  }
}

TEST_CASE("Lesson 17: d2l's adam by hand and optim::Adam follow the same path", "[lesson17]") {
  Generator gen_a(17), gen_b(17);  // the same seed: the same starting weights
  std::vector<Tensor> by_hand{randn({2, 1}, gen_a).requires_grad_(),
                              randn({1}, gen_a).requires_grad_()};
  std::vector<Tensor> library{randn({2, 1}, gen_b).requires_grad_(),
                              randn({1}, gen_b).requires_grad_()};
  std::vector<AdamState> states{{zeros({2, 1}), zeros({2, 1})}, {zeros({1}), zeros({1})}};
  optim::Adam adam(library, {.lr = 0.05, .betas = {0.9, 0.999}, .eps = 1e-6});  // d2l's values
  const float loss_before = loss_of(library[0], library[1]).item<float>();
  int t = 1;
  for (int step = 0; step < 20; ++step) {
    loss_of(by_hand[0], by_hand[1]).backward();
    adam_by_hand(by_hand, states, 0.05, t);
    adam.zero_grad();
    loss_of(library[0], library[1]).backward();
    adam.step();
  }
  CHECK(t == 21);
  CHECK(adam.param_groups()[0].state[0].step == 20);
  // Equal up to float32 rounding: the same math in another order.
  for (std::size_t i = 0; i < 2; ++i) {
    CHECK_THAT(library[i].to_vector<float>(),
               Catch::Matchers::Approx(by_hand[i].to_vector<float>()).margin(1e-5));
    // The state too: d2l's v and s are optim::Adam's exp_avg and exp_avg_sq.
    CHECK_THAT(adam.param_groups()[0].state[i].exp_avg.to_vector<float>(),
               Catch::Matchers::Approx(states[i].v.to_vector<float>()).margin(1e-5));
    CHECK_THAT(adam.param_groups()[0].state[i].exp_avg_sq.to_vector<float>(),
               Catch::Matchers::Approx(states[i].s.to_vector<float>()).margin(1e-5));
  }
  // And it learned: the loss fell.
  const float loss_after = loss_of(library[0], library[1]).item<float>();
  INFO("loss " << loss_before << " -> " << loss_after);
  CHECK(loss_after < loss_before);
}

TEST_CASE("Lesson 17: Adam's weight decay is normalized away, AdamW's is not", "[lesson17]") {
  // A weight w = 2 with zero gradient, lr = 0.1, weight_decay = 0.1.
  //   Adam adds wd w to the gradient: g = 0.2, then the first step is lr sign(g): w = 1.9
  //     (the decay, like any gradient, is divided by its own size).
  //   AdamW shrinks w first: w = 2 (1 - lr wd) = 1.98; g = 0 then moves nothing.
  Tensor a = from_vector(V{2}, {1}).requires_grad_(), w = from_vector(V{2}, {1}).requires_grad_();
  optim::Adam adam({a}, {.lr = 0.1, .weight_decay = 0.1});
  optim::AdamW adamw({w}, {.lr = 0.1, .weight_decay = 0.1});
  a.mutable_grad() = zeros({1});
  w.mutable_grad() = zeros({1});
  adam.step();
  adamw.step();
  CHECK(a.item<float>() == Approx(1.9).epsilon(1e-6));
  CHECK(w.item<float>() == Approx(1.98).epsilon(1e-6));
}

TEST_CASE("Lesson 17: a cosine schedule lowers lr from step to step (d2l 12.11)", "[lesson17]") {
  // lr_t = eta_min + (lr_0 - eta_min) (1 + cos(pi t / T)) / 2: at t = T/2 halfway, at T eta_min.
  Tensor p = zeros({1}).requires_grad_();
  optim::Adam adam({p}, {.lr = 0.1});
  optim::CosineAnnealingLR scheduler(adam, /*T_max=*/4, /*eta_min=*/0.01);
  const double pi = 3.14159265358979323846;
  for (int t = 1; t <= 4; ++t) {
    scheduler.step();
    CHECK(adam.param_groups()[0].options.lr() ==
          Approx(0.01 + 0.09 * (1 + std::cos(pi * t / 4)) / 2).epsilon(1e-12));
  }
  CHECK(scheduler.get_last_lr()[0] == Approx(0.01).epsilon(1e-12));
}

TEST_CASE("Lesson 17: gradcheck the loss, and the options Adam refuses", "[lesson17]") {
  Generator gen(17);
  Tensor w = randn({2, 1}, gen).requires_grad_(), b = randn({1}, gen).requires_grad_();
  auto result =
      autograd::gradcheck([](const std::vector<Tensor>& in) { return loss_of(in[0], in[1]); },
                          {w, b}, {.eps = 1e-3, .atol = 1e-3, .rtol = 1e-2});  // float32
  INFO(result.message);
  CHECK(result.ok);
  // beta1 = 1 would never forget (and 1 - beta1^t = 0 divides by zero): PyTorch's message.
  CHECK_THROWS_WITH(optim::Adam({w}, {.betas = {1.0, 0.999}}),
                    "Adam: Invalid beta parameter at index 0: 1.0");
}
