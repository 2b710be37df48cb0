// functional::sigmoid_avg_pool2d and the fusion in nn::Sequential (Note [Fused sigmoid and
// average pooling] in nn/src/sequential.cpp): bitwise the unfused Sigmoid then AvgPool2d, forward
// and backward, at 1, 2 and 3 threads (and, through CTest's isa_* runs of this program, on every
// instruction set), including non-finite inputs, and without a graph to record; a gradcheck; and
// pools that do not fuse.
#include <catch2/catch.hpp>

#include "support/gradcheck.h"
#include "support/leaf.h"

#include <cstring>
#include <limits>
#include <vector>

#include <ember/core/generator.h>
#include <ember/core/parallel.h>
#include <ember/nn/nn.h>

using namespace ember;
namespace F = ember::nn::functional;
using Ts = std::vector<Tensor>;
using ember::test::leaf;

namespace {

bool same_bits(const Tensor& a, const Tensor& b) {
  if (a.sizes() != b.sizes()) return false;
  const std::vector<float> va = a.contiguous().to_vector<float>();
  const std::vector<float> vb = b.contiguous().to_vector<float>();
  return std::memcmp(va.data(), vb.data(), va.size() * sizeof(float)) == 0;
}

struct Run {
  Tensor y, grad_x;
};

// y = f(x) and dL/dx for L = sum(y grad_out) (so dL/dy = grad_out exactly).
template <class Fn>
Run run(const Tensor& x_values, const Tensor& grad_out, Fn f) {
  Tensor x = leaf(x_values);
  Tensor y = f(x);
  y.backward(grad_out);
  return {y.detach(), x.grad()};
}

Tensor unfused(const Tensor& x, const nn::AvgPool2dOptions& options) {
  return F::avg_pool2d(F::sigmoid(x), options);
}

}  // namespace

TEST_CASE("sigmoid_avg_pool2d: bitwise the unfused sigmoid then avg_pool2d, any thread count",
          "[nn][sigmoid_pool]") {
  struct Case {
    Shape shape;
    nn::AvgPool2dOptions options;
  };
  const Case cases[] = {
      {{2, 6, 28, 28}, nn::AvgPool2dOptions(2).stride(2)},  // LeNet's first pool
      {{3, 16, 10, 10}, nn::AvgPool2dOptions(2)},           // LeNet's second: 5 outputs a row
      {{2, 3, 7, 9}, nn::AvgPool2dOptions(2)},              // odd H and W: a row and column left
      {{1, 1, 2, 2}, nn::AvgPool2dOptions(2)},              // one window
      {{2, 2, 6, 34}, nn::AvgPool2dOptions(2)},  // 17 outputs a row: a tail on every width
      {{1, 2, 5, 2}, nn::AvgPool2dOptions(2).divisor_override(3)},    // a division
      {{2, 2, 6, 10}, nn::AvgPool2dOptions(2).divisor_override(-8)},  // a product by -1/8
      {{2, 3, 8, 8}, nn::AvgPool2dOptions(2).ceil_mode(true).count_include_pad(false)},
      {{1, 2, 3, 1024}, nn::AvgPool2dOptions(2)},  // the widest rows: one row pair a block
      {{1, 1, 4, 1023}, nn::AvgPool2dOptions(2).divisor_override(-5)},
      {{40, 1, 2, 18}, nn::AvgPool2dOptions(2)},  // many planes of one row pair
  };
  Generator gen(7);
  const int saved = get_num_threads();
  for (const Case& c : cases) {
    const Tensor x = randn(c.shape, gen) * 3.0f;
    REQUIRE(F::sigmoid_avg_pool2d_fuses(x, c.options));
    const Tensor y0 = unfused(x, c.options);
    const Tensor grad_out = randn(y0.sizes(), gen);
    set_num_threads(1);
    const Run want = run(x, grad_out, [&](const Tensor& t) { return unfused(t, c.options); });
    for (const int threads : {1, 2, 3}) {
      set_num_threads(threads);
      const Run got =
          run(x, grad_out, [&](const Tensor& t) { return F::sigmoid_avg_pool2d(t, c.options); });
      CAPTURE(to_string(c.shape), threads);
      CHECK(same_bits(got.y, want.y));
      CHECK(same_bits(got.grad_x, want.grad_x));
      // No graph to record (x needs no gradient): the kernel writes y alone, not s.
      CHECK(same_bits(F::sigmoid_avg_pool2d(x, c.options), want.y));
    }
  }
  set_num_threads(saved);
}

TEST_CASE("sigmoid_avg_pool2d: NaN, infinities and large values as the unfused ops",
          "[nn][sigmoid_pool]") {
  // Every window holds one special value next to ordinary ones; sigmoid(+-1e4) = 1 or 0 exactly
  // (0 underflows), sigmoid(+-inf) = 1 or 0, sigmoid(NaN) = NaN, which spreads over its window
  // forward and stays in its own cell backward ((g / 4) (1 - NaN) NaN).
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float specials[] = {nan, inf, -inf, 1e4f, -1e4f, 0.0f, -0.0f, 88.0f, -104.0f};
  std::vector<float> v;
  Generator gen(11);
  for (int i = 0; i < 2 * 6 * 10; ++i) v.push_back(gen.normal());
  for (int i = 0; i < 9; ++i) v[static_cast<std::size_t>(i * 13 % 120)] = specials[i];
  // Cells in the odd last column (index 10 of 11) too.
  v[10] = nan, v[21] = inf;
  const Tensor x =
      from_vector(std::vector<float>(v.begin(), v.begin() + 2 * 5 * 11), {1, 2, 5, 11});
  const nn::AvgPool2dOptions options(2);
  const Tensor grad_out = randn({1, 2, 2, 5}, gen);
  const Run want = run(x, grad_out, [&](const Tensor& t) { return unfused(t, options); });
  const Run got =
      run(x, grad_out, [&](const Tensor& t) { return F::sigmoid_avg_pool2d(t, options); });
  CHECK(same_bits(got.y, want.y));
  CHECK(same_bits(got.grad_x, want.grad_x));
}

TEST_CASE("sigmoid_avg_pool2d: a strided input as the unfused ops", "[nn][sigmoid_pool]") {
  // x^T of a [2, 3, 9, 6] tensor: [2, 3, 6, 9], not contiguous.
  Generator gen(13);
  const nn::AvgPool2dOptions options(2);
  const Tensor grad_out = randn({2, 3, 3, 4}, gen);
  const Tensor base = randn({2, 3, 9, 6}, gen);
  const auto through = [&](auto f) {
    Tensor b = leaf(base);
    Tensor y = f(b.transpose(2, 3));
    y.backward(grad_out);
    return Run{y.detach(), b.grad()};
  };
  const Run want = through([&](const Tensor& t) { return unfused(t, options); });
  const Run got = through([&](const Tensor& t) { return F::sigmoid_avg_pool2d(t, options); });
  CHECK(same_bits(got.y, want.y));
  CHECK(same_bits(got.grad_x, want.grad_x));
}

TEST_CASE("sigmoid_avg_pool2d: gradient against central differences", "[nn][sigmoid_pool]") {
  Generator gen(5);
  const nn::AvgPool2dOptions options(2);
  // float32 tolerances of autograd::gradcheck's defaults; odd H and W leave cells out of every
  // window, whose gradient is 0.
  for (const Shape& shape : {Shape{1, 2, 4, 6}, Shape{2, 1, 5, 7}}) {
    const Tensor x = leaf(randn(shape, gen));
    CHECK_GRADCHECK([&](const Ts& t) { return F::sigmoid_avg_pool2d(t[0], options); }, x);
  }
}

TEST_CASE("sigmoid_avg_pool2d: pools the kernel does not take run unfused", "[nn][sigmoid_pool]") {
  Generator gen(3);
  const Tensor x = randn({2, 3, 9, 9}, gen);
  const nn::AvgPool2dOptions pools[] = {
      nn::AvgPool2dOptions(2).padding(1),           // padding
      nn::AvgPool2dOptions(3).stride(2),            // overlapping 3x3 windows
      nn::AvgPool2dOptions(2).stride(1),            // overlapping 2x2 windows
      nn::AvgPool2dOptions(3),                      // 3x3 tiles
      nn::AvgPool2dOptions(2).ceil_mode(true),      // odd size with ceil_mode: a clipped window
      nn::AvgPool2dOptions({2, 3}).stride({2, 3}),  // 2x3 tiles
  };
  for (const auto& options : pools) {
    CHECK_FALSE(F::sigmoid_avg_pool2d_fuses(x, options));
    const Tensor grad_out = randn(unfused(x, options).sizes(), gen);
    const Run want = run(x, grad_out, [&](const Tensor& t) { return unfused(t, options); });
    const Run got =
        run(x, grad_out, [&](const Tensor& t) { return F::sigmoid_avg_pool2d(t, options); });
    CHECK(same_bits(got.y, want.y));
    CHECK(same_bits(got.grad_x, want.grad_x));
  }
  // Inputs the kernel does not take: 3-d, wider than 1024, integer.
  CHECK_FALSE(F::sigmoid_avg_pool2d_fuses(randn({3, 4, 4}, gen), nn::AvgPool2dOptions(2)));
  CHECK_FALSE(F::sigmoid_avg_pool2d_fuses(randn({1, 1, 2, 1026}, gen), nn::AvgPool2dOptions(2)));
  CHECK_FALSE(F::sigmoid_avg_pool2d_fuses(ones({1, 1, 2, 2}, kInt64), nn::AvgPool2dOptions(2)));
  CHECK(F::sigmoid_avg_pool2d(randn({3, 4, 4}, gen), nn::AvgPool2dOptions(2)).sizes() ==
        Shape{3, 2, 2});
}

TEST_CASE("Sequential fuses Sigmoid then AvgPool2d invisibly", "[nn][sigmoid_pool][sequential]") {
  // d2l's LeNet up to its first Linear, against the same modules called one by one.
  Generator gen(1);
  nn::Sequential net(nn::Conv2d(nn::Conv2dOptions(1, 6, 5).padding(2), gen), nn::Sigmoid(),
                     nn::AvgPool2d(nn::AvgPool2dOptions(2).stride(2)),
                     nn::Conv2d(nn::Conv2dOptions(6, 16, 5), gen), nn::Sigmoid(),
                     nn::AvgPool2d(nn::AvgPool2dOptions(2).stride(2)), nn::Flatten());
  const Tensor x = randn({3, 1, 28, 28}, gen);
  const auto grads = [&] {
    std::vector<Tensor> out;
    for (const Tensor& p : net.parameters()) out.push_back(p.grad().clone());
    return out;
  };
  const Tensor grad_out = randn({3, 400}, gen);
  for (const int threads : {1, 2}) {
    const int saved = get_num_threads();
    set_num_threads(threads);
    net.zero_grad();
    Tensor want = x;
    for (std::size_t i = 0; i < net.size(); ++i) want = net[i]->forward(want);
    want.backward(grad_out);
    const std::vector<Tensor> want_grads = grads();
    net.zero_grad();
    const Tensor got = net.forward(x);
    got.backward(grad_out);
    const std::vector<Tensor> got_grads = grads();
    set_num_threads(saved);
    CAPTURE(threads);
    CHECK(same_bits(got, want));
    REQUIRE(got_grads.size() == want_grads.size());
    for (std::size_t i = 0; i < got_grads.size(); ++i)
      CHECK(same_bits(got_grads[i], want_grads[i]));
  }
  // The modules and names are as built: fusion happens in forward only.
  CHECK(net.size() == 7);
  CHECK(net.named_parameters().size() == 4);
  // The pair's output node is the fused one.
  nn::Sequential pair(nn::Sigmoid(), nn::AvgPool2d(2));
  const Tensor y = pair.forward(leaf(randn({1, 2, 4, 4}, gen)));
  REQUIRE(y.grad_fn() != nullptr);
  CHECK(y.grad_fn()->name() == "SigmoidAvgPool2DBackward");
}

TEST_CASE("Sequential with a pool the kernel does not take runs module by module",
          "[nn][sigmoid_pool][sequential]") {
  Generator gen(2);
  for (const auto& options :
       {nn::AvgPool2dOptions(2).padding(1), nn::AvgPool2dOptions(3).stride(2)}) {
    nn::Sequential net(nn::Sigmoid(), nn::AvgPool2d(options), nn::Sigmoid(),
                       nn::AvgPool2d(nn::AvgPool2dOptions(2)));
    const Tensor x = randn({2, 3, 13, 13}, gen);
    Tensor want_x = leaf(x), got_x = leaf(x);
    Tensor want = want_x;
    for (std::size_t i = 0; i < net.size(); ++i) want = net[i]->forward(want);
    const Tensor got = net.forward(got_x);
    const Tensor grad_out = randn(want.sizes(), gen);
    want.backward(grad_out);
    got.backward(grad_out);
    CHECK(same_bits(got, want));
    CHECK(same_bits(got_x.grad(), want_x.grad()));
  }
  // A subclass of Sigmoid may do something else: it is never fused.
  struct Doubled : nn::Sigmoid {
    Tensor forward(const Tensor& x) override { return nn::Sigmoid::forward(x) * 2.0f; }
  };
  nn::Sequential net(Doubled(), nn::AvgPool2d(2));
  const Tensor x = randn({1, 1, 4, 4}, gen);
  CHECK(same_bits(net.forward(x), F::avg_pool2d(F::sigmoid(x) * 2.0f, nn::AvgPool2dOptions(2))));
}
