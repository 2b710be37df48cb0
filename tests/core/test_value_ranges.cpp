// Issue 13, kind B: numbers that a dtype cannot represent. Every place a double or an int64
// becomes an element checks the range, as PyTorch's checked scalar conversion does ("value cannot
// be converted to type uint8_t without overflow"); int64 arithmetic wraps without undefined
// behaviour; 0-d reductions accept only dims -1 and 0; randint works at the int64 extremes.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <set>

#include <ember/autograd/ops.h>
#include <ember/core/checked.h>
#include <ember/core/generator.h>

using namespace ember;
using Catch::Contains;

namespace {
constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();
}  // namespace

TEST_CASE("value_fits follows each dtype's range", "[ranges]") {
  // PyTorch checks a number before dropping its fraction: torch.full((1,), 255.9,
  // dtype=torch.uint8) and torch.zeros(1, dtype=torch.uint8).fill_(-0.5) raise.
  CHECK(value_fits(255.0, kUInt8));
  CHECK(value_fits(0.0, kUInt8));
  CHECK_FALSE(value_fits(255.9, kUInt8));
  CHECK_FALSE(value_fits(-0.5, kUInt8));
  CHECK(value_fits(-1e300, kInt64) == false);
  CHECK(value_fits(2.7, kInt64));  // the fraction is dropped: 2
  CHECK_FALSE(value_fits(256.0, kUInt8));
  CHECK_FALSE(value_fits(-1.0, kUInt8));
  CHECK(value_fits(-0x1p63, kInt64));
  CHECK_FALSE(value_fits(0x1p63, kInt64));  // INT64_MAX + 1
  CHECK_FALSE(value_fits(kNaN, kInt64));
  CHECK_FALSE(value_fits(-kInf, kInt64));
  CHECK(value_fits(kInf, kFloat32));  // float32 holds inf and NaN
  CHECK(value_fits(kNaN, kFloat32));
  CHECK(value_fits(3.4e38, kFloat32));
  CHECK_FALSE(value_fits(1e39, kFloat32));
  CHECK_FALSE(value_fits(-1e300, kFloat32));
}

TEST_CASE("fill_ and the factories refuse values the dtype cannot hold", "[ranges]") {
  Tensor u = zeros({2}, kUInt8);
  // 300 used to become 44 (300 mod 256).
  CHECK_THROWS_WITH(u.fill_(300),
                    "fill_: value 300 cannot be converted to type uint8 without "
                    "overflow");
  CHECK_THROWS_WITH(u.fill_(-1), Contains("value -1 cannot be converted to type uint8"));
  Tensor i = zeros({2}, kInt64);
  // NaN into int64 is undefined behaviour (it gave INT64_MIN).
  CHECK_THROWS_WITH(i.fill_(kNaN),
                    "fill_: value nan cannot be converted to type int64 without "
                    "overflow");
  CHECK_THROWS_WITH(i.fill_(kInf), Contains("value inf cannot be converted to type int64"));
  CHECK_THROWS_WITH(i.fill_(1e19), Contains("value 1e+19 cannot be converted to type int64"));
  Tensor f = zeros({2});
  CHECK_THROWS_WITH(f.fill_(1e300),
                    "fill_: value 1e+300 cannot be converted to type float32 "
                    "without overflow");
  CHECK(u.to_vector<std::uint8_t>() == std::vector<std::uint8_t>{0, 0});  // nothing written
  CHECK(i.to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 0});
  // What fits is kept (fractions toward zero, as PyTorch); 255.9 does not fit uint8 (above).
  CHECK_THROWS_WITH(u.fill_(255.9), Contains("value 255.9 cannot be converted to type uint8"));
  CHECK(u.fill_(255.0).to_vector<std::uint8_t>() == std::vector<std::uint8_t>{255, 255});
  CHECK(i.fill_(-2.7).to_vector<std::int64_t>() == std::vector<std::int64_t>{-2, -2});
  CHECK(i.fill_(-0x1p63).to_vector<std::int64_t>() == std::vector<std::int64_t>{kMin, kMin});
  CHECK(std::isnan(f.fill_(kNaN).to_vector<float>()[0]));
  CHECK(std::isinf(f.fill_(-kInf).to_vector<float>()[0]));
  CHECK_THROWS_WITH(full({2}, 256, kUInt8),
                    "full: value 256 cannot be converted to type uint8 "
                    "without overflow");
  CHECK_THROWS_WITH(full({2}, kNaN, kInt64), Contains("full: value nan"));
  CHECK_THROWS_WITH(scalar_tensor(-3, kUInt8), Contains("scalar_tensor: value -3"));
  CHECK_THROWS_WITH(scalar_tensor(1e39), Contains("scalar_tensor: value 1e+39"));
}

TEST_CASE("a number in an op with a tensor must fit the tensor's dtype", "[ranges]") {
  // PyTorch 1.13: an integer number wraps into a uint8 tensor's dtype (u + 300 is u + 44); a float
  // number with an integer tensor promotes to float32 (see test_promotion.cpp), so nothing to
  // check.
  Tensor u = zeros({2}, kUInt8);
  CHECK((u + 300).to_vector<std::uint8_t>() == std::vector<std::uint8_t>{44, 44});
  Tensor i = ones({2}, kInt64);
  CHECK(std::isnan((i / kNaN).to_vector<float>()[0]));  // torch.ones(2, dtype=torch.long) / nan
  CHECK((kInf * i).dtype() == kFloat32);
  // In place there is no promotion: the number must fit the destination.
  CHECK_THROWS_WITH(i.mul_(kNaN),
                    "mul_: result type float32 can't be cast to the desired output type int64");
  CHECK_THROWS_WITH(i.add_(i, 1e19), Contains("add_: value 1e+19"));
  CHECK_THROWS_WITH(ones({2}).mul_(1e300), Contains("mul_: value 1e+300"));
  CHECK(i.to_vector<std::int64_t>() == std::vector<std::int64_t>{1, 1});
  CHECK((u + 255).to_vector<std::uint8_t>() == std::vector<std::uint8_t>{255, 255});
}

TEST_CASE("to() and copy_ refuse values the target dtype cannot hold", "[ranges]") {
  Tensor f = from_vector(std::vector<float>{1.5f, NAN}, {2});
  CHECK_THROWS_WITH(f.to(kInt64),
                    "to: value nan cannot be converted to type int64 without "
                    "overflow");
  CHECK_THROWS_WITH(from_vector(std::vector<float>{1e19f}, {1}).to(kInt64),
                    Contains("to: value 1e+19"));
  CHECK_THROWS_WITH(from_vector(std::vector<float>{-INFINITY}, {1}).to(kInt64),
                    Contains("to: value -inf"));
  CHECK_THROWS_WITH(from_vector(std::vector<float>{256.0f}, {1}).to(kUInt8),
                    "to: value 256 cannot be converted to type uint8 without overflow");
  // Integer to integer wraps, as PyTorch (torch.tensor([5, -1, 300]).to(torch.uint8) is
  // [5, 255, 44]): defined behaviour, unlike a float out of range.
  CHECK(from_vector(std::vector<std::int64_t>{5, -1, 300}, {3})
            .to(kUInt8)
            .to_vector<std::uint8_t>() == std::vector<std::uint8_t>{5, 255, 44});
  // Through a strided view, too.
  Tensor m = from_vector(std::vector<float>{1, 2, NAN, 4}, {2, 2});
  CHECK_THROWS_WITH(m.t().to(kInt64), Contains("to: value nan"));
  CHECK(m.narrow(0, 0, 1).to(kInt64).to_vector<std::int64_t>() == std::vector<std::int64_t>{1, 2});
  // copy_ converts the same way and writes nothing when a value does not fit.
  Tensor dst = zeros({2}, kInt64);
  CHECK_THROWS_WITH(dst.copy_(f),
                    "copy_: value nan cannot be converted to type int64 without "
                    "overflow");
  CHECK(dst.to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 0});
  // Widening conversions always fit.
  CHECK(from_vector(std::vector<std::int64_t>{kMax}, {1}).to(kFloat32).item<float>() == 0x1p63f);
  CHECK(from_vector(std::vector<float>{-2.7f, 255.5f}, {2}).to(kInt64).to_vector<std::int64_t>() ==
        std::vector<std::int64_t>{-2, 255});
  CHECK(from_vector(std::vector<float>{255.5f}, {1}).to(kUInt8).item<std::uint8_t>() == 255);
}

TEST_CASE("int64 arithmetic wraps around instead of overflowing", "[ranges]") {
  // Two's complement wrap-around, as PyTorch; computed without signed overflow (UB).
  const Tensor max = from_vector(std::vector<std::int64_t>{kMax}, {1});
  const Tensor min = from_vector(std::vector<std::int64_t>{kMin}, {1});
  CHECK((max + 1).item<std::int64_t>() == kMin);
  CHECK((min - 1).item<std::int64_t>() == kMax);
  CHECK((max * 2).item<std::int64_t>() == -2);
  CHECK((-min).item<std::int64_t>() == kMin);
  CHECK((min / -1).item<float>() == 0x1p63f);  // true division, in float32, as PyTorch
  CHECK(from_vector(std::vector<std::int64_t>{kMax, 1}, {2}).sum().item<std::int64_t>() == kMin);
  // Along a dim: [[max, max], [max, 1]] sums to [2 max, max + 1] = [-2, min].
  CHECK(from_vector(std::vector<std::int64_t>{kMax, kMax, kMax, 1}, {2, 2})
            .sum(0)
            .to_vector<std::int64_t>() == std::vector<std::int64_t>{-2, kMin});
  Tensor u = from_vector(std::vector<std::uint8_t>{200}, {1});
  CHECK((u + u).item<std::uint8_t>() == 144);  // 400 mod 256
}

TEST_CASE("reductions of a 0-d tensor accept only dims -1 and 0", "[ranges]") {
  const Tensor s = scalar_tensor(3.0);
  CHECK(s.sum(0).item<float>() == 3.0f);
  CHECK(s.sum(-1, true).dim() == 0);
  CHECK(s.mean(0).item<float>() == 3.0f);
  CHECK(std::get<0>(s.max(-1)).item<float>() == 3.0f);
  CHECK(s.argmax(0).item<std::int64_t>() == 0);
  const char* expected = " is out of range for a tensor of 0 dims (expected -1 <= dim < 1)";
  CHECK_THROWS_WITH(s.sum(1), std::string("sum: dim 1") + expected);
  CHECK_THROWS_WITH(s.sum(-2), std::string("sum: dim -2") + expected);
  CHECK_THROWS_WITH(s.mean(5), std::string("sum: dim 5") + expected);
  // max and argmax returned the tensor itself for any dim before.
  CHECK_THROWS_WITH(s.max(1), std::string("max: dim 1") + expected);
  CHECK_THROWS_WITH(s.max(kMin), std::string("max: dim -9223372036854775808") + expected);
  CHECK_THROWS_WITH(s.argmax(7), std::string("argmax: dim 7") + expected);
  CHECK_THROWS_WITH(argmax(s, -2, true), std::string("argmax: dim -2") + expected);
}

TEST_CASE("randint covers ranges up to the whole int64 line", "[ranges]") {
  Generator gen(3);
  // high - low overflowed int64 here (undefined behaviour, and a wrong range).
  Tensor all = randint(kMin, kMax, {64}, gen);
  std::set<std::int64_t> seen;
  bool negative = false, positive = false;
  for (std::int64_t v : all.to_vector<std::int64_t>()) {
    CHECK(v < kMax);
    seen.insert(v);
    negative = negative || v < 0;
    positive = positive || v > 0;
  }
  CHECK(seen.size() == 64);
  CHECK((negative && positive));
  CHECK(gen.randint(kMin, kMin + 1) == kMin);
  CHECK(gen.randint(kMax - 1, kMax) == kMax - 1);
  for (int k = 0; k < 100; ++k) {
    const std::int64_t v = gen.randint(-3, kMax);
    CHECK(v >= -3);
    const std::int64_t w = gen.randint(kMin, 2);
    CHECK(w < 2);
  }
  CHECK_THROWS_WITH(randint(kMax, kMax, {1}, gen),
                    "randint: empty range [9223372036854775807, 9223372036854775807)");
  CHECK_THROWS_WITH(gen.randint(5, kMin), Contains("randint: empty range [5, "));
}
