// Issue 13, kind A: shape arithmetic that would wrap around. Every product and sum of sizes,
// strides, offsets and byte counts is checked (core/include/ember/core/checked.h) and throws
// ember::Error naming the op and the shape, before anything is allocated or written.
#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>

#include <ember/autograd/ops.h>
#include <ember/core/checked.h>
#include <ember/core/generator.h>

using namespace ember;
using Catch::Contains;

namespace {
constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
}  // namespace

TEST_CASE("checked arithmetic throws naming the op, the operands and the shape", "[hostile]") {
  CHECK(checked_mul(1 << 20, 1 << 20, "op", {}) == std::int64_t{1} << 40);
  CHECK(checked_add(kMax - 1, 1, "op", {}) == kMax);
  CHECK_THROWS_WITH(checked_mul(std::int64_t{1} << 32, std::int64_t{1} << 31, "reshape", {2, 3}),
                    "reshape: integer overflow: 4294967296 * 2147483648 does not fit in int64 "
                    "(shape [2, 3])");
  CHECK_THROWS_WITH(checked_add(kMax, 1, "narrow", {3}),
                    "narrow: integer overflow: 9223372036854775807 + 1 does not fit in int64 "
                    "(shape [3])");
  CHECK(checked_numel({}, "op") == 1);
  CHECK(checked_numel({kMax, 0}, "op") == 0);  // a 0 anywhere: empty, however big the rest
  CHECK_THROWS_WITH(checked_numel({3, -2}, "zeros"), "zeros: negative size -2 in shape [3, -2]");
  CHECK_THROWS_WITH(checked_nbytes({std::int64_t{1} << 61}, kFloat32, "empty"),
                    "empty: storage size calculation overflowed with sizes=[2305843009213693952] "
                    "(float32, 4 bytes each)");
}

TEST_CASE("factories refuse shapes whose element or byte count overflows", "[hostile]") {
  // 2^62 floats are 2^64 bytes: the byte count used to wrap to 0 and zeros() wrote past it.
  CHECK_THROWS_WITH(zeros({std::int64_t{1} << 62}),
                    "zeros: storage size calculation overflowed with sizes=[4611686018427387904] "
                    "(float32, 4 bytes each)");
  // 2^20 * 2^20 * 2^24 = 2^64 elements: numel used to wrap to 0.
  CHECK_THROWS_WITH(zeros({1 << 20, 1 << 20, 1 << 24}),
                    "zeros: shape [1048576, 1048576, 16777216] has too many elements (the count "
                    "overflows int64)");
  CHECK_THROWS_WITH(ones({kMax, 2}, kUInt8), Contains("ones: shape [9223372036854775807, 2] has "
                                                      "too many elements"));
  CHECK_THROWS_WITH(empty({kMax}, kInt64), Contains("empty: storage size calculation overflowed"));
  CHECK_THROWS_WITH(full({3, 1LL << 62}, 1.0), Contains("full: shape [3, 4611686018427387904]"));
  CHECK_THROWS_WITH(empty({2, -1}), "empty: negative size -1 in shape [2, -1]");
  Generator gen(0);
  CHECK_THROWS_WITH(rand({1LL << 62}, gen), Contains("storage size calculation overflowed"));
  CHECK_THROWS_WITH(randn({1LL << 40, 1LL << 40}, gen), Contains("too many elements"));
  CHECK_THROWS_WITH(randint(0, 5, {1LL << 62}, gen), Contains("storage size calculation"));
  // A byte count that fits but cannot be allocated is an ember::Error too, not a crash.
  CHECK_THROWS_WITH(empty({1LL << 60}), Contains("out of memory: cannot allocate"));
  // Empty tensors are fine however large the other sizes, but their strides must still fit.
  CHECK(zeros({0, kMax}).numel() == 0);
  CHECK_THROWS_WITH(zeros({0, 1LL << 40, 1LL << 40}),
                    "strides: integer overflow: 1099511627776 * 1099511627776 does not fit in "
                    "int64 (shape [0, 1099511627776, 1099511627776])");
}

TEST_CASE("from_vector checks the shape's element count before comparing", "[hostile]") {
  // 2^32 * 2^32 wraps to 0 elements, which "matched" an empty vector.
  CHECK_THROWS_WITH(from_vector(std::vector<float>{}, {1LL << 32, 1LL << 32}),
                    Contains("from_vector: shape [4294967296, 4294967296] has too many elements"));
  CHECK_THROWS_WITH(from_vector(std::vector<float>{1, 2}, {-1, -2}),
                    "from_vector: negative size -1 in shape [-1, -2]");
  CHECK_THROWS_WITH(from_vector(std::vector<std::int64_t>{1, 2}, {3}),
                    "from_vector: 2 values cannot fill shape [3] (3 elements)");
}

TEST_CASE("arange refuses infinite, NaN and overflowing ranges", "[hostile]") {
  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH(arange(0.0, inf), "arange: unsupported range: 0 -> inf");
  CHECK_THROWS_WITH(arange(nan, 1.0), "arange: unsupported range: nan -> 1");
  CHECK_THROWS_WITH(arange(0.0, 1.0, nan), "arange: step must be nonzero and finite, got nan");
  CHECK_THROWS_WITH(arange(0.0, 1.0, 0.0), "arange: step must be nonzero and finite, got 0");
  CHECK_THROWS_WITH(arange(0.0, 1.0, -1.0), Contains("inconsistent with step sign"));
  // -1e308 .. 1e308: the distance overflows to inf.
  CHECK_THROWS_WITH(arange(-1e308, 1e308), Contains("arange: invalid size, possible overflow"));
  CHECK_THROWS_WITH(arange(0.0, 1e300, 1e-300),
                    Contains("arange: invalid size, possible overflow"));
  CHECK_THROWS_WITH(arange(kMax), Contains("arange: invalid size, possible overflow"));
  CHECK_THROWS_WITH(arange(0.0, 4e18, 1.0), Contains("arange: storage size calculation"));
  // Every value must fit the dtype: 0..299 does not fit uint8.
  CHECK_THROWS_WITH(arange(0.0, 300.0, 1.0, kUInt8),
                    "arange: value 299 cannot be converted to type uint8 without overflow");
  CHECK_THROWS_WITH(arange(-1.0, 3.0, 1.0, kUInt8), Contains("value -1 cannot be converted"));
  CHECK(arange(0.0, 256.0, 1.0, kUInt8).numel() == 256);
  CHECK(arange(3).to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 1, 2});
  CHECK(arange(1.0, 0.0, -0.5).to_vector<float>() == std::vector<float>{1.0f, 0.5f});
}

TEST_CASE("views check their offsets and sizes without overflowing", "[hostile]") {
  Tensor a = zeros({3, 4});
  // start + length used to overflow and pass the bounds check.
  CHECK_THROWS_WITH(a.narrow(0, 1, kMax),
                    "narrow: start 1 and length 9223372036854775807 are out of range for dim 0 of "
                    "shape [3, 4]");
  CHECK_THROWS_WITH(a.narrow(1, kMax, 1), Contains("narrow: start 9223372036854775807"));
  CHECK_THROWS_WITH(a.narrow(0, -1, 2), Contains("are out of range"));
  CHECK_THROWS_WITH(a.narrow(0, 2, 2), Contains("are out of range"));
  CHECK(a.narrow(0, 3, 0).numel() == 0);
  CHECK_THROWS_WITH(a.select(0, kMax),
                    Contains("select: index 9223372036854775807 is out of range"));
  CHECK_THROWS_WITH(a.select(0, kMin), Contains("select: index -9223372036854775808 is out"));
  CHECK_THROWS_WITH(a.transpose(kMin, 0), Contains("transpose: dim -9223372036854775808 is out"));
  // reshape/view: a requested shape whose product overflows, with or without a -1.
  CHECK_THROWS_WITH(a.reshape({1LL << 32, 1LL << 32, 0}),
                    Contains("reshape: shape [4294967296, 4294967296, 0] is invalid for input of "
                             "shape [3, 4]"));
  CHECK_THROWS_WITH(zeros({0}).reshape({-1, 1LL << 32, 1LL << 32}),
                    "reshape: integer overflow: 4294967296 * 4294967296 does not fit in int64 "
                    "(shape [-1, 4294967296, 4294967296])");
  CHECK_THROWS_WITH(a.view({1LL << 62, 4, 0}), Contains("view: shape [4611686018427387904, 4, 0] "
                                                        "is invalid for input of shape [3, 4]"));
  CHECK_THROWS_WITH(a.view({1LL << 62, 4}), Contains("view: shape [4611686018427387904, 4] "
                                                     "has too many elements"));
  // flatten of an empty tensor whose other sizes multiply past int64.
  Tensor e = zeros({0, 1LL << 31, 1LL << 31});
  CHECK(e.flatten(1).sizes() == Shape{0, 1LL << 62});
  Tensor big = zeros({1LL << 40, 1LL << 30, 0});
  CHECK_THROWS_WITH(big.flatten(0, 1), Contains("flatten: integer overflow: 1099511627776 * "
                                                "1073741824 does not fit in int64"));
}

TEST_CASE("0-d tensors accept dims -1 and 0 only and never index their empty shape", "[hostile]") {
  Tensor s = scalar_tensor(2.0);
  // These read sizes()[0] of a 0-d tensor's empty shape (out of bounds) before.
  CHECK_THROWS_WITH(s.size(0), "size: dimension specified as 0 but tensor has no dimensions");
  CHECK_THROWS_WITH(s.narrow(0, 0, 1), "narrow: narrow() cannot be applied to a 0-dim tensor");
  CHECK_THROWS_WITH(s.select(0, 0), "select: select() cannot be applied to a 0-dim tensor");
  CHECK(s.transpose(0, -1).dim() == 0);
  CHECK(s.squeeze(0).dim() == 0);
  CHECK_THROWS_WITH(s.transpose(0, 1), Contains("transpose: dim 1 is out of range"));
  CHECK_THROWS_WITH(s.squeeze(5), Contains("squeeze: dim 5 is out of range"));
  CHECK(s.unsqueeze(0).sizes() == Shape{1});
  CHECK(s.flatten(0, -1).sizes() == Shape{1});
  CHECK_THROWS_WITH(s.flatten(5),
                    Contains("flatten: dim 5 is out of range for a tensor of 0 dims"));
  CHECK_THROWS_WITH(s.unsqueeze(2), Contains("unsqueeze: dim 2 is out of range"));
}

TEST_CASE("matmul sizes its output with checked arithmetic", "[hostile]") {
  // [2^31, 0] @ [0, 2^31] is 2^62 floats: 2^64 bytes.
  CHECK_THROWS_WITH(matmul(zeros({1LL << 31, 0}), zeros({0, 1LL << 31})),
                    Contains("storage size calculation overflowed with sizes=[2147483648, "
                             "2147483648]"));
  // Many empty batches: nothing to compute, and no loop over 2^40 batches.
  Tensor out = matmul(zeros({1LL << 40, 0, 3}), zeros({3, 2}));
  CHECK(out.sizes() == Shape{1LL << 40, 0, 2});
  // K == 0 gives zeros.
  CHECK(matmul(zeros({2, 0}), zeros({0, 2})).to_vector<float>() == std::vector<float>(4, 0.0f));
}

TEST_CASE("a storage is never larger than an int64 byte offset can reach", "[hostile]") {
  // The allocator rounded SIZE_MAX up to 0 and handed back 64 bytes.
  CHECK_THROWS_WITH(Storage(std::numeric_limits<std::size_t>::max()),
                    "Storage: cannot allocate 18446744073709551615 bytes (more than 2^63 - 1)");
  CHECK_THROWS_WITH(Storage(std::size_t{1} << 63), Contains("Storage: cannot allocate"));
  CHECK(Storage(0).nbytes == 0);
}

TEST_CASE("reductions of empty tensors with huge sizes neither overflow nor loop", "[hostile]") {
  const std::int64_t big = std::int64_t{1} << 40;
  Tensor e = zeros({big, big, 0});  // strides [2^40, 1, 1]: valid, 0 elements
  CHECK(e.sum(0).sizes() == Shape{big, 0});
  CHECK(e.sum(1, true).sizes() == Shape{big, 1, 0});
  CHECK(std::get<0>(e.max(1)).sizes() == Shape{big, 0});
  CHECK(e.mean(0).numel() == 0);
  // The result itself would have 2^80 elements.
  CHECK_THROWS_WITH(e.sum(2), Contains("has too many elements"));
  Tensor f = zeros({big, big, 5, 0});
  CHECK(f.sum(2).sizes() == Shape{big, big, 0});
  CHECK(argmax(f, 2).sizes() == Shape{big, big, 0});
  CHECK(e.sum().item<float>() == 0.0f);
}
