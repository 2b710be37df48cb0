// Tensor's activation methods are the nn::functional ops (one implementation, defined in nn).
#include <catch2/catch.hpp>

#include "support/gradcheck.h"

#include <ember/autograd/ops.h>
#include <ember/core/generator.h>
#include <ember/nn/functional/activation.h>

using namespace ember;
namespace F = ember::nn::functional;
using Ts = std::vector<Tensor>;

TEST_CASE("Tensor methods sigmoid, tanh, relu, softmax, log_softmax", "[activation][methods]") {
  Generator gen(11);
  const Tensor x = randn({3, 4}, gen);
  CHECK(x.sigmoid().to_vector<float>() == F::sigmoid(x).to_vector<float>());
  CHECK(x.tanh().to_vector<float>() == F::tanh(x).to_vector<float>());
  CHECK(x.relu().to_vector<float>() == F::relu(x).to_vector<float>());
  CHECK(x.softmax(1).to_vector<float>() == F::softmax(x, 1).to_vector<float>());
  CHECK(x.log_softmax(-1).to_vector<float>() == F::log_softmax(x, -1).to_vector<float>());
  // torch.tensor([[1., 2.], [3., 5.]]).softmax(0) -> tensor([[0.1192, 0.0474], [0.8808, 0.9526]])
  const Tensor s = tensor({{1.f, 2.f}, {3.f, 5.f}}).softmax(0);
  CHECK(s.at<float>({0, 0}) == Approx(0.1192).margin(1e-4));
  CHECK(s.at<float>({1, 1}) == Approx(0.9526).margin(1e-4));
  Tensor w = randn({2, 3}, gen).requires_grad_();
  CHECK_GRADCHECK([](const Ts& t) { return t[0].t().log_softmax(0).sigmoid(); }, w);
  // torch.tensor([-1, 2]).relu() -> tensor([0, 2]) (int64); torch.tensor([1, 2]).sigmoid() is
  // float32; torch.arange(3).softmax(0) raises (see tests/core/test_unary_dtypes.cpp).
  CHECK(tensor({-1, 2}).relu().to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 2});
  CHECK(tensor({1, 2}).sigmoid().to_vector<float>() ==
        F::sigmoid(tensor({1.f, 2.f})).to_vector<float>());
  CHECK(tensor({1, 2}).tanh().dtype() == kFloat32);
  CHECK_THROWS_WITH(arange(3).softmax(0),
                    "softmax: expected a float32 input, got int64 of shape [3] (integers are not "
                    "converted, as in PyTorch: use .to(ember::kFloat32))");
}
