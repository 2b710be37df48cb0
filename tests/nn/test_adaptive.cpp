// AdaptiveLogSoftmaxWithLoss against PyTorch on fixed weights, plus cutoff validation, log_prob,
// predict, gradcheck and the module tree.
#include <catch2/catch.hpp>

#include <cmath>

#include <ember/autograd/gradcheck.h>
#include <ember/nn/adaptive.h>

#include "support/all_close.h"

using namespace ember;

using ember::test::check_all_close;

namespace {

// Weights set by formula so PyTorch and ember hold the same numbers (see the snippet below).
void set_weights(nn::AdaptiveLogSoftmaxWithLoss& m) {
  const std::vector<Tensor> params = {m.head->weight, m.tail[0]->parameters()[0],
                                      m.tail[0]->parameters()[1], m.tail[1]->parameters()[0],
                                      m.tail[1]->parameters()[1]};
  for (std::size_t pid = 0; pid < params.size(); ++pid) {
    Tensor p = params[pid];
    float* v = p.data_ptr<float>();
    for (std::int64_t k = 0; k < p.numel(); ++k) {
      v[k] = static_cast<float>(
          0.5 * std::sin(0.37 * static_cast<double>(k) + 1.1 * static_cast<double>(pid)));
    }
  }
}

Tensor input_rows() {
  std::vector<float> v;
  for (int i = 0; i < 5; ++i) {
    for (int j = 0; j < 6; ++j) v.push_back(static_cast<float>(std::cos(i * 1.3 + j * 0.7)));
  }
  return from_vector(v, {5, 6});
}

}  // namespace

// m = torch.nn.AdaptiveLogSoftmaxWithLoss(6, 10, [4, 7], div_value=2.0)
// params = [m.head.weight, m.tail[0][0].weight, m.tail[0][1].weight, m.tail[1][0].weight,
//           m.tail[1][1].weight]; flat[k] = 0.5 * sin(0.37 k + 1.1 pid) for each param pid
// x[i][j] = cos(1.3 i + 0.7 j) (5 x 6, requires_grad); t = [0, 5, 9, 3, 7]
// out, loss = m(x, t); loss.backward()
TEST_CASE("AdaptiveLogSoftmaxWithLoss matches PyTorch", "[nn][adaptive]") {
  nn::AdaptiveLogSoftmaxWithLoss m(6, 10, {4, 7}, 2.0);
  set_weights(m);
  Tensor x = input_rows();
  x.requires_grad_();
  const Tensor t = from_vector(std::vector<std::int64_t>{0, 5, 9, 3, 7}, {5});
  const nn::ASMoutput r = m(x, t);
  check_all_close(r.output, {-3.1555262f, -2.6059594f, -2.0909901f, -1.0757101f, -4.3337851f});
  CHECK(r.loss.item<float>() == Approx(2.6523941f).epsilon(1e-5));
  r.loss.backward();
  check_all_close(
      x.grad(),
      {0.044635862f,  -0.012217094f, -0.067416519f, -0.11349144f,  -0.14420582f,  -0.15540263f,
       -0.08977633f,  -0.061465301f, -0.024835242f, 0.015156155f,  0.053096242f,  0.083849996f,
       0.040883701f,  0.040323932f,  0.034306515f,  0.023645867f,  0.0097848643f, -0.005400476f,
       -0.038116973f, -0.046592742f, -0.048762396f, -0.044332296f, -0.033902023f, -0.018883269f,
       0.13494693f,   0.12489387f,   0.097937025f,  0.057724863f,  0.0096999099f, -0.039637886f});
  check_all_close(m.tail[1]->parameters()[0].grad(),
                  {0.0036298661f, 0.0041050557f, 0.0026495734f, -5.2044536e-05f, -0.0027291849f,
                   -0.0041227476f});
  SECTION("log_prob and predict") {
    const Tensor lp = m.log_prob(x.detach());
    CHECK(lp.sizes() == Shape{5, 10});
    check_all_close(lp.select(0, 0),
                    {-3.1555262f, -0.91993654f, -2.8106785f, -2.7601633f, -1.9871434f, -1.9298167f,
                     -2.1884055f, -4.2913084f, -4.3099327f, -4.2747149f});
    for (float s : lp.exp().sum(1).to_vector<float>()) CHECK(s == Approx(1.0f).epsilon(1e-5));
    CHECK(m.predict(x.detach()).to_vector<std::int64_t>() ==
          std::vector<std::int64_t>{1, 2, 2, 0, 1});
  }
  SECTION("unbatched row with a 0-d target") {
    const Tensor row = input_rows().select(0, 1);
    const nn::ASMoutput one = m(row, from_vector(std::vector<std::int64_t>{5}, {1}).reshape({}));
    CHECK(one.output.dim() == 0);
    CHECK(one.output.item<float>() == Approx(-2.6059594f).epsilon(1e-5));
  }
}

TEST_CASE("AdaptiveLogSoftmaxWithLoss: parameters, printing, checks", "[nn][adaptive]") {
  nn::AdaptiveLogSoftmaxWithLoss m(6, 10, {4, 7}, 2.0);
  const auto named = m.named_parameters();
  REQUIRE(named.size() == 5);
  CHECK(named[0].first == "head.weight");
  CHECK(named[1].first == "tail.0.0.weight");
  CHECK(named[4].first == "tail.1.1.weight");
  CHECK(named[0].second.sizes() == Shape{6, 6});
  CHECK(named[3].second.sizes() == Shape{1, 6});  // 6 / 2^2 = 1 hidden unit
  CHECK(m.cutoffs() == std::vector<std::int64_t>{4, 7, 10});
  for (const std::vector<std::int64_t>& bad :
       {std::vector<std::int64_t>{7, 4}, {4, 4}, {0, 4}, {4, 10}, {}}) {
    CHECK_THROWS_WITH(nn::AdaptiveLogSoftmaxWithLoss(6, 10, bad),
                      Catch::Contains("cutoffs should be a sequence of unique, positive integers"));
  }
  const Tensor x = input_rows();
  CHECK_THROWS_WITH(m(x, from_vector(std::vector<std::int64_t>{0, 1, 2, 3, 10}, {5})),
                    Catch::Contains("[0, 9]") && Catch::Contains("[0, 10]"));
  CHECK_THROWS_WITH(m(x, from_vector(std::vector<std::int64_t>{0, 1}, {2})),
                    Catch::Contains("batch dimension"));
}

TEST_CASE("AdaptiveLogSoftmaxWithLoss: gradcheck", "[nn][adaptive][gradcheck]") {
  nn::AdaptiveLogSoftmaxWithLoss m(6, 10, {4, 7}, 2.0);
  set_weights(m);
  Tensor x = input_rows();
  x.requires_grad_();
  const Tensor t = from_vector(std::vector<std::int64_t>{0, 5, 9, 3, 7}, {5});
  const Tensor w = m.tail[0]->parameters()[0];
  auto result = autograd::gradcheck([&](const std::vector<Tensor>&) { return m(x, t).output; },
                                    {x, w, m.head->weight});
  INFO(result.message);
  CHECK(result.ok);
  auto lp = autograd::gradcheck([&](const std::vector<Tensor>&) { return m.log_prob(x); },
                                {x, m.head->weight});
  INFO(lp.message);
  CHECK(lp.ok);
}
