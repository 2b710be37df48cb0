// Conv2d and 2-d pooling beyond the golden files: a case derived by hand, gradcheck on every
// backward, bitwise results at 1, 2, 3 and 8 threads, the modules (init, printing, LeNet's
// shapes) and the errors. PyTorch's values are in test_conv_golden.cpp.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>
#include <sstream>
#include <vector>

#include <ember/autograd/node.h>
#include <ember/core/conv.h>
#include <ember/core/generator.h>
#include <ember/core/ops.h>
#include <ember/core/parallel.h>
#include <ember/nn/conv.h>
#include <ember/nn/functional.h>
#include <ember/nn/pooling.h>
#include <ember/nn/sequential.h>

#include "support/gradcheck.h"

using namespace ember;
namespace F = ember::nn::functional;
using Catch::Matchers::Contains;

namespace {

Tensor leaf(const Shape& shape, Generator& gen) {
  Tensor t = randn(shape, gen);
  t.requires_grad_();
  return t;
}

// Distinct values 0.1 apart in a random order: every pooling window has one clear maximum, so
// max pooling is differentiable there (gradcheck's steps of 1e-3 never change the winner).
Tensor distinct(const Shape& shape, unsigned seed) {
  std::vector<float> v(static_cast<std::size_t>(numel_of(shape)));
  std::iota(v.begin(), v.end(), 0.0f);
  std::shuffle(v.begin(), v.end(), std::mt19937(seed));
  for (float& x : v) x *= 0.1f;
  Tensor t = from_vector(v, shape);
  t.requires_grad_();
  return t;
}

}  // namespace

TEST_CASE("conv2d: a 3x3 image and a 2x2 kernel by hand", "[nn][conv]") {
  // x = 1 2 3    w = 1 0    y[i, j] = x[i, j] - x[i+1, j+1] + b:   1-5+10 = 6   2-6+10 = 6
  //     4 5 6        0 -1   (cross-correlation: no kernel flip)    4-8+10 = 6   5-9+10 = 6
  //     7 8 9    b = 10
  Tensor x = from_vector(std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 1, 3, 3});
  Tensor w = from_vector(std::vector<float>{1, 0, 0, -1}, {1, 1, 2, 2});
  Tensor b = from_vector(std::vector<float>{10}, {1});
  x.requires_grad_();
  w.requires_grad_();
  b.requires_grad_();
  const Tensor y = conv2d(x, w, b);
  SECTION("forward") {
    CHECK(y.sizes() == Shape{1, 1, 2, 2});
    CHECK(y.to_vector<float>() == std::vector<float>{6, 6, 6, 6});
    CHECK(y.grad_fn()->name() == "ConvolutionBackward");
  }
  SECTION("backward") {
    // With g = ones: dL/dx[i, j] = sum of w over the outputs that read x[i, j]: +1 where x is a
    // top-left of a window, -1 where it is a bottom-right; dL/dw[kh, kw] = sum of the 2x2 block
    // of x starting at (kh, kw): 1+2+4+5 = 12, 2+3+5+6 = 16, 4+5+7+8 = 24, 5+6+8+9 = 28;
    // dL/db = 4 outputs.
    y.backward(ones({1, 1, 2, 2}));
    CHECK(x.grad().to_vector<float>() == std::vector<float>{1, 1, 0, 1, 0, -1, 0, -1, -1});
    CHECK(w.grad().to_vector<float>() == std::vector<float>{12, 16, 24, 28});
    CHECK(b.grad().to_vector<float>() == std::vector<float>{4});
  }
}

TEST_CASE("conv2d: gradcheck of input, weight and bias", "[nn][conv][gradcheck]") {
  Generator gen(7);
  struct Config {
    const char* what;
    Shape x, w;
    ExpandingArray<2> stride, dilation;
    Conv2dPadding padding;
    std::int64_t groups;
  };
  const Config configs[] = {
      {"3x3 pad 1", {2, 2, 5, 6}, {3, 2, 3, 3}, 1, 1, 1, 1},
      {"1x1", {2, 3, 3, 4}, {2, 3, 1, 1}, 1, 1, 0, 1},
      {"stride 2, pairs", {1, 2, 7, 6}, {2, 2, 3, 2}, {2, 1}, 1, {1, 0}, 1},
      {"dilation 2", {1, 2, 7, 7}, {2, 2, 3, 3}, 1, 2, 2, 1},
      {"groups 2", {2, 4, 5, 5}, {4, 2, 3, 3}, 1, 1, 1, 2},
      {"depthwise", {2, 3, 5, 5}, {3, 1, 3, 3}, 2, 1, 1, 3},
      {"same, even kernel", {1, 2, 5, 6}, {2, 2, 2, 4}, 1, 1, "same", 1},
      {"valid", {1, 2, 5, 6}, {2, 2, 3, 3}, 1, 1, "valid", 1},
  };
  for (const Config& c : configs) {
    INFO(c.what);
    const Tensor x = leaf(c.x, gen), w = leaf(c.w, gen), b = leaf({c.w[0]}, gen);
    // float32 central differences: gradcheck's default eps 1e-3, atol 1e-3, rtol 1e-2.
    CHECK_GRADCHECK(
        [&](const std::vector<Tensor>& t) {
          return conv2d(t[0], t[1], t[2], c.stride, c.padding, c.dilation, c.groups);
        },
        x, w, b);
  }
  SECTION("unbatched input, no bias") {
    const Tensor x = leaf({2, 4, 5}, gen), w = leaf({3, 2, 3, 3}, gen);
    CHECK_GRADCHECK([](const std::vector<Tensor>& t) { return conv2d(t[0], t[1], {}, 1, 1); }, x,
                    w);
  }
}

TEST_CASE("pooling: gradcheck (max pooling away from ties)", "[nn][pool][gradcheck]") {
  Generator gen(3);
  SECTION("max_pool2d") {
    const Tensor x = distinct({2, 2, 7, 9}, 1);
    CHECK_GRADCHECK([](const std::vector<Tensor>& t) { return max_pool2d(t[0], 2); }, x);
    CHECK_GRADCHECK(
        [](const std::vector<Tensor>& t) {
          return max_pool2d(t[0], 3, {2, 1}, 1, 1, true);
        },
        x);
    CHECK_GRADCHECK([](const std::vector<Tensor>& t) { return max_pool2d(t[0], 3, 1, 1, 2); }, x);
  }
  SECTION("avg_pool2d") {
    const Tensor x = leaf({2, 2, 7, 9}, gen);
    CHECK_GRADCHECK([](const std::vector<Tensor>& t) { return avg_pool2d(t[0], 2); }, x);
    CHECK_GRADCHECK(
        [](const std::vector<Tensor>& t) { return avg_pool2d(t[0], 3, 2, 1, true, false); }, x);
    CHECK_GRADCHECK(
        [](const std::vector<Tensor>& t) { return avg_pool2d(t[0], 3, 2, 1, false, true, 5); }, x);
  }
  SECTION("adaptive_avg_pool2d") {
    const Tensor x = leaf({2, 2, 7, 9}, gen);
    CHECK_GRADCHECK(
        [](const std::vector<Tensor>& t) {
          return adaptive_avg_pool2d(t[0], {3, 4});
        },
        x);
    CHECK_GRADCHECK(
        [](const std::vector<Tensor>& t) {
          return adaptive_avg_pool2d(t[0], {9, 11});
        },
        x);
  }
}

TEST_CASE("max_pool2d: the gradient goes to the first maximum of a window", "[nn][pool]") {
  // One 2x2 window of equal values: PyTorch gives the whole gradient to the first (row-major).
  Tensor x = ones({1, 1, 2, 2});
  x.requires_grad_();
  max_pool2d(x, 2).backward(full({1, 1, 1, 1}, 3.0));
  CHECK(x.grad().to_vector<float>() == std::vector<float>{3, 0, 0, 0});
  const auto [y, indices] = max_pool2d_with_indices(
      from_vector(std::vector<float>{1, 5, 5, 2, 0, 7}, {1, 1, 2, 3}), {2, 2}, 1);
  CHECK(indices.to_vector<std::int64_t>() == std::vector<std::int64_t>{1, 5});
  CHECK(y.to_vector<float>() == std::vector<float>{5, 7});
}

TEST_CASE("conv2d and pooling are bitwise equal at 1, 2, 3 and 8 threads",
          "[nn][conv][pool][threads][determinism]") {
  Generator gen(11);
  // LeNet's shapes at an odd batch (a ragged last chunk of images).
  const Tensor x1 = randn({37, 1, 28, 28}, gen);
  Tensor w1 = leaf({6, 1, 5, 5}, gen), b1 = leaf({6}, gen);
  Tensor w2 = leaf({16, 6, 5, 5}, gen), b2 = leaf({16}, gen);
  auto run = [&] {
    w1.mutable_grad() = Tensor();
    b1.mutable_grad() = Tensor();
    w2.mutable_grad() = Tensor();
    b2.mutable_grad() = Tensor();
    const Tensor h1 = avg_pool2d(F::sigmoid(conv2d(x1, w1, b1, 1, 2)), 2);
    const Tensor h2 = max_pool2d(F::sigmoid(conv2d(h1, w2, b2)), 2);
    const Tensor y = adaptive_avg_pool2d(h2, 3);
    y.backward(ones(y.sizes()));
    std::vector<float> out = y.detach().to_vector<float>();
    for (const Tensor& t : {w1.grad(), b1.grad(), w2.grad(), b2.grad()}) {
      const std::vector<float> v = t.to_vector<float>();
      out.insert(out.end(), v.begin(), v.end());
    }
    return out;
  };
  const int saved = get_num_threads();
  std::vector<float> want;
  for (const int threads : {1, 2, 3, 8}) {
    set_num_threads(threads);
    for (int rep = 0; rep < 2; ++rep) {
      const std::vector<float> got = run();
      if (want.empty()) want = got;
      CAPTURE(threads, rep);
      REQUIRE(got.size() == want.size());
      CHECK(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)) == 0);
    }
  }
  set_num_threads(saved);
}

TEST_CASE("nn::Conv2d: parameters, PyTorch's init, printing", "[nn][conv]") {
  Generator gen(5);
  nn::Conv2d conv(nn::Conv2dOptions(6, 16, 5), gen);
  CHECK(conv.weight.sizes() == Shape{16, 6, 5, 5});
  CHECK(conv.bias.sizes() == Shape{16});
  CHECK(conv.parameters().size() == 2);
  // kaiming_uniform_(a = sqrt(5)) and the bias: both within 1/sqrt(fan_in), fan_in = 6 * 25.
  const float bound = 1.0f / std::sqrt(150.0f);
  for (const Tensor& t : {conv.weight, conv.bias}) {
    const std::vector<float> v = t.to_vector<float>();
    CHECK(*std::max_element(v.begin(), v.end()) <= bound);
    CHECK(*std::min_element(v.begin(), v.end()) >= -bound);
    CHECK(*std::max_element(v.begin(), v.end()) > 0.5f * bound);  // they fill the range
  }
  CHECK(conv.extra_repr() == "6, 16, kernel_size=(5, 5), stride=(1, 1)");
  nn::Conv2d fancy(
      nn::Conv2dOptions(4, 8, {3, 5}).stride(2).padding({1, 2}).dilation(2).groups(4).bias(false));
  CHECK(fancy.weight.sizes() == Shape{8, 1, 3, 5});
  CHECK_FALSE(fancy.bias.defined());
  CHECK(fancy.extra_repr() ==
        "4, 8, kernel_size=(3, 5), stride=(2, 2), padding=(1, 2), dilation=(2, 2), groups=4, "
        "bias=false");
  nn::Conv2d same(nn::Conv2dOptions(1, 2, 4).padding("same"));
  CHECK(same.extra_repr() == "1, 2, kernel_size=(4, 4), stride=(1, 1), padding=same");
  CHECK(same(randn({3, 1, 7, 9})).sizes() == Shape{3, 2, 7, 9});
  CHECK(same(randn({1, 7, 9})).sizes() == Shape{2, 7, 9});
  std::ostringstream out;
  out << nn::Conv2d(1, 6, 5);
  CHECK(out.str() == "Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1))");
}

TEST_CASE("nn pooling modules and d2l's LeNet shapes", "[nn][conv][pool]") {
  nn::MaxPool2d max(nn::MaxPool2dOptions(3).stride(2).padding(1));
  CHECK(max.extra_repr() ==
        "kernel_size=[3, 3], stride=[2, 2], padding=[1, 1], dilation=[1, 1], ceil_mode=false");
  nn::AvgPool2d avg(2);
  CHECK(avg.extra_repr() == "kernel_size=[2, 2], stride=[2, 2], padding=[0, 0]");
  nn::AdaptiveAvgPool2d adaptive({7, 1});
  CHECK(adaptive.extra_repr() == "output_size=[7, 1]");
  CHECK(adaptive(randn({2, 3, 9, 9})).sizes() == Shape{2, 3, 7, 1});
  // d2l 7.6: Conv2d(1, 6, 5, padding=2) - Sigmoid - AvgPool2d(2, 2) - Conv2d(6, 16, 5) - ...
  nn::Sequential lenet;
  lenet.push_back(nn::Conv2d(nn::Conv2dOptions(1, 6, 5).padding(2)));
  lenet.push_back(nn::AvgPool2d(nn::AvgPool2dOptions(2).stride(2)));
  lenet.push_back(nn::Conv2d(6, 16, 5));
  lenet.push_back(nn::MaxPool2d(2));
  CHECK(lenet(randn({4, 1, 28, 28})).sizes() == Shape{4, 16, 5, 5});
}

TEST_CASE("conv2d and pooling: errors name the op and the shapes", "[nn][conv][pool][errors]") {
  const Tensor x = randn({2, 3, 5, 5}), w = randn({4, 3, 3, 3});
  CHECK_THROWS_WITH(conv2d(x, randn({4, 2, 3, 3})),
                    "conv2d: input [2, 3, 5, 5] has 3 channels, but weight [4, 2, 3, 3] with "
                    "groups=1 expects 2");
  CHECK_THROWS_WITH(conv2d(x, randn({4, 3, 7, 3})),
                    Contains("conv2d: input [2, 3, 5, 5] padded to (5 x 5) is smaller than the "
                             "kernel of weight [4, 3, 7, 3]"));
  CHECK_THROWS_WITH(conv2d(x, randn({4, 1, 3, 3}), {}, 1, 0, 1, 2),
                    "conv2d: in-channels 3 of input [2, 3, 5, 5] are not divisible by groups=2");
  CHECK_THROWS_WITH(conv2d(x, randn({4, 1, 3, 3}), {}, 1, 0, 1, 3),
                    "conv2d: out-channels 4 of weight [4, 1, 3, 3] are not divisible by groups=3");
  CHECK_THROWS_WITH(conv2d(x, w, {}, 1, 0, 1, 0), "conv2d: groups must be >= 1, got 0");
  CHECK_THROWS_WITH(conv2d(x, w, {}, {1, 0}), "conv2d: stride must be >= 1, got (1, 0)");
  CHECK_THROWS_WITH(conv2d(x, w, {}, 1, 0, 0), "conv2d: dilation must be >= 1, got (0, 0)");
  CHECK_THROWS_WITH(conv2d(x, w, {}, 1, -1), "conv2d: padding must be >= 0, got (-1, -1)");
  CHECK_THROWS_WITH(conv2d(x, w, {}, 2, "same"), Contains("padding='same' is not supported"));
  CHECK_THROWS_WITH(conv2d(x, w, {}, 1, "full"), Contains("invalid padding string 'full'"));
  CHECK_THROWS_WITH(conv2d(x, w, randn({3})), Contains("conv2d: bias must be [4]"));
  CHECK_THROWS_WITH(conv2d(randn({5, 5}), w), Contains("got [5, 5]"));
  CHECK_THROWS_WITH(conv2d(x, randn({4, 3, 3})), Contains("4-d weight"));
  // Sizes too large to allocate reach the geometry's overflow checks only.
  constexpr std::int64_t huge = std::int64_t{1} << 62;
  CHECK_THROWS_WITH(conv2d(x, w, {}, 1, 0, huge), Contains("conv2d: integer overflow"));
  CHECK_THROWS_WITH(core::conv2d_geometry({huge, 4, 1, 1}, {8, 4, 1, 1}, 1, 0, 1, 1),
                    "conv2d: shape [4611686018427387904, 8, 1, 1] has too many elements (the "
                    "count overflows int64)");
  CHECK_THROWS_WITH(nn::Conv2d(nn::Conv2dOptions(3, 4, 3).groups(2)),
                    "Conv2d: in_channels 3 and out_channels 4 must both be divisible by groups=2");
  CHECK_THROWS_WITH(nn::Conv2d(nn::Conv2dOptions(3, 4, 3).stride(0)), Contains("stride"));

  CHECK_THROWS_WITH(max_pool2d(x, 3, 1, 2),
                    "max_pool2d: padding should be at most half of the kernel size, got padding "
                    "(2, 2) for kernel_size (3, 3)");
  CHECK_THROWS_WITH(max_pool2d(x, 0), "max_pool2d: kernel_size must be >= 1, got (0, 0)");
  CHECK_THROWS_WITH(max_pool2d(x, 2, 0), "max_pool2d: stride must be >= 1, got (0, 0)");
  CHECK_THROWS_WITH(max_pool2d(x, 2, 2, 0, 0), "max_pool2d: dilation must be >= 1, got (0, 0)");
  CHECK_THROWS_WITH(max_pool2d(x, 2, 2, -1), Contains("padding must be >= 0"));
  CHECK_THROWS_WITH(max_pool2d(x, 7),
                    Contains("max_pool2d: input [2, 3, 5, 5] is too small for kernel_size (7, "
                             "7)"));
  CHECK_THROWS_WITH(avg_pool2d(x, 2, 2, 0, false, true, 0),
                    "avg_pool2d: divisor_override must not be zero");
  CHECK_THROWS_WITH(adaptive_avg_pool2d(x, {0, 2}),
                    Contains("adaptive_avg_pool2d: output_size must be >= 1"));
  CHECK_THROWS_WITH(avg_pool2d(randn({5}), 2), Contains("avg_pool2d: expected a 3-d"));
  CHECK_THROWS_WITH(nn::MaxPool2d(nn::MaxPool2dOptions(2).padding(2)), Contains("at most half"));
}

// Empty sizes: a sum over no input channels is 0, so y is the bias, and its gradient is the sum
// of grad_y; an empty batch or no output channels give empty results. (PyTorch 1.13 returns
// [N, 0, OH, OW] for C = 0, dropping the bias; ember keeps the shape the weight asks for.) Both
// direct paths: output channels over rows (2) and over lanes (16, 40).
TEST_CASE("conv2d: no input channels, no images or no output channels: exact, never a crash",
          "[nn][conv]") {
  for (const Shape& wshape : {Shape{2, 0, 3, 3}, Shape{16, 0, 3, 3}, Shape{40, 0, 5, 5}}) {
    INFO("weight " << to_string(wshape));
    const std::int64_t O = wshape[0], OH = 6 - wshape[2] + 1;
    Tensor x = zeros({2, 0, 6, 6}), w = zeros(wshape), b = arange(0, O);
    x.requires_grad_();
    w.requires_grad_();
    b.requires_grad_();
    const Tensor y = conv2d(x, w, b);
    REQUIRE(y.sizes() == Shape{2, O, OH, OH});
    // y[n, o] = b[o] everywhere; with grad_y = 1, grad_b[o] = N OH OW.
    std::vector<float> want;
    for (std::int64_t n = 0; n < 2; ++n)
      for (std::int64_t o = 0; o < O; ++o) want.insert(want.end(), OH * OH, float(o));
    CHECK(y.to_vector<float>() == want);
    y.sum().backward();
    CHECK(b.grad().to_vector<float>() == std::vector<float>(O, float(2 * OH * OH)));
    CHECK(w.grad().sizes() == wshape);
    CHECK(x.grad().sizes() == Shape{2, 0, 6, 6});
    CHECK(conv2d(x, w).sum().item<float>() == 0.0f);
  }
  SECTION("an empty batch, no output channels") {
    Tensor w = randn({4, 3, 3, 3}), b = randn({4});
    w.requires_grad_();
    b.requires_grad_();
    const Tensor y = conv2d(zeros({0, 3, 5, 5}), w, b);
    CHECK(y.sizes() == Shape{0, 4, 3, 3});
    y.sum().backward();
    CHECK(w.grad().abs().max().item<float>() == 0.0f);
    CHECK(b.grad().to_vector<float>() == std::vector<float>(4, 0.0f));
    CHECK(conv2d(randn({2, 3, 5, 5}), zeros({0, 3, 3, 3})).sizes() == Shape{2, 0, 3, 3});
  }
}

TEST_CASE("conv2d: the im2col path (long patches) and the direct path agree with a plain loop",
          "[nn][conv]") {
  // C/G * KH * KW = 64 * 9 = 576 runs im2col + GEMM forward (core/src/ops/conv.cpp,
  // kDirectMaxPatch); 8 * 9 = 72 the direct kernel. Both against the definition, summed in
  // double: y[n, o, i, j] = b[o] + sum_{c, kh, kw} w[o, c, kh, kw] x[n, c, 2 i + kh - 1, ...].
  Generator gen(21);
  for (const std::int64_t C : {64, 8}) {
    INFO("C = " << C);
    const std::int64_t N = 2, O = 3, H = 6, W = 7, K = 3, S = 2, P = 1;
    const Tensor x = randn({N, C, H, W}, gen), w = randn({O, C, K, K}, gen), b = randn({O}, gen);
    const Tensor y = conv2d(x, w, b, S, P);
    const std::int64_t OH = (H + 2 * P - K) / S + 1, OW = (W + 2 * P - K) / S + 1;
    REQUIRE(y.sizes() == Shape{N, O, OH, OW});
    const std::vector<float> xv = x.to_vector<float>(), wv = w.to_vector<float>(),
                             bv = b.to_vector<float>(), yv = y.to_vector<float>();
    for (std::int64_t n = 0; n < N; ++n)
      for (std::int64_t o = 0; o < O; ++o)
        for (std::int64_t i = 0; i < OH; ++i)
          for (std::int64_t j = 0; j < OW; ++j) {
            double sum = bv[static_cast<std::size_t>(o)];
            for (std::int64_t c = 0; c < C; ++c)
              for (std::int64_t kh = 0; kh < K; ++kh)
                for (std::int64_t kw = 0; kw < K; ++kw) {
                  const std::int64_t ih = i * S + kh - P, iw = j * S + kw - P;
                  if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                  sum += static_cast<double>(
                             wv[static_cast<std::size_t>(((o * C + c) * K + kh) * K + kw)]) *
                         xv[static_cast<std::size_t>(((n * C + c) * H + ih) * W + iw)];
                }
            CHECK(yv[static_cast<std::size_t>(((n * O + o) * OH + i) * OW + j)] ==
                  Approx(sum).epsilon(1e-5).margin(1e-4));
          }
  }
}

TEST_CASE("nn::Conv2d and the pools in libtorch's holder form", "[nn][conv][pool]") {
  // d2l's LeNet as a module with registered children, as in libtorch.
  struct LeNet : nn::Module {
    nn::Conv2d conv1{nullptr}, conv2{nullptr};
    nn::AvgPool2d pool{nullptr};
    LeNet() {
      conv1 = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(1, 6, 5).padding(2)));
      pool = register_module("pool", nn::AvgPool2d(nn::AvgPool2dOptions(2).stride(2)));
      conv2 = register_module("conv2", nn::Conv2d(nn::Conv2dOptions(6, 16, 5)));
    }
    Tensor forward(const Tensor& x) override {
      return pool(F::sigmoid(conv2(pool(F::sigmoid(conv1(x))))));
    }
  };
  LeNet net;
  CHECK(net.parameters().size() == 4);
  CHECK(net.named_parameters()[2].first == "conv2.weight");
  const Tensor y = net(randn({2, 1, 28, 28}));
  CHECK(y.sizes() == Shape{2, 16, 5, 5});
  y.sum().backward();
  for (const Tensor& p : net.parameters()) CHECK(p.grad().defined());
}

TEST_CASE("conv2d forward and backward: every kernel path agrees with a plain loop", "[nn][conv]") {
  // The definitions, summed in double, against core's kernels for geometries that take each
  // path (core/src/ops/conv.cpp): at most 8 output channels a group with stride_w 1 run the
  // forward over rows, more the direct kernel; stride and dilation 1 with 8 or more output
  // channels a group run the input gradient over them (Note [Input gradient over output
  // channels], over images with 16 images or more, Note [Input gradient over images]; AVX2 over
  // rows where it can), fewer with stride 1 and small padding over rows
  // (Note [Convolution over rows]), stride 2 or padding beyond (K - 1) d im2col's adjoint; short
  // patches the direct weight gradient (Note [Direct weight gradient]; over positions for
  // stride_h 1 and groups of fewer output channels than its lanes, Note [Weight gradient over
  // positions]), long ones (C/G KH KW > 512) im2col + GEMM, each with the bias gradient (from the
  // direct kernel's pass, or conv2d_backward_bias). Also groups, dilation, even kernels with
  // "same", 20 output channels (a ragged block of lanes) and 40 columns (several vectors a row).
  //   grad_b[o] = sum_{n, oh, ow} grad_out[n, o, oh, ow]
  //   grad_x[n, c, ih, iw] = sum_{o in c's group, kh, kw : ih = oh s + kh d - p} w[o, c', kh, kw]
  //                          grad_out[n, o, oh, ow] (and the same along w)
  //   grad_w[o, c', kh, kw] = sum_{n, oh, ow} grad_out[n, o, oh, ow] x[n, c, oh s + kh d - p, ...]
  //   y[n, o, oh, ow] = sum_{c', kh, kw} w[o, c', kh, kw] x[n, c, oh s + kh d - p, ...]
  struct Case {
    std::int64_t N, C, H, W, O, K, S, P, D, G;
    bool same;
    std::int64_t SW = 0;  // the stride along columns, if not S
  };
  const Case cases[] = {
      {2, 1, 9, 11, 6, 5, 1, 2, 1, 1, false},   // LeNet's conv1: rows forward and grad_x
      {2, 1, 28, 28, 6, 5, 1, 2, 1, 1, false},  // ... at 28 x 28: grad_w over whole vectors
      {3, 6, 8, 8, 16, 5, 1, 0, 1, 1, false},   // LeNet's conv2
      // 16 output channels: the direct weight gradient, whose rows of 10, 11 and 5 columns end in
      // 2, 3 and 1 columns after its blocks of 4 (Note [Direct weight gradient]).
      {2, 6, 14, 14, 16, 5, 1, 0, 1, 1, false},
      {1, 3, 7, 11, 16, 3, 1, 1, 1, 1, false},
      {1, 2, 6, 9, 16, 5, 1, 0, 1, 1, false},
      {2, 4, 7, 40, 20, 3, 1, 1, 1, 2, false},  // groups, ragged lanes, long rows
      // A vector's worth of images or more: the input gradient over images (Note [Input gradient
      // over images]), whole blocks and a last block of 1 or 3 (AVX-512: 16 images a block).
      {17, 6, 14, 14, 16, 5, 1, 0, 1, 1, false},
      {35, 4, 7, 9, 16, 3, 1, 1, 1, 2, false},
      {9, 3, 6, 9, 8, 3, 1, 3, 1, 1, false},    // AVX2 (8 images a block) where rows cannot
      {2, 6, 7, 9, 9, 3, 1, 1, 1, 3, false},    // groups over rows
      {2, 3, 9, 9, 5, 3, 1, 0, 2, 1, false},    // dilation
      {2, 3, 6, 7, 4, 4, 1, 0, 1, 1, true},     // "same" with an even kernel
      {2, 3, 9, 8, 4, 3, 2, 1, 1, 1, false},    // stride 2: im2col's adjoint
      {2, 2, 6, 6, 3, 3, 1, 3, 1, 1, false},    // padding 3 > K - 1: im2col's adjoint
      {2, 3, 6, 9, 8, 3, 1, 3, 1, 1, false},    // the same over output channels, odd C
      {1, 2, 9, 11, 12, 7, 1, 2, 1, 1, false},  // a 7-wide kernel over output channels
      {1, 64, 5, 5, 3, 3, 1, 1, 1, 1, false},   // patch 576: im2col + GEMM
      // The weight gradient over positions reads shifted copies of the image: with a column
      // stride of 2, and with dilation 2.
      {2, 2, 9, 13, 6, 3, 1, 1, 1, 1, false, 2},
      {2, 3, 12, 12, 5, 3, 1, 1, 2, 1, false},
  };
  Generator gen(33);
  for (const Case& k : cases) {
    const std::int64_t SW = k.SW != 0 ? k.SW : k.S;
    INFO("C=" << k.C << " O=" << k.O << " K=" << k.K << " S=" << k.S << "," << SW << " P=" << k.P
              << " D=" << k.D << " G=" << k.G << " same=" << k.same);
    const Tensor x = randn({k.N, k.C, k.H, k.W}, gen);
    const Tensor w = randn({k.O, k.C / k.G, k.K, k.K}, gen);
    const core::Conv2dGeometry g =
        k.same ? core::conv2d_geometry(x.sizes(), w.sizes(), k.S, "same", k.D, k.G)
               : core::conv2d_geometry(x.sizes(), w.sizes(), {k.S, SW}, k.P, k.D, k.G);
    const Tensor go = randn({k.N, k.O, g.OH, g.OW}, gen);
    const std::vector<float> y = core::conv2d_forward(x, w, Tensor(), g).to_vector<float>();
    const std::vector<float> gx = core::conv2d_backward_input(go, w, g).to_vector<float>();
    Tensor grad_b;  // from the weight gradient's pass where that is the direct kernel
    const std::vector<float> gw = core::conv2d_backward_weight(go, x, g).to_vector<float>();
    CHECK(core::conv2d_backward_weight(go, x, g, &grad_b).to_vector<float>() == gw);
    const std::vector<float> gb = grad_b.to_vector<float>();
    const std::vector<float> xv = x.to_vector<float>(), wv = w.to_vector<float>(),
                             gv = go.to_vector<float>();
    const std::int64_t Cg = k.C / k.G, Og = k.O / k.G;
    std::vector<double> want_x(xv.size(), 0.0), want_w(wv.size(), 0.0), want_y(gv.size(), 0.0),
        want_b(static_cast<std::size_t>(k.O), 0.0);
    for (std::size_t i = 0; i < gv.size(); ++i)  // grad_b[o] = sum over n, oh, ow of grad_out
      want_b[i / static_cast<std::size_t>(g.OH * g.OW) % static_cast<std::size_t>(k.O)] += gv[i];
    for (std::int64_t n = 0; n < k.N; ++n)
      for (std::int64_t o = 0; o < k.O; ++o)
        for (std::int64_t oh = 0; oh < g.OH; ++oh)
          for (std::int64_t ow = 0; ow < g.OW; ++ow)
            for (std::int64_t cg = 0; cg < Cg; ++cg)
              for (std::int64_t kh = 0; kh < k.K; ++kh)
                for (std::int64_t kw = 0; kw < k.K; ++kw) {
                  const std::int64_t ih = oh * k.S + kh * k.D - g.pad_top;
                  const std::int64_t iw = ow * SW + kw * k.D - g.pad_left;
                  if (ih < 0 || ih >= k.H || iw < 0 || iw >= k.W) continue;
                  const std::int64_t c = (o / Og) * Cg + cg;
                  const auto xi = static_cast<std::size_t>(((n * k.C + c) * k.H + ih) * k.W + iw);
                  const auto wi = static_cast<std::size_t>(((o * Cg + cg) * k.K + kh) * k.K + kw);
                  const auto yi = static_cast<std::size_t>(((n * k.O + o) * g.OH + oh) * g.OW + ow);
                  const double gval = gv[yi];
                  want_y[yi] += static_cast<double>(wv[wi]) * xv[xi];
                  want_x[xi] += gval * wv[wi];
                  want_w[wi] += gval * xv[xi];
                }
    REQUIRE(y.size() == want_y.size());
    for (std::size_t i = 0; i < y.size(); ++i)
      CHECK(y[i] == Approx(want_y[i]).epsilon(1e-4).margin(1e-4));
    REQUIRE(gx.size() == want_x.size());
    for (std::size_t i = 0; i < gx.size(); ++i)
      CHECK(gx[i] == Approx(want_x[i]).epsilon(1e-4).margin(1e-4));
    REQUIRE(gw.size() == want_w.size());
    for (std::size_t i = 0; i < gw.size(); ++i)
      CHECK(gw[i] == Approx(want_w[i]).epsilon(1e-4).margin(1e-3));
    REQUIRE(gb.size() == want_b.size());
    for (std::size_t i = 0; i < gb.size(); ++i)
      CHECK(gb[i] == Approx(want_b[i]).epsilon(1e-5).margin(1e-5));
  }
}
