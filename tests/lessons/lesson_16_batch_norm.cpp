// Lesson 16: batch normalization, and its backward derived by hand.
//
// Batch normalization (d2l 8.5) normalizes each channel c over the M = N * H * W values the
// batch holds for it, then scales and shifts by learned gamma and beta:
//   mu = (1/M) sum_j x_j,   var = (1/M) sum_j (x_j - mu)^2  (biased),   s = 1 / sqrt(var + eps)
//   xhat_i = (x_i - mu) s,  y_i = gamma xhat_i + beta
// Backward, with g_i = dL/dy_i. gamma and beta are easy: dL/dbeta = sum g, dL/dgamma = sum g xhat.
// For x, mu and var depend on every x_j: dmu/dx_i = 1/M, dvar/dx_i = 2 (x_i - mu) / M,
// ds/dvar = -s^3 / 2. With dL/dxhat_i = gamma g_i, summing over the three paths to x_i:
//   dL/dx_i = gamma s (g_i - mean_j(g_j) - xhat_i mean_j(g_j xhat_j))
// So the gradient sums to 0 and is orthogonal to xhat: shifting or scaling a channel's input
// does not change its output, and the gradient knows it. In evaluation mode the running
// statistics replace mu and var; they are constants, and dL/dx_i = gamma s g_i.
// We write d2l's batch_norm from scratch, derive one gradient on 4 numbers, write the backward
// above with tensor ops, and check all of it against ember::batch_norm and nn::BatchNorm2d.
//
// Step into: autograd/src/ops/batch_norm.cpp (the op, its derivation and backward lambda),
// core/src/ops/batch_norm.cpp (batch_norm_forward, batch_norm_backward; Note [Batch statistics
// order] in core/include/ember/core/batch_norm.h), nn/src/batchnorm.cpp (buffers, momentum).
#include <catch2/catch.hpp>

#include <cmath>
#include <tuple>
#include <vector>

#include "support/gradcheck.h"

#include <ember/autograd/batch_norm.h>
#include <ember/autograd/grad_mode.h>
#include <ember/autograd/ops.h>
#include <ember/core/generator.h>
#include <ember/core/ops.h>
#include <ember/nn/batchnorm.h>

using namespace ember;
using Ts = std::vector<Tensor>;

namespace {

// Mean over every dim but 1 (the channels), kept as size 1 so it broadcasts against X.
Tensor channel_mean(const Tensor& X) {
  Tensor m = X.mean(0, true);
  for (std::int64_t d = 2; d < X.dim(); ++d) m = m.mean(d, true);
  return m;
}

// d2l 8.5:
//   def batch_norm(X, gamma, beta, moving_mean, moving_var, eps, momentum):
//       if not torch.is_grad_enabled():
//           X_hat = (X - moving_mean) / torch.sqrt(moving_var + eps)
//       else:
//           assert len(X.shape) in (2, 4)
//           if len(X.shape) == 2:
//               mean = X.mean(dim=0)
//               var = ((X - mean) ** 2).mean(dim=0)
//           else:
//               mean = X.mean(dim=(0, 2, 3), keepdim=True)
//               var = ((X - mean) ** 2).mean(dim=(0, 2, 3), keepdim=True)
//           X_hat = (X - mean) / torch.sqrt(var + eps)
//           moving_mean = (1.0 - momentum) * moving_mean + momentum * mean
//           moving_var = (1.0 - momentum) * moving_var + momentum * var
//       Y = gamma * X_hat + beta  # Scale and shift
//       return Y, moving_mean.data, moving_var.data
// Here the mode is an argument, and gamma, beta and the moving statistics are shaped to
// broadcast over X ([1, C] or [1, C, 1, 1]).
std::tuple<Tensor, Tensor, Tensor> batch_norm(const Tensor& X, const Tensor& gamma,
                                              const Tensor& beta, const Tensor& moving_mean,
                                              const Tensor& moving_var, double eps, double momentum,
                                              bool training) {
  Tensor X_hat, new_mean = moving_mean, new_var = moving_var;
  if (!training) {
    X_hat = (X - moving_mean) / (moving_var + eps).sqrt();
  } else {
    REQUIRE((X.dim() == 2 || X.dim() == 4));
    const Tensor mean = channel_mean(X);
    const Tensor var = channel_mean((X - mean).square());
    X_hat = (X - mean) / (var + eps).sqrt();
    new_mean = (1.0 - momentum) * moving_mean + momentum * mean.detach();
    new_var = (1.0 - momentum) * moving_var + momentum * var.detach();
  }
  return {gamma * X_hat + beta, new_mean, new_var};
}

// The backward derived above, with tensor ops: dL/dx, dL/dgamma, dL/dbeta from g = dL/dy.
std::tuple<Tensor, Tensor, Tensor> batch_norm_backward_by_hand(const Tensor& X, const Tensor& gamma,
                                                               const Tensor& g, double eps) {
  const Tensor mu = channel_mean(X);
  const Tensor s = 1.0 / (channel_mean((X - mu).square()) + eps).sqrt();
  const Tensor x_hat = (X - mu) * s;
  const Tensor grad_x = gamma * s * (g - channel_mean(g) - x_hat * channel_mean(g * x_hat));
  const double M = static_cast<double>(X.numel() / X.size(1));
  return {grad_x, channel_mean(g * x_hat) * M, channel_mean(g) * M};  // sums = means * M
}

}  // namespace

TEST_CASE("Lesson 16: d2l's batch_norm from scratch matches ember::batch_norm",
          "[lessons][lesson16]") {
  Generator gen(0);
  const Tensor X = randn({4, 3, 5, 5}, gen) * 2.0 + 1.0;  // LeNet-like: [N, C, H, W]
  const Tensor gamma = rand({3}, gen) + 0.5, beta = randn({3}, gen);
  const auto as_channels = [](const Tensor& t) {
    return t.reshape({1, 3, 1, 1});
  };
  SECTION("training: normalized with the batch's statistics") {
    const auto [Y, mm, mv] = batch_norm(X, as_channels(gamma), as_channels(beta),
                                        zeros({1, 3, 1, 1}), ones({1, 3, 1, 1}), 1e-5, 0.1, true);
    const Tensor y = ember::batch_norm(X, gamma, beta, Tensor(), Tensor(), true, 0.1, 1e-5);
    CHECK((Y - y).abs().max().item<float>() < 1e-5f);
    // Every channel of the normalized output has mean 0 and (biased) variance 1.
    const Tensor x_hat = (Y - as_channels(beta)) / as_channels(gamma);
    CHECK(channel_mean(x_hat).abs().max().item<float>() < 1e-5f);
    CHECK((channel_mean(x_hat.square()) - 1.0).abs().max().item<float>() < 1e-4f);
  }
  SECTION("prediction: normalized with the moving statistics") {
    const Tensor rm = randn({3}, gen), rv = rand({3}, gen) + 0.5;
    const auto [Y, mm, mv] = batch_norm(X, as_channels(gamma), as_channels(beta), as_channels(rm),
                                        as_channels(rv), 1e-5, 0.1, false);
    const Tensor y = ember::batch_norm(X, gamma, beta, rm, rv, false, 0.1, 1e-5);
    CHECK((Y - y).abs().max().item<float>() < 1e-5f);
  }
  SECTION("the moving variance: d2l keeps the biased one, PyTorch and ember the unbiased") {
    // One channel holding {1, 3}: mean 2, biased variance 1, unbiased (divided by M - 1) 2.
    const Tensor x = tensor({1.0f, 3.0f}).reshape({2, 1});
    const auto [Y, mm, mv] =
        batch_norm(x, ones({1}), zeros({1}), zeros({1}), ones({1}), 1e-5, 0.1, true);
    CHECK(mv.item<float>() == Approx(0.9 * 1 + 0.1 * 1));  // d2l: 1.0
    nn::BatchNorm1d bn(1);
    bn(x);
    CHECK(bn.running_mean.item<float>() == Approx(0.1 * 2));
    CHECK(bn.running_var.item<float>() == Approx(0.9 * 1 + 0.1 * 2));  // PyTorch: 1.1
  }
}

TEST_CASE("Lesson 16: the backward by hand on four numbers", "[lessons][lesson16]") {
  // One channel, x = [1, 3, 5, 7], gamma = 1, beta = 0, eps = 0, and L = y_0 (g = [1, 0, 0, 0]):
  //   mu = 4, x - mu = [-3, -1, 1, 3], var = (9 + 1 + 1 + 9) / 4 = 5, s = 1/sqrt(5),
  //   xhat = [-3, -1, 1, 3] / sqrt(5)
  //   mean(g) = 1/4, mean(g xhat) = -3 / (4 sqrt(5))
  //   dL/dx = s (g - 1/4 + xhat 3 / (4 sqrt(5))) = s (g - 1/4 + 3 (x - mu) / 20)
  //         = [0.3, -0.4, -0.1, 0.2] / sqrt(5)
  // It sums to 0 (0.3 - 0.4 - 0.1 + 0.2) and is orthogonal to x - mu (-0.9 + 0.4 - 0.1 + 0.6).
  Tensor x = tensor({1.0f, 3.0f, 5.0f, 7.0f}).reshape({4, 1}).requires_grad_();
  Tensor gamma = ones({1}).requires_grad_(), beta = zeros({1}).requires_grad_();
  const Tensor y = ember::batch_norm(x, gamma, beta, Tensor(), Tensor(), true, 0.1, 0.0);
  SECTION("forward") {
    const double r5 = std::sqrt(5.0);
    const std::vector<float> yv = y.to_vector<float>();
    CHECK(yv[0] == Approx(-3 / r5));
    CHECK(yv[1] == Approx(-1 / r5));
    CHECK(yv[2] == Approx(1 / r5));
    CHECK(yv[3] == Approx(3 / r5));
  }
  SECTION("backward") {
    y.backward(tensor({1.0f, 0.0f, 0.0f, 0.0f}).reshape({4, 1}));
    const double r5 = std::sqrt(5.0);
    const std::vector<float> gx = x.grad().to_vector<float>();
    CHECK(gx[0] == Approx(0.3 / r5));
    CHECK(gx[1] == Approx(-0.4 / r5));
    CHECK(gx[2] == Approx(-0.1 / r5));
    CHECK(gx[3] == Approx(0.2 / r5));
    CHECK(gamma.grad().item<float>() == Approx(-3 / r5));  // sum g xhat = xhat_0
    CHECK(beta.grad().item<float>() == 1.0f);              // sum g
  }
  SECTION("two values per channel: the output is always -1 and 1, and the gradient 0") {
    // x = [a, b], a < b: xhat = [-1, 1] whatever a and b are (eps = 0), so nothing in x can
    // change y: dL/dx = 0. (With one value per channel, var = 0: training refuses it.)
    Tensor two = tensor({2.0f, 10.0f}).reshape({2, 1}).requires_grad_();
    const Tensor y2 = ember::batch_norm(two, Tensor(), Tensor(), Tensor(), Tensor(), true, 0.1, 0);
    CHECK(y2.to_vector<float>() == std::vector<float>{-1.0f, 1.0f});
    y2.backward(tensor({3.0f, -7.0f}).reshape({2, 1}));
    CHECK(two.grad().abs().max().item<float>() < 1e-6f);
    CHECK_THROWS_WITH(
        ember::batch_norm(ones({1, 3}), Tensor(), Tensor(), Tensor(), Tensor(), true, 0.1, 1e-5),
        "Expected more than 1 value per channel when training, got input size [1, 3]");
  }
}

TEST_CASE("Lesson 16: the hand-written backward against ember::batch_norm and autograd",
          "[lessons][lesson16]") {
  Generator gen(2);
  const Tensor X0 = randn({3, 2, 4, 5}, gen) * 1.5 + 0.5;
  const Tensor gamma0 = rand({2}, gen) + 0.5, beta0 = randn({2}, gen);
  const Tensor g = randn({3, 2, 4, 5}, gen);
  const auto [grad_x, grad_gamma, grad_beta] =
      batch_norm_backward_by_hand(X0, gamma0.reshape({1, 2, 1, 1}), g, 1e-5);
  SECTION("ember::batch_norm's backward") {
    Tensor X = X0.detach().requires_grad_(), gamma = gamma0.detach().requires_grad_(),
           beta = beta0.detach().requires_grad_();
    ember::batch_norm(X, gamma, beta, Tensor(), Tensor(), true, 0.1, 1e-5).backward(g);
    CHECK((X.grad() - grad_x).abs().max().item<float>() < 1e-5f);
    CHECK((gamma.grad() - grad_gamma.reshape({2})).abs().max().item<float>() < 1e-4f);
    CHECK((beta.grad() - grad_beta.reshape({2})).abs().max().item<float>() < 1e-4f);
  }
  SECTION("autograd through d2l's composition of mean, square, sqrt and divide") {
    Tensor X = X0.detach().requires_grad_();
    const auto [Y, mm, mv] =
        batch_norm(X, gamma0.reshape({1, 2, 1, 1}), beta0.reshape({1, 2, 1, 1}),
                   zeros({1, 2, 1, 1}), ones({1, 2, 1, 1}), 1e-5, 0.1, true);
    Y.backward(g);
    CHECK((X.grad() - grad_x).abs().max().item<float>() < 1e-5f);
  }
  SECTION("gradcheck: through the batch statistics, and in eval mode") {
    const Tensor X = X0.detach().requires_grad_(), gamma = gamma0.detach().requires_grad_(),
                 beta = beta0.detach().requires_grad_();
    CHECK_GRADCHECK(
        [](const Ts& in) {
          return ember::batch_norm(in[0], in[1], in[2], Tensor(), Tensor(), true, 0.1, 1e-5);
        },
        X, gamma, beta);
    const Tensor rm = randn({2}, gen), rv = rand({2}, gen) + 0.5;
    CHECK_GRADCHECK(
        [&](const Ts& in) {
          return ember::batch_norm(in[0], in[1], in[2], rm, rv, false, 0.1, 1e-5);
        },
        X, gamma, beta);
  }
}

TEST_CASE("Lesson 16: nn::BatchNorm2d keeps running statistics for evaluation",
          "[lessons][lesson16]") {
  // d2l 8.5's concise LeNet uses nn.LazyBatchNorm2d(); ember's BatchNorm2d names its channels:
  //   nn.Conv2d(1, 6, kernel_size=5), nn.BatchNorm2d(6), nn.Sigmoid(), ...
  Generator gen(4);
  nn::BatchNorm2d bn(nn::BatchNorm2dOptions(6).momentum(std::nullopt));
  // momentum None: running_mean is the plain average of the batch means seen so far.
  Tensor sum_of_means = zeros({6});
  for (int step = 1; step <= 3; ++step) {
    const Tensor X = randn({2, 6, 7, 9}, gen) + static_cast<double>(step);
    bn(X);
    sum_of_means = sum_of_means + channel_mean(X).reshape({6});
    CHECK(bn.num_batches_tracked.item<std::int64_t>() == step);
    CHECK((bn.running_mean - sum_of_means / step).abs().max().item<float>() < 1e-5f);
  }
  // Eval: a single image is fine now, and normalized with the running statistics.
  bn.eval();
  const Tensor one = randn({1, 6, 7, 9}, gen);
  const Tensor want = (one - bn.running_mean.reshape({1, 6, 1, 1})) /
                      (bn.running_var.reshape({1, 6, 1, 1}) + 1e-5).sqrt();
  CHECK((bn(one) - want).abs().max().item<float>() < 1e-5f);
}
