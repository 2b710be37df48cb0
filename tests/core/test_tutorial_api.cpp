// The tensor API the tutorials need: matmul's whole 1-d/2-d/batched table, narrow from the end,
// item<double>(), printing sizes, tensors from nested braces, random factories on the default
// generator, and the in-place ops (sub_, div_, mul_, normal_, uniform_).
#include <catch2/catch.hpp>

#include <sstream>

#include "support/gradcheck.h"

#include <ember/autograd/grad_mode.h>
#include <ember/autograd/ops.h>
#include <ember/core/generator.h>

using namespace ember;
using Ts = std::vector<Tensor>;

namespace {

Tensor input(Shape shape, std::uint64_t seed) {
  Generator gen(seed);
  return randn(shape, gen).requires_grad_();
}

}  // namespace

TEST_CASE("matmul: gradchecks over PyTorch's whole table of 1-d, 2-d and batched operands",
          "[ops][matmul]") {
  // The values and gradients for the same table against PyTorch are the golden matmul_* cases
  // (test_ops_golden.cpp).
  const std::vector<std::pair<Shape, Shape>> table = {{{3}, {3}},
                                                      {{2, 3}, {3}},
                                                      {{3}, {3, 4}},
                                                      {{2, 3}, {3, 4}},
                                                      {{5, 2, 3}, {3}},
                                                      {{3}, {5, 3, 4}},
                                                      {{5, 2, 3}, {3, 4}},
                                                      {{2, 3}, {5, 3, 4}},
                                                      {{5, 2, 3}, {5, 3, 4}},
                                                      {{2, 1, 2, 3}, {4, 3, 2}}};
  for (const auto& [a, b] : table) {
    INFO(to_string(a) << " @ " << to_string(b));
    CHECK_GRADCHECK([](const Ts& t) { return matmul(t[0], t[1]); }, input(a, 1), input(b, 2));
  }
}

TEST_CASE("matmul: two 1-d tensors give the 0-d dot product and its gradient", "[ops][matmul]") {
  // a = torch.tensor([1., 2., 3.], requires_grad=True); b = torch.tensor([4., 5., 6.])
  // d = a @ b -> tensor(32.); d.backward(); a.grad -> tensor([4., 5., 6.])
  Tensor a = tensor({1.f, 2.f, 3.f}).requires_grad_();
  Tensor d = a.matmul(tensor({4.f, 5.f, 6.f}));
  CHECK(d.dim() == 0);
  CHECK(d.item<float>() == 32.0f);
  d.backward();
  CHECK(a.grad().to_vector<float>() == std::vector<float>{4, 5, 6});
  // Non-contiguous 1-d operands: a column of a [3, 2] and a row of a transposed one.
  Tensor base = input({3, 2}, 3), other = input({2, 3}, 4);
  CHECK_GRADCHECK([](const Ts& t) { return matmul(t[0].select(1, 1), t[1].t().select(1, 0)); },
                  base, other);
}

TEST_CASE("matmul: errors name the shapes the user passed", "[ops][matmul]") {
  // torch.randn(3) @ torch.randn(4): "inconsistent tensor size, expected tensor [3] and src [4]
  // to have the same number of elements"; ours names both shapes as given.
  CHECK_THROWS_WITH(matmul(zeros({3}), zeros({4})),
                    "matmul: shapes [3] and [4] cannot be multiplied (3 != 4)");
  CHECK_THROWS_WITH(matmul(zeros({2, 3}), zeros({4})),
                    "matmul: shapes [2, 3] and [4] cannot be multiplied (3 != 4)");
  CHECK_THROWS_WITH(matmul(zeros({4}), zeros({3, 2})),
                    "matmul: shapes [4] and [3, 2] cannot be multiplied (4 != 3)");
  CHECK_THROWS_WITH(matmul(zeros({2, 2, 3}), zeros({3, 3, 1})),
                    "matmul: shapes [2, 2, 3] and [3, 3, 1] have batch dims that cannot be "
                    "broadcast together (2 vs 3)");
  CHECK_THROWS_WITH(matmul(zeros({2}, kInt64), zeros({2})),
                    "matmul: expected float32 tensors, got int64 and float32");
}

TEST_CASE("narrow counts a negative start from the end", "[ops]") {
  // torch.arange(5).narrow(0, -2, 2) -> tensor([3, 4])
  CHECK(arange(5).narrow(0, -2, 2).to_vector<std::int64_t>() == std::vector<std::int64_t>{3, 4});
  CHECK(arange(6).reshape({2, 3}).narrow(-1, -3, 1).to_vector<std::int64_t>() ==
        std::vector<std::int64_t>{0, 3});
  CHECK_THROWS_WITH(arange(5).narrow(0, -6, 1),
                    "narrow: start -6 and length 1 are out of range for dim 0 of shape [5]");
  Tensor x = input({4}, 5);
  CHECK_GRADCHECK([](const Ts& t) { return t[0].narrow(0, -3, 2); }, x);
}

TEST_CASE("item<double>() converts from every dtype", "[tensor]") {
  CHECK(scalar_tensor(2.5).item<double>() == 2.5);
  CHECK(scalar_tensor(-7, kInt64).item<double>() == -7.0);
  CHECK(scalar_tensor(200, kUInt8).item<double>() == 200.0);
  CHECK(arange(3).select(0, 2).item<double>() == 2.0);  // a view with an offset
  CHECK_THROWS_WITH(arange(3).item<double>(),
                    "item: expected a tensor with one element, got shape [3]");
}

TEST_CASE("sizes print as [2, 3]", "[tensor]") {
  std::ostringstream out;
  out << zeros({2, 3}).sizes() << " " << zeros({}).sizes();
  CHECK(out.str() == "[2, 3] []");
}

TEST_CASE("tensor() takes nested braces and infers shape and dtype", "[tensor]") {
  // torch.tensor([1., 2.]).dtype -> float32; torch.tensor([[1, 2], [3, 4]]).dtype -> int64;
  // torch.tensor([1, 2.5]).dtype -> float32; torch.tensor(3.5).shape -> torch.Size([])
  const Tensor f = tensor({1.f, 2.f});
  CHECK(f.dtype() == kFloat32);
  CHECK(f.sizes() == Shape{2});
  const Tensor i = tensor({{1, 2}, {3, 4}});
  CHECK(i.dtype() == kInt64);
  CHECK(i.sizes() == Shape{2, 2});
  CHECK(i.to_vector<std::int64_t>() == std::vector<std::int64_t>{1, 2, 3, 4});
  CHECK(tensor({1, 2.5}).dtype() == kFloat32);
  CHECK(tensor({1, 2.5}).to_vector<float>() == std::vector<float>{1, 2.5f});
  CHECK(tensor(3.5).sizes() == Shape{});
  CHECK(tensor({{{1.0}, {2.0}}}).sizes() == Shape{1, 2, 1});
  CHECK(tensor({true, false}).dtype() == kUInt8);
  CHECK(tensor({1, 2}, kFloat32).to_vector<float>() == std::vector<float>{1, 2});
  // torch.tensor([-1, 255], dtype=torch.uint8) -> [255, 255]; with 300 it raises "value cannot be
  // converted to type uint8 without overflow" (issue 22; see test_value_ranges_ops.cpp).
  CHECK(tensor({-1, 255}, kUInt8).to_vector<std::uint8_t>() == std::vector<std::uint8_t>{255, 255});
  CHECK_THROWS_WITH(tensor({-1, 300}, kUInt8), Catch::Contains("value 300 cannot be converted"));
  const Tensor empty_list = tensor({});
  CHECK(empty_list.sizes() == Shape{0});
  CHECK(empty_list.dtype() == kFloat32);
  // torch.tensor([[1, 2], [3]]) -> "expected sequence of length 2 at dim 1 (got 1)"
  CHECK_THROWS_WITH(tensor({{1, 2}, {3}}),
                    "tensor: ragged nested list: at index [1] expected a "
                    "list of 2, got 1 elements (inferred shape [2, 2])");
  CHECK_THROWS_WITH(tensor({{1, 2}, 3}),
                    "tensor: ragged nested list: at index [1] expected a "
                    "list of 2, got a number (inferred shape [2, 2])");
  CHECK_THROWS_WITH(tensor({1, {2}}),
                    "tensor: ragged nested list: at index [1] expected a "
                    "number, got a list (inferred shape [2])");
}

TEST_CASE("random factories use the default generator, reseeded by manual_seed", "[tensor]") {
  manual_seed(7);
  const Tensor a = randn({2, 3});
  const Tensor u = rand({4});
  const Tensor k = randint(0, 10, {5});
  Generator gen(7);
  CHECK(a.to_vector<float>() == randn({2, 3}, gen).to_vector<float>());
  CHECK(u.to_vector<float>() == rand({4}, gen).to_vector<float>());
  CHECK(k.to_vector<std::int64_t>() == randint(0, 10, {5}, gen).to_vector<std::int64_t>());
  manual_seed(7);
  CHECK(randn_like(a).to_vector<float>() == a.to_vector<float>());
  CHECK(rand_like(a).sizes() == Shape{2, 3});
}

TEST_CASE("in place: sub_, mul_, div_, normal_ and uniform_", "[tensor][inplace]") {
  Tensor x = tensor({4.f, 6.f});
  x.sub_(tensor({1.f, 2.f}));
  CHECK(x.to_vector<float>() == std::vector<float>{3, 4});
  x.sub_(tensor({1.f, 1.f}), 2.0);
  CHECK(x.to_vector<float>() == std::vector<float>{1, 2});
  x.mul_(tensor({3.f, 2.f}));
  x.div_(tensor({2.f, 8.f}));
  CHECK(x.to_vector<float>() == std::vector<float>{1.5f, 0.5f});
  x.div_(0.5);
  CHECK(x.to_vector<float>() == std::vector<float>{3, 1});
  Tensor i = arange(3);
  // torch.arange(3).div_(2) -> "result type Float can't be cast to the desired output type Long"
  CHECK_THROWS_WITH(i.div_(2),
                    "div_: result type float32 can't be cast to the desired output "
                    "type int64 (shape [3])");
  CHECK_THROWS_WITH(i.mul_(0.5),
                    "mul_: result type float32 can't be cast to the desired output "
                    "type int64");
  CHECK_THROWS_WITH(i.add_(arange(3), 0.5),
                    "add_: a int64 other with alpha 0.5 can't be added "
                    "into a int64 tensor (float into integer)");
  CHECK_THROWS_WITH(zeros({3}).sub_(zeros({2, 3})),
                    "sub_: the result has shape [2, 3], which doesn't match the tensor's shape [3] "
                    "(in-place ops cannot broadcast their destination)");

  // normal_ and uniform_ draw the same numbers as randn / rand, on any strides.
  Tensor base = zeros({3, 2});
  Tensor view = base.t();  // [2, 3], strides [1, 2]
  Generator g1(3), g2(3);
  view.normal_(1.0, 2.0, &g1);
  CHECK(view.to_vector<float>() == (randn({2, 3}, g2) * 2.0 + 1.0).to_vector<float>());
  view.uniform_(-1.0, 1.0, &g1);
  CHECK(view.to_vector<float>() == (rand({2, 3}, g2) * 2.0 - 1.0).to_vector<float>());
  for (float v : view.to_vector<float>()) CHECK((v >= -1.0f && v < 1.0f));
  CHECK_THROWS_WITH(arange(3).normal_(),
                    "normal_: expected a float32 tensor, got int64 of shape "
                    "[3]");
  CHECK_THROWS_WITH(zeros({2}).uniform_(1.0, 0.0),
                    "uniform_: expects from <= to, got from=1 > "
                    "to=0");
  Tensor w = zeros({2}).requires_grad_();
  CHECK_THROWS_WITH(w.normal_(),
                    "normal_: in-place change of a tensor that requires grad (a leaf: "
                    "update it inside a NoGradGuard)");
}
