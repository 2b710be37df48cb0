// Comparison masks: ember's are uint8 where PyTorch's are bool. These are the tutorial lines
// that use a mask, each against what PyTorch 1.13 prints (run with /usr/bin/python3):
//
//   import torch
//   pred = torch.tensor([1, 2, 3, 4]); y = torch.tensor([1, 0, 3, 4])
//   m = pred == y                          # tensor([ True, False,  True,  True])
//   x = torch.tensor([1.5, -2.0, 3.0, 4.0])
//
// and then the lines where a uint8 mask gives another number than PyTorch's bool one, which the
// README lists.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include <ember/autograd/ops.h>

using namespace ember;
using U8 = std::vector<std::uint8_t>;

namespace {

struct Fixture {
  Tensor pred = tensor({1, 2, 3, 4});
  Tensor y = tensor({1, 0, 3, 4});
  Tensor m = pred == y;
  Tensor x = tensor({1.5f, -2.0f, 3.0f, 4.0f});
};

}  // namespace

TEST_CASE("masks: the tutorial lines give PyTorch's numbers", "[ops][masks]") {
  const Fixture f;
  const Tensor& m = f.m;
  const Tensor& x = f.x;
  REQUIRE(m.dtype() == kUInt8);
  CHECK(m.to_vector<std::uint8_t>() == U8{1, 0, 1, 1});
  // m.sum() -> tensor(3) (int64); m.sum() / 4.0 -> tensor(0.7500)
  CHECK(m.sum().dtype() == kInt64);
  CHECK(m.sum().item<std::int64_t>() == 3);
  CHECK((m.sum() / 4.0).item<float>() == 0.75f);
  // m * 2.0 -> tensor([2., 0., 2., 2.]); m.to(torch.float32).mean() -> tensor(0.7500)
  CHECK((m * 2.0).to_vector<float>() == std::vector<float>{2, 0, 2, 2});
  CHECK(m.to(kFloat32).mean().item<float>() == 0.75f);
  // m * torch.arange(4) -> tensor([0, 0, 2, 3]) (int64); x * m -> tensor([ 1.5, -0., 3., 4.])
  CHECK((m * arange(4)).dtype() == kInt64);
  CHECK((x * m).to_vector<float>() == std::vector<float>{1.5f, 0.0f, 3, 4});
  // torch.where(m, x, torch.tensor(0.)) -> tensor([1.5000, 0.0000, 3.0000, 4.0000])
  CHECK(where(m, x, zeros({})).to_vector<float>() == std::vector<float>{1.5f, 0, 3, 4});
  // x[m] -> tensor([1.5000, 3.0000, 4.0000]); x.masked_fill(m, 0.) -> tensor([ 0., -2., 0., 0.])
  CHECK(x.index({m}).to_vector<float>() == std::vector<float>{1.5f, 3, 4});
  CHECK(x.masked_fill(m, 0.0).to_vector<float>() == std::vector<float>{0, -2, 0, 0});
  // m == 1 -> tensor([ True, False,  True,  True]); m.max() -> tensor(True)
  CHECK((m == 1).to_vector<std::uint8_t>() == U8{1, 0, 1, 1});
  CHECK(m.max().item<double>() == 1.0);
  // m.mean() -> "mean(): could not infer output dtype. Input dtype must be either a floating
  // point or complex dtype. Got: Bool"
  CHECK_THROWS_WITH(
      m.mean(), "mean: expected a float32 tensor, got uint8 (convert with .to(ember::kFloat32))");
  // m.exp() -> tensor([2.7183, 1.0000, 2.7183, 2.7183]) (float32)
  CHECK(m.exp().to_vector<float>() ==
        std::vector<float>{std::exp(1.0f), 1.0f, std::exp(1.0f), std::exp(1.0f)});
}

TEST_CASE("masks: logical_not, logical_and, logical_or, logical_xor as PyTorch's", "[ops][masks]") {
  const Fixture f;
  const Tensor& m = f.m;
  const Tensor& x = f.x;
  // ~m, m.logical_not() -> tensor([False,  True, False, False])
  CHECK(m.logical_not().to_vector<std::uint8_t>() == U8{0, 1, 0, 0});
  CHECK(logical_not(m).to_vector<std::uint8_t>() == U8{0, 1, 0, 0});
  // torch.logical_and(m, x > 2) -> [F, F, T, T]; torch.logical_or(m, x < 0) -> [T, T, T, T];
  // torch.logical_xor(m, x > 2) -> [T, F, F, F]
  CHECK(logical_and(m, x > 2).to_vector<std::uint8_t>() == U8{0, 0, 1, 1});
  CHECK(logical_or(m, x < 0).to_vector<std::uint8_t>() == U8{1, 1, 1, 1});
  CHECK(logical_xor(m, x > 2).to_vector<std::uint8_t>() == U8{1, 0, 0, 0});
  // Any dtype, nonzero (NaN too) is true, and shapes broadcast:
  // torch.logical_not(torch.tensor([0., nan, -1.])) -> [T, F, F]
  // torch.logical_not(torch.tensor([0, 3, 255], dtype=torch.uint8)) -> [T, F, F]
  // torch.logical_and(torch.tensor([[1], [0]]), torch.tensor([2., 0.])) -> [[T, F], [F, F]]
  CHECK(logical_not(tensor({0.0f, NAN, -1.0f})).to_vector<std::uint8_t>() == U8{1, 0, 0});
  CHECK(logical_not(tensor({0, 3, 255}).to(kUInt8)).to_vector<std::uint8_t>() == U8{1, 0, 0});
  const Tensor both = logical_and(tensor({{1}, {0}}), tensor({2.0f, 0.0f}));
  CHECK(both.sizes() == Shape{2, 2});
  CHECK(both.to_vector<std::uint8_t>() == U8{1, 0, 0, 0});
  CHECK(!logical_or(m, x > 0).requires_grad());
  CHECK_THROWS_WITH(logical_not(Tensor()), "logical_not: the tensor is undefined");
  CHECK_THROWS_WITH(logical_and(m, Tensor()), "logical_and: an input is undefined");
  CHECK_THROWS_WITH(logical_xor(zeros({2}), zeros({3})),
                    Catch::Contains("[2]") && Catch::Contains("[3]"));
}

TEST_CASE("masks: where a uint8 mask differs from PyTorch's bool (listed in the README)",
          "[ops][masks]") {
  // Pinned so that a change (a bool dtype, one day) shows up here and the README is updated.
  const Fixture f;
  const Tensor& m = f.m;
  // m + m -> tensor([ True, False,  True,  True]) (bool addition is or); ember adds: 2.
  CHECK((m + m).to_vector<std::uint8_t>() == U8{2, 0, 2, 2});
  // m * 300 -> tensor([300, 0, 300, 300]) (bool with an int number is int64); ember keeps uint8,
  // which wraps: 300 mod 256 = 44. Convert first: m.to(kInt64) * 300.
  CHECK((m * 300).to_vector<std::uint8_t>() == U8{44, 0, 44, 44});
  CHECK((m.to(kInt64) * 300).to_vector<std::int64_t>() ==
        std::vector<std::int64_t>{300, 0, 300, 300});
  // -m, m - 1, 1 - m -> PyTorch raises ("use the `~` or `logical_not()` operator instead");
  // ember computes in uint8: -m and m - 1 wrap to 255, 1 - m is logical_not(m).
  CHECK((-m).to_vector<std::uint8_t>() == U8{255, 0, 255, 255});
  CHECK((m - 1).to_vector<std::uint8_t>() == U8{0, 255, 0, 0});
  CHECK((1 - m).to_vector<std::uint8_t>() == logical_not(m).to_vector<std::uint8_t>());
  // x[m * 1] -> m * 1 is int64 in PyTorch, so it picks positions 1, 0, 1, 1; in ember it is
  // still a uint8 mask and selects elements 0, 2, 3.
  CHECK(f.x.index({m * 1}).to_vector<float>() == std::vector<float>{1.5f, 3, 4});
  // m.abs(), m.relu(), m.argmax() -> PyTorch raises ("abs_cpu" not implemented for 'Bool',
  // "Boolean inputs not supported for relu", "argmax_cpu" not implemented for 'Bool'); ember
  // treats the mask as the uint8 numbers it is.
  CHECK(m.abs().to_vector<std::uint8_t>() == U8{1, 0, 1, 1});
  CHECK(m.relu().to_vector<std::uint8_t>() == U8{1, 0, 1, 1});
  CHECK(m.argmax(0).item<std::int64_t>() == 0);
}
