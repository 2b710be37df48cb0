// Every differentiable core op against central finite differences (see Note [Float32 gradcheck]
// in <ember/autograd/gradcheck.h> for eps 1e-3, atol 1e-3, rtol 1e-2), on shapes that broadcast
// and on non-contiguous views.
#include <catch2/catch.hpp>

#include "support/gradcheck.h"

#include <ember/autograd/gradcheck.h>
#include <ember/autograd/node.h>
#include <ember/autograd/ops.h>
#include <ember/core/generator.h>

using namespace ember;
using autograd::gradcheck;

namespace {
Tensor input(Shape shape, std::uint64_t seed, float offset = 0.0f) {
  Generator gen(seed);
  Tensor t = randn(shape, gen) + static_cast<double>(offset);
  t.requires_grad_();
  return t;
}
Tensor transposed(Shape shape, std::uint64_t seed) {  // a non-contiguous leaf view
  Generator gen(seed);
  Tensor base = randn({shape[1], shape[0]}, gen);
  base.requires_grad_();
  return base;
}
using Ts = std::vector<Tensor>;
}  // namespace

TEST_CASE("gradcheck: elementwise ops with broadcasting", "[gradcheck]") {
  Tensor a = input({3, 4}, 1), b = input({4}, 2), c = input({3, 1}, 3), s = input({}, 4);
  CHECK_GRADCHECK([](const Ts& t) { return t[0] + t[1]; }, a, b);
  CHECK_GRADCHECK([](const Ts& t) { return t[0] - t[1]; }, a, c);
  CHECK_GRADCHECK([](const Ts& t) { return t[0] * t[1]; }, a, b);
  CHECK_GRADCHECK([](const Ts& t) { return t[0] * t[1]; }, c, s);
  Tensor away = input({3, 4}, 5, 3.0f);  // keep divisors away from 0
  CHECK_GRADCHECK([](const Ts& t) { return t[0] / t[1]; }, a, away);
  CHECK_GRADCHECK([](const Ts& t) { return -t[0]; }, a);
  CHECK_GRADCHECK([](const Ts& t) { return exp(t[0]); }, a);
  CHECK_GRADCHECK([](const Ts& t) { return log(t[0]); }, away);
  CHECK_GRADCHECK([](const Ts& t) { return t[0] * 2.0 + 1.0 - t[0] / 4.0; }, a);
}

TEST_CASE("gradcheck: ops on non-contiguous views", "[gradcheck]") {
  Tensor base = transposed({3, 4}, 6);  // base is [4, 3]; base.t() is a [3, 4] view
  Tensor b = input({3, 4}, 7);
  CHECK_GRADCHECK([](const Ts& t) { return t[0].t() * t[1]; }, base, b);
  CHECK_GRADCHECK([](const Ts& t) { return t[0].t().reshape({12}); }, base);
  CHECK_GRADCHECK([](const Ts& t) { return matmul(t[0].t(), t[1].t()); }, base, b);
}

TEST_CASE("gradcheck: matmul 2-d, batched with broadcasting, 1-d", "[gradcheck]") {
  CHECK_GRADCHECK([](const Ts& t) { return matmul(t[0], t[1]); }, input({3, 5}, 8),
                  input({5, 2}, 9));
  CHECK_GRADCHECK([](const Ts& t) { return matmul(t[0], t[1]); }, input({2, 3, 5}, 10),
                  input({5, 2}, 11));
  CHECK_GRADCHECK([](const Ts& t) { return matmul(t[0], t[1]); }, input({5}, 12),
                  input({5, 2}, 13));
  CHECK_GRADCHECK([](const Ts& t) { return matmul(t[0], t[1]); }, input({3, 5}, 14),
                  input({5}, 15));
}

TEST_CASE("gradcheck: reductions", "[gradcheck]") {
  Tensor a = input({3, 4}, 16);
  CHECK_GRADCHECK([](const Ts& t) { return t[0].sum(); }, a);
  CHECK_GRADCHECK([](const Ts& t) { return t[0].sum(0); }, a);
  CHECK_GRADCHECK([](const Ts& t) { return t[0].sum(1, true); }, a);
  CHECK_GRADCHECK([](const Ts& t) { return t[0].mean(); }, a);
  CHECK_GRADCHECK([](const Ts& t) { return t[0].mean(-1); }, a);
  CHECK_GRADCHECK([](const Ts& t) { return std::get<0>(t[0].max(1)); }, a);
  CHECK_GRADCHECK([](const Ts& t) { return t[0].max(); }, a);
}

TEST_CASE("gradcheck: views", "[gradcheck]") {
  Tensor a = input({2, 3, 4}, 17);
  CHECK_GRADCHECK([](const Ts& t) { return t[0].view({6, 4}); }, a);
  CHECK_GRADCHECK([](const Ts& t) { return t[0].flatten(1); }, a);
  CHECK_GRADCHECK([](const Ts& t) { return t[0].transpose(0, 2); }, a);
  CHECK_GRADCHECK([](const Ts& t) { return t[0].unsqueeze(1).squeeze(1); }, a);
  CHECK_GRADCHECK([](const Ts& t) { return t[0].narrow(2, 1, 2); }, a);
  CHECK_GRADCHECK([](const Ts& t) { return t[0].select(1, -1); }, a);
  CHECK_GRADCHECK([](const Ts& t) { return t[0].t().contiguous(); }, input({3, 4}, 18));
  CHECK_GRADCHECK([](const Ts& t) { return t[0].clone(); }, a);
}

TEST_CASE("gradcheck catches a wrong gradient and names the worst element", "[gradcheck]") {
  // A hand-made op with a deliberately wrong backward (factor 3 instead of 2 for x^2).
  auto wrong_square = [](const Ts& t) {
    Tensor x = t[0];
    Tensor out = (x * x).detach();
    if (autograd::needs_graph({&x})) {
      autograd::record(
          "WrongSquareBackward", {x}, out,
          [saved = autograd::SavedTensor(x)](const Tensor& g, const std::vector<bool>&) {
            return std::vector<Tensor>{g * saved.get("wrong") * 3.0};
          });
    }
    return out;
  };
  auto result = gradcheck(wrong_square, {input({4}, 19)});
  CHECK_FALSE(result.ok);
  CHECK_THAT(result.message, Catch::Contains("input 0 (shape [4]), element"));
  CHECK_THAT(result.message, Catch::Contains("analytic"));
}
