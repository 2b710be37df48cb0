// Dropout and BatchNorm1d/2d (issue 19): dropout's mask statistics and exact scaling, the
// identities (p = 0, eval) and zeros (p = 1), seeds; batch norm derived by hand on 2x2 data,
// buffers, checkpoints, printing, errors; gradcheck on every backward (batch norm through the
// batch statistics). Golden comparisons with PyTorch: test_batchnorm_golden.cpp.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <optional>
#include <sstream>
#include <vector>

#include <ember/autograd/batch_norm.h>
#include <ember/autograd/dropout.h>
#include <ember/autograd/grad_mode.h>
#include <ember/autograd/node.h>
#include <ember/autograd/ops.h>
#include <ember/core/dropout.h>
#include <ember/core/generator.h>
#include <ember/core/ops.h>
#include <ember/nn/batchnorm.h>
#include <ember/nn/checkpoint.h>
#include <ember/nn/dropout.h>
#include <ember/nn/functional.h>
#include <ember/nn/linear.h>
#include <ember/nn/sequential.h>

#include "support/gradcheck.h"
#include "support/temp_dir.h"

using namespace ember;
namespace F = ember::nn::functional;
using Ts = std::vector<Tensor>;

// --- Dropout ---

TEST_CASE("dropout keeps about 1 - p of the elements, scaled by exactly 1 / (1 - p)",
          "[nn][dropout]") {
  for (double p : {0.1, 0.3, 0.5, 0.9}) {
    CAPTURE(p);
    Generator gen(123);
    const std::int64_t n = 200003;  // 49 mask blocks of 4096 and a ragged tail
    const Tensor x = full({n}, 1.5);
    const std::vector<float> y = F::dropout(x, p, true, gen).to_vector<float>();
    // As PyTorch: kept = x * (1.0f / float(1 - p)), in float32.
    const float kept = 1.5f * (1.0f / static_cast<float>(1.0 - p));
    std::int64_t count = 0;
    for (float v : y) {
      if (v != 0.0f) {
        CHECK(v == kept);
        ++count;
      }
    }
    // Binomial: std of the kept fraction sqrt(p (1 - p) / n) <= 0.0012; allow 5 std.
    const double fraction = static_cast<double>(count) / static_cast<double>(n);
    CHECK(std::abs(fraction - (1.0 - p)) < 5 * std::sqrt(p * (1 - p) / static_cast<double>(n)));
  }
}

TEST_CASE("dropout masks: element i is kept by output i of SplitMix64 from one draw",
          "[nn][dropout]") {
  // SplitMix64 from 0 (Vigna's splitmix64.c with x = 0): its first three outputs.
  CHECK(splitmix64(0) == 0xE220A8397B1DCDAFull);
  CHECK(splitmix64(0, 1) == 0x6E789E6AA1B965F4ull);
  CHECK(splitmix64(0, 2) == 0x06C45D188009454Full);
  // The mask takes one 64-bit draw, the base; element i is kept (scaled by 1 / (1 - p)) when
  // the top 24 bits of output i, times 2^-24, are below 1 - p.
  const double p = 0.3;
  Generator gen(5), same(5);
  const std::uint64_t base = same.random64();
  const std::vector<float> mask = core::dropout_mask({1000}, p, gen).to_vector<float>();
  for (std::size_t i = 0; i < mask.size(); ++i) {
    const bool kept = static_cast<double>(splitmix64(base, i) >> 40) < (1.0 - p) * 0x1.0p24;
    REQUIRE(mask[i] == (kept ? 1.0f / static_cast<float>(1.0 - p) : 0.0f));
  }
}

TEST_CASE("dropout masks: a seed reproduces them, the next call draws a new one", "[nn][dropout]") {
  const Tensor x = ones({3, 5000});
  Generator a(7), b(7);
  const Tensor ya = F::dropout(x, 0.5, true, a), yb = F::dropout(x, 0.5, true, b);
  CHECK(ya.to_vector<float>() == yb.to_vector<float>());
  CHECK(F::dropout(x, 0.5, true, a).to_vector<float>() != ya.to_vector<float>());
  // manual_seed reproduces the module's masks (drawn from the default generator).
  nn::Dropout drop(0.5);
  manual_seed(42);
  const std::vector<float> first = drop(x).to_vector<float>();
  manual_seed(42);
  CHECK(drop(x).to_vector<float>() == first);
  // The mask is the same for a strided input holding the same values.
  Generator c(9), d(9);
  const Tensor base = randn({40, 30}, c);
  const Tensor strided = base.t().contiguous().t();
  REQUIRE_FALSE(strided.is_contiguous());
  Generator e(3), f(3);
  CHECK(F::dropout(base, 0.3, true, e).to_vector<float>() ==
        F::dropout(strided, 0.3, true, f).to_vector<float>());
}

TEST_CASE("dropout: forward and backward on 2x2 data", "[nn][dropout]") {
  Tensor x = tensor({1.0f, -2.0f, 3.0f, 4.0f}).reshape({2, 2}).requires_grad_();
  Generator gen(1);
  const Tensor mask = [] {
    Generator same(1);
    return core::dropout_mask({2, 2}, 0.5, same);
  }();
  const Tensor y = ember::dropout(x, 0.5, true, gen);
  CHECK(y.grad_fn()->name() == "DropoutBackward");
  const std::vector<float> m = mask.to_vector<float>(), xv = x.to_vector<float>();
  for (float v : m) CHECK((v == 0.0f || v == 2.0f));  // 1 / (1 - 0.5) = 2
  std::vector<float> want(4);
  for (std::size_t i = 0; i < 4; ++i) want[i] = xv[i] * m[i];
  CHECK(y.to_vector<float>() == want);
  // dy/dx = diag(m): the gradient is grad_output times the same mask.
  y.backward(tensor({1.0f, 10.0f, 100.0f, 1000.0f}).reshape({2, 2}));
  const std::vector<float> g = x.grad().to_vector<float>();
  for (std::size_t i = 0; i < 4; ++i) CHECK(g[i] == std::pow(10.0f, float(i)) * m[i]);
}

TEST_CASE("dropout: p = 0 and eval mode are the identity, p = 1 gives zeros and zero gradient",
          "[nn][dropout]") {
  Generator gen(5);
  Tensor x = randn({4, 6}, gen).requires_grad_();
  // p = 0 and training = false return x itself, as PyTorch.
  CHECK(F::dropout(x, 0.0, true).impl() == x.impl());
  CHECK(F::dropout(x, 0.7, false).impl() == x.impl());
  CHECK(F::dropout(x, F::DropoutFuncOptions().p(0.7).training(false)).impl() == x.impl());
  manual_seed(3);
  const std::vector<float> by_options =
      F::dropout(x, F::DropoutFuncOptions().p(0.7)).to_vector<float>();
  manual_seed(3);
  CHECK(F::dropout(x, 0.7).to_vector<float>() == by_options);
  nn::Dropout drop(nn::DropoutOptions().p(0.7));
  drop.eval();
  CHECK(drop(x).impl() == x.impl());
  drop.train();
  CHECK(drop(x).impl() != x.impl());
  // The mode is switched through a containing module too.
  nn::Sequential net;
  net.push_back(nn::Dropout(0.5));
  net.eval();
  CHECK(net.forward(x).to_vector<float>() == x.to_vector<float>());
  const Tensor y = F::dropout(x, 1.0, true);
  CHECK(y.to_vector<float>() == std::vector<float>(24, 0.0f));
  y.backward(ones({4, 6}));
  CHECK(x.grad().to_vector<float>() == std::vector<float>(24, 0.0f));
}

TEST_CASE("dropout: p outside [0, 1] and non-float inputs are errors", "[nn][dropout]") {
  const Tensor x = ones({2, 3});
  CHECK_THROWS_WITH(F::dropout(x, 1.5),
                    "dropout: dropout probability has to be between 0 and 1, but got 1.5");
  CHECK_THROWS_WITH(F::dropout(x, -0.1, false),
                    "dropout: dropout probability has to be between 0 and 1, but got -0.1");
  CHECK_THROWS_AS(F::dropout(x, std::nan("")), Error);
  CHECK_THROWS_WITH(nn::Dropout(1.5),
                    "Dropout: dropout probability has to be between 0 and 1, but got 1.5");
  CHECK_THROWS_WITH(F::dropout(ones({2, 3}, kInt64), 0.5),
                    "dropout: expected a float32 input, got int64 of shape [2, 3]");
  std::ostringstream printed;
  printed << nn::Dropout(0.25);
  CHECK(printed.str() == "Dropout(p=0.25)");
}

TEST_CASE("dropout: gradcheck with a fixed mask", "[nn][dropout][gradcheck]") {
  Generator gen(2);
  const Tensor x = randn({3, 7}, gen).requires_grad_();
  for (double p : {0.2, 0.5, 1.0}) {
    CAPTURE(p);
    // A generator made inside fn: every evaluation draws the same mask.
    CHECK_GRADCHECK(
        [p](const Ts& in) {
          Generator g(11);
          return ember::dropout(in[0], p, true, g);
        },
        x);
  }
}

// --- Batch normalization ---

TEST_CASE("BatchNorm1d on 2x2 data: output and buffers by hand", "[nn][batchnorm]") {
  // x = [[1, 2], [3, 6]]: channel 0 holds {1, 3}: mean 2, biased var 1, unbiased 2;
  // channel 1 holds {2, 6}: mean 4, biased var 4, unbiased 8. With eps = 0, xhat = [[-1, -1],
  // [1, 1]] and weight 1, bias 0 give that output.
  nn::BatchNorm1d bn(nn::BatchNorm1dOptions(2).eps(0.0));
  const Tensor x = tensor({1.0f, 2.0f, 3.0f, 6.0f}).reshape({2, 2});
  CHECK(bn(x).to_vector<float>() == std::vector<float>{-1, -1, 1, 1});
  // running_mean = 0.9 * 0 + 0.1 * [2, 4]; running_var = 0.9 * 1 + 0.1 * [2, 8] (unbiased).
  CHECK(bn.running_mean.to_vector<float>() == std::vector<float>{0.2f, 0.4f});
  CHECK(bn.running_var.to_vector<float>() == std::vector<float>{1.1f, 1.7f});
  CHECK(bn.num_batches_tracked.item<std::int64_t>() == 1);
  // Eval: (x - running_mean) / sqrt(running_var): channel 0 of row 0 is (1 - 0.2) / sqrt(1.1).
  bn.eval();
  const std::vector<float> y = bn(x).to_vector<float>();
  CHECK(y[0] == Approx((1 - 0.2) / std::sqrt(1.1)));
  CHECK(y[3] == Approx((6 - 0.4) / std::sqrt(1.7)));
  CHECK(bn.num_batches_tracked.item<std::int64_t>() == 1);  // eval leaves the buffers
  // momentum None: the cumulative average of the batch means, 2 then (2 + 4) / 2 = 3.
  nn::BatchNorm1d avg(nn::BatchNorm1dOptions(1).momentum(std::nullopt));
  avg(tensor({1.0f, 3.0f}).reshape({2, 1}));
  avg(tensor({3.0f, 5.0f}).reshape({2, 1}));
  CHECK(avg.running_mean.item<float>() == 3.0f);
  CHECK(avg.num_batches_tracked.item<std::int64_t>() == 2);
}

TEST_CASE("BatchNorm: parameters, buffers, printing and checkpoints", "[nn][batchnorm]") {
  nn::BatchNorm2d bn(3);
  CHECK(bn.parameters().size() == 2);
  const auto buffers = bn.named_buffers();
  REQUIRE(buffers.size() == 3);
  CHECK(buffers[0].first == "running_mean");
  CHECK(buffers[1].first == "running_var");
  CHECK(buffers[2].first == "num_batches_tracked");
  CHECK(buffers[2].second.dtype() == kInt64);
  CHECK(buffers[2].second.dim() == 0);
  CHECK(bn.weight.to_vector<float>() == std::vector<float>{1, 1, 1});
  CHECK(bn.bias.to_vector<float>() == std::vector<float>{0, 0, 0});
  std::ostringstream printed;
  printed << bn << "\n"
          << nn::BatchNorm1d(nn::BatchNorm1dOptions(4).momentum(std::nullopt).affine(false));
  CHECK(printed.str() ==
        "BatchNorm2d(3, eps=1e-05, momentum=0.1, affine=true, track_running_stats=true)\n"
        "BatchNorm1d(4, eps=1e-05, momentum=None, affine=false, track_running_stats=true)");
  nn::BatchNorm2d bare(nn::BatchNorm2dOptions(3).affine(false).track_running_stats(false));
  CHECK(bare.parameters().empty());
  CHECK(bare.buffers().empty());

  // Train a few steps, save, load into a fresh module: the buffers come back.
  Generator gen(4);
  for (int i = 0; i < 3; ++i) bn(randn({2, 3, 7, 9}, gen) * 2.0 + 1.0);
  test::TempDir dir;
  save(bn, dir.file("bn.ckpt"));
  nn::BatchNorm2d loaded(3);
  load(loaded, dir.file("bn.ckpt"));
  CHECK(loaded.running_mean.to_vector<float>() == bn.running_mean.to_vector<float>());
  CHECK(loaded.running_var.to_vector<float>() == bn.running_var.to_vector<float>());
  CHECK(loaded.num_batches_tracked.item<std::int64_t>() == 3);
  bn.eval();
  loaded.eval();
  const Tensor x = randn({2, 3, 7, 9}, gen);
  CHECK(loaded(x).to_vector<float>() == bn(x).to_vector<float>());
  // reset_running_stats puts the buffers back.
  bn.reset_running_stats();
  CHECK(bn.running_mean.to_vector<float>() == std::vector<float>{0, 0, 0});
  CHECK(bn.running_var.to_vector<float>() == std::vector<float>{1, 1, 1});
  CHECK(bn.num_batches_tracked.item<std::int64_t>() == 0);
}

TEST_CASE("BatchNorm: errors name the op and the shapes", "[nn][batchnorm]") {
  nn::BatchNorm1d bn1(3);
  // PyTorch's (libtorch's) words; the batch is not counted.
  CHECK_THROWS_WITH(bn1(ones({1, 3})),
                    "Expected more than 1 value per channel when training, got input size [1, 3]");
  CHECK_THROWS_WITH(bn1(ones({1, 3, 1})),
                    "Expected more than 1 value per channel when training, "
                    "got input size [1, 3, 1]");
  CHECK(bn1.num_batches_tracked.item<std::int64_t>() == 0);
  bn1.eval();
  CHECK(bn1(ones({1, 3})).sizes() == Shape{1, 3});  // one value is fine in eval
  CHECK_THROWS_WITH(bn1(ones({2, 3, 4, 5})),
                    "BatchNorm1d: expected 2D or 3D input [N, C] or [N, C, L] (got 4D input "
                    "[2, 3, 4, 5])");
  CHECK_THROWS_WITH(bn1(ones({2, 4})),
                    "BatchNorm1d: input [2, 4] has 4 channels (dim 1), expected num_features = 3");
  nn::BatchNorm2d bn2(3);
  CHECK_THROWS_WITH(bn2(ones({2, 3, 4})),
                    "BatchNorm2d: expected 4D input [N, C, H, W] (got 3D input [2, 3, 4])");
  CHECK_THROWS_WITH(F::batch_norm(ones({2, 3}), Tensor(), Tensor()),
                    "batch_norm: running_mean and running_var must be defined in evaluation mode");
  CHECK_THROWS_WITH(
      F::batch_norm(ones({2, 3}), zeros({4}), ones({4}), F::BatchNormFuncOptions().training(true)),
      "batch_norm: running_mean should contain 3 elements not 4 (input [2, 3], "
      "running_mean [4])");
  CHECK_THROWS_WITH(
      F::batch_norm(ones({5}), Tensor(), Tensor(), F::BatchNormFuncOptions().training(true)),
      "batch_norm: expected an input [N, C, *] of at least 2 dims, got [5]");
  CHECK_THROWS_AS(F::batch_norm(ones({2, 3}), zeros({3}), ones({3}),
                                F::BatchNormFuncOptions().momentum(std::nullopt)),
                  Error);
  CHECK_THROWS_AS(F::batch_norm(ones({2, 3}), zeros({3}), ones({3}),
                                F::BatchNormFuncOptions().weight(ones({2}))),
                  Error);
}

TEST_CASE("batch_norm: functional form updates the running statistics in place",
          "[nn][batchnorm]") {
  Tensor rm = zeros({2}), rv = ones({2});
  const std::uint64_t version = rm.version();
  const Tensor x = tensor({1.0f, 2.0f, 3.0f, 6.0f}).reshape({2, 2});
  F::batch_norm(x, rm, rv, F::BatchNormFuncOptions().training(true).momentum(0.5));
  CHECK(rm.to_vector<float>() == std::vector<float>{1.0f, 2.0f});  // 0.5 * [2, 4]
  CHECK(rv.to_vector<float>() == std::vector<float>{1.5f, 4.5f});  // 0.5 * 1 + 0.5 * [2, 8]
  CHECK(rm.version() > version);
  // Eval leaves them.
  F::batch_norm(x, rm, rv);
  CHECK(rm.to_vector<float>() == std::vector<float>{1.0f, 2.0f});
}

TEST_CASE("batch_norm: gradcheck through the batch statistics and in eval",
          "[nn][batchnorm][gradcheck]") {
  Generator gen(8);
  const Tensor w = (randn({3}, gen) * 0.5 + 1.0).detach().requires_grad_();
  const Tensor b = randn({3}, gen).requires_grad_();
  const Tensor rm = randn({3}, gen) * 0.5, rv = rand({3}, gen) + 0.5;
  for (const Shape& shape : {Shape{4, 3}, Shape{3, 3, 5}, Shape{2, 3, 3, 4}}) {
    CAPTURE(shape);
    const Tensor x = (randn(shape, gen) * 1.5 + 0.5).detach().requires_grad_();
    // Training, no running statistics: y depends on x through the batch mean and variance.
    CHECK_GRADCHECK(
        [](const Ts& in) {
          return ember::batch_norm(in[0], in[1], in[2], Tensor(), Tensor(), true, 0.1, 1e-5);
        },
        x, w, b);
    // Affine off: the input's gradient alone.
    CHECK_GRADCHECK(
        [](const Ts& in) {
          return ember::batch_norm(in[0], Tensor(), Tensor(), Tensor(), Tensor(), true, 0.1, 1e-5);
        },
        x);
    // Evaluation: the running statistics are constants.
    CHECK_GRADCHECK(
        [&](const Ts& in) {
          return ember::batch_norm(in[0], in[1], in[2], rm, rv, false, 0.1, 1e-5);
        },
        x, w, b);
  }
  // A non-contiguous input: a transposed view.
  const Tensor xt = randn({3, 5}, gen).requires_grad_();
  CHECK_GRADCHECK(
      [](const Ts& in) {
        return ember::batch_norm(in[0].t(), in[1], in[2], Tensor(), Tensor(), true, 0.1, 1e-5);
      },
      xt, w, b);
}

TEST_CASE("BatchNorm and Dropout in libtorch's holder form, saved with the net",
          "[nn][batchnorm]") {
  struct Net : nn::Module {
    nn::Linear fc{nullptr};
    nn::BatchNorm1d bn{nullptr};
    nn::Dropout drop{nullptr};
    Net() {
      fc = register_module("fc", nn::Linear(4, 3));
      bn = register_module("bn", nn::BatchNorm1d(3));
      drop = register_module("drop", nn::Dropout(0.5));
    }
    Tensor forward(const Tensor& x) override { return drop(bn(fc(x))); }
  };
  Net net;
  CHECK(net.parameters().size() == 4);  // fc.weight, fc.bias, bn.weight, bn.bias
  const auto buffers = net.named_buffers();
  REQUIRE(buffers.size() == 3);
  CHECK(buffers[0].first == "bn.running_mean");
  CHECK(buffers[2].first == "bn.num_batches_tracked");
  Generator gen(6);
  net.forward(randn({8, 4}, gen)).sum().backward();
  CHECK(net.bn.num_batches_tracked.item<std::int64_t>() == 1);  // the registered module's
  test::TempDir dir;
  save(net, dir.file("net.ckpt"));
  Net other;
  load(other, dir.file("net.ckpt"));
  CHECK(other.bn.running_var.to_vector<float>() == net.bn.running_var.to_vector<float>());
  CHECK(other.bn.num_batches_tracked.item<std::int64_t>() == 1);
  net.eval();
  other.eval();
  const Tensor x = randn({2, 4}, gen);
  CHECK(other.forward(x).to_vector<float>() == net.forward(x).to_vector<float>());
}
