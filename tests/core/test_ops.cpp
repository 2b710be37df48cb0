// Elementwise arithmetic with broadcasting, comparisons, reductions and matmul (forward values).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>

#include <ember/autograd/ops.h>
#include <ember/core/generator.h>
#include <ember/core/parallel.h>

using namespace ember;
using Catch::Contains;

namespace {
Tensor vec(std::vector<float> v, Shape s) {
  return from_vector(v, s);
}
}  // namespace

TEST_CASE("arithmetic broadcasts like NumPy", "[ops]") {
  Tensor a = vec({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor row = vec({10, 20, 30}, {3});
  Tensor col = vec({100, 200}, {2, 1});
  CHECK((a + row).to_vector<float>() == std::vector<float>{11, 22, 33, 14, 25, 36});
  CHECK((a + col).to_vector<float>() == std::vector<float>{101, 102, 103, 204, 205, 206});
  CHECK((row + col).sizes() == Shape{2, 3});  // [3] with [2,1] -> [2,3]
  CHECK((a - 1).to_vector<float>() == std::vector<float>{0, 1, 2, 3, 4, 5});
  CHECK((2 * a).to_vector<float>() == std::vector<float>{2, 4, 6, 8, 10, 12});
  CHECK((a / 2).to_vector<float>() == std::vector<float>{0.5f, 1, 1.5f, 2, 2.5f, 3});
  CHECK((1 / vec({4}, {1})).item<float>() == 0.25f);
  CHECK((-a).at<float>({1, 2}) == -6.0f);
  CHECK((a * a.t().t()).at<float>({1, 1}) == 25.0f);
  // Non-contiguous operands: a.t() is [3,2] with strides [1,3].
  CHECK((a.t() + vec({0, 0}, {2})).to_vector<float>() == std::vector<float>{1, 4, 2, 5, 3, 6});
  CHECK(exp(vec({0, 1}, {2})).to_vector<float>() == std::vector<float>{1.0f, std::exp(1.0f)});
  CHECK(log(vec({1, 0}, {2})).to_vector<float>()[1] == -INFINITY);
  Tensor i = arange(4);
  CHECK((i * 3).to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 3, 6, 9});
  // True division, as PyTorch: torch.arange(4) / 2 -> tensor([0.0000, 0.5000, 1.0000, 1.5000])
  CHECK((i / 2).to_vector<float>() == std::vector<float>{0, 0.5f, 1, 1.5f});
}

TEST_CASE("elementwise ops visit views in row-major order whatever their strides", "[ops]") {
  // Rows of contiguous dims are merged into one long run before the loop (a contiguous [2, 3, 4]
  // is walked as 24 elements); views whose dims cannot merge must still come out in order.
  const Tensor x = arange(24).to(kFloat32).reshape({2, 3, 4});
  auto expect = [](const Tensor& v) {  // v's elements read one by one with at()
    std::vector<float> out;
    for (std::int64_t i = 0; i < v.size(0); ++i)
      for (std::int64_t j = 0; j < v.size(1); ++j)
        for (std::int64_t k = 0; k < v.size(2); ++k) out.push_back(v.at<float>({i, j, k}));
    return out;
  };
  const Tensor views[] = {
      x,                                  // contiguous: one run of 24
      x.transpose(0, 2),                  // [4, 3, 2], nothing merges
      x.narrow(2, 1, 2),                  // [2, 3, 2], rows of 2 with gaps
      x.narrow(1, 0, 2),                  // [2, 2, 4]: dims 1 and 2 merge, dim 0 does not
      x.select(1, 1).unsqueeze(1),        // [2, 1, 4]: a size-1 dim in the middle
      x.narrow(0, 1, 1).transpose(1, 2),  // [1, 4, 3]
  };
  for (const Tensor& v : views) {
    INFO("shape " << to_string(v.sizes()) << " strides " << to_string(v.strides()));
    CHECK((v + 0.0f).to_vector<float>() == expect(v));
    CHECK(v.to_vector<float>() == expect(v));
    CHECK(v.contiguous().to_vector<float>() == expect(v));
  }
  // Broadcast operands (stride 0) merge only where the others allow: [2, 3, 4] + [3, 1].
  const Tensor col = vec({100, 200, 300}, {3, 1});
  const std::vector<float> sum = (x + col).to_vector<float>();
  for (std::int64_t i = 0; i < 24; ++i)
    CHECK(sum[static_cast<std::size_t>(i)] == static_cast<float>(i + 100 * (i / 4 % 3 + 1)));
  // fill_ on a view writes only the view's elements.
  Tensor y = zeros({3, 4});
  y.narrow(1, 1, 2).fill_(1.0);
  CHECK(y.to_vector<float>() == std::vector<float>{0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0});
}

TEST_CASE("arithmetic errors name the op and both shapes or dtypes", "[ops]") {
  CHECK_THROWS_WITH(zeros({2, 3}) + zeros({4}),
                    "add: shapes [2, 3] and [4] cannot be broadcast together (dim 1: 3 vs 4)");
  CHECK_THROWS_WITH(zeros({2}) - true,
                    "sub: subtraction with a bool number is not supported (use an int, or logical "
                    "ops)");
  // exp(arange(3)) is float32, as PyTorch's (tests/core/test_unary_dtypes.cpp); mean refuses
  // integers, as PyTorch's.
  CHECK_THROWS_WITH(
      arange(3).mean(),
      "mean: expected a float32 tensor, got int64 (convert with .to(ember::kFloat32))");
}

TEST_CASE("comparisons give uint8 masks that count with sum", "[ops]") {
  Tensor pred = from_vector(std::vector<std::int64_t>{1, 2, 3, 4}, {4});
  Tensor label = from_vector(std::vector<std::int64_t>{1, 0, 3, 0}, {4});
  Tensor hits = pred == label;
  CHECK(hits.dtype() == kUInt8);
  CHECK(hits.to_vector<std::uint8_t>() == std::vector<std::uint8_t>{1, 0, 1, 0});
  CHECK(hits.sum().item<std::int64_t>() == 2);
  CHECK((pred != label).sum().item<std::int64_t>() == 2);
  CHECK((pred > label).to_vector<std::uint8_t>() == std::vector<std::uint8_t>{0, 1, 0, 1});
  CHECK((pred >= label).sum().item<std::int64_t>() == 4);
  CHECK((pred < label).sum().item<std::int64_t>() == 0);
  CHECK((pred <= label).sum().item<std::int64_t>() == 2);
  CHECK(hits.to(kFloat32).mean().item<float>() == 0.5f);  // accuracy
}

TEST_CASE("reductions over all elements and along a dim", "[ops]") {
  Tensor a = vec({1, 2, 3, 4, 5, 6}, {2, 3});
  CHECK(a.sum().item<float>() == 21.0f);  // 1+2+3+4+5+6
  CHECK(a.sum(0).to_vector<float>() == std::vector<float>{5, 7, 9});
  CHECK(a.sum(1).to_vector<float>() == std::vector<float>{6, 15});
  CHECK(a.sum(-1, true).sizes() == Shape{2, 1});
  CHECK(a.mean().item<float>() == 3.5f);
  CHECK(a.mean(0).to_vector<float>() == std::vector<float>{2.5f, 3.5f, 4.5f});
  CHECK(a.max().item<float>() == 6.0f);
  auto [values, indices] = vec({3, 9, 9, 1, 0, 2}, {2, 3}).max(1);
  CHECK(values.to_vector<float>() == std::vector<float>{9, 2});
  CHECK(indices.to_vector<std::int64_t>() == std::vector<std::int64_t>{1, 2});  // first maximum
  CHECK(vec({3, 9, 9, 1, 0, 2}, {2, 3}).argmax(0).to_vector<std::int64_t>() ==
        std::vector<std::int64_t>{0, 0, 0});
  // NaN wins max and argmax, as in PyTorch.
  CHECK(vec({1, NAN, 3}, {3}).argmax(0).item<std::int64_t>() == 1);
  CHECK(std::isnan(vec({1, NAN, 3}, {3}).max().item<float>()));
  CHECK(std::isnan(zeros({0}).mean().item<float>()));
  CHECK(zeros({0}).sum().item<float>() == 0.0f);
  // A long run is summed in 8 interleaved double accumulators (Note [Fixed reduction order]):
  // 1 + 2 + ... + 1003 = 503506, exact in any order; 1e8 + 1 - 1e8 per lane needs the doubles.
  CHECK(arange(1, 1004).sum().item<float>() == 503506.0f);
  CHECK(arange(1, 1004, 1, kInt64).sum().item<std::int64_t>() == 503506);
  Tensor lanes = zeros({3, 24});
  for (std::int64_t j = 0; j < 24; ++j) {
    lanes.narrow(1, j, 1).fill_(j < 8 ? 1e8 : (j < 16 ? 1.0 : -1e8));
  }
  CHECK(lanes.sum(1).to_vector<float>() == std::vector<float>{8, 8, 8});
  CHECK_THROWS_WITH(zeros({2, 0}).max(1),
                    "max: cannot reduce over dim 1 of size 0 in shape [2, 0]");
  CHECK_THROWS_WITH(a.sum(2),
                    "sum: dim 2 is out of range for a tensor of 2 dims (expected -2 <= dim < 2)");
  CHECK_THROWS_WITH(
      arange(3).mean(),
      "mean: expected a float32 tensor, got int64 (convert with .to(ember::kFloat32))");
}

TEST_CASE("matmul multiplies 2-d, batched and 1-d operands", "[ops][matmul]") {
  // [[1 2 3] [4 5 6]] @ [[1 0] [0 1] [1 1]] = [[1+3, 2+3] [4+6, 5+6]]
  Tensor a = vec({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = vec({1, 0, 0, 1, 1, 1}, {3, 2});
  CHECK(matmul(a, b).to_vector<float>() == std::vector<float>{4, 5, 10, 11});
  CHECK(a.matmul(a.t()).to_vector<float>() ==
        std::vector<float>{14, 32, 32, 77});  // transposed view
  CHECK(matmul(vec({1, 1}, {2}), a).to_vector<float>() == std::vector<float>{5, 7, 9});
  CHECK(matmul(a, vec({1, 1, 1}, {3})).to_vector<float>() == std::vector<float>{6, 15});
  Tensor batch = matmul(a.unsqueeze(0) * vec({1, 2}, {2, 1, 1}), b);  // [2,2,3] @ [3,2]
  CHECK(batch.sizes() == Shape{2, 2, 2});
  CHECK(batch.to_vector<float>() == std::vector<float>{4, 5, 10, 11, 8, 10, 20, 22});
  CHECK(matmul(zeros({4, 0}), zeros({0, 3})).to_vector<float>() == std::vector<float>(12, 0.0f));
  CHECK_THROWS_WITH(matmul(zeros({256, 784}), zeros({785, 10})),
                    "matmul: shapes [256, 784] and [785, 10] cannot be multiplied (784 != 785)");
  CHECK_THROWS_WITH(matmul(arange(4), arange(4)),
                    "matmul: expected float32 tensors, got int64 and int64");
}

TEST_CASE("matmul and sum give bitwise-identical results at 1 and 2 threads",
          "[ops][determinism]") {
  Generator gen(7);
  Tensor x = randn({256, 784}, gen), w = randn({784, 256}, gen), w10 = randn({10, 784}, gen);
  const int saved = get_num_threads();
  auto run = [&](int threads) {
    set_num_threads(threads);
    std::vector<float> out = matmul(x, w).to_vector<float>();
    auto skinny = matmul(x, w10.t()).to_vector<float>();
    out.insert(out.end(), skinny.begin(), skinny.end());
    out.push_back(x.sum().item<float>());
    auto rows = x.sum(1).to_vector<float>();
    out.insert(out.end(), rows.begin(), rows.end());
    // Over dim 0: the columns in blocks of rows, in parallel (Note [Column sums in blocks of
    // rows]).
    auto columns = x.sum(0).to_vector<float>();
    out.insert(out.end(), columns.begin(), columns.end());
    return out;
  };
  const auto one = run(1), two = run(2);
  set_num_threads(saved);
  REQUIRE(one.size() == two.size());
  CHECK(std::memcmp(one.data(), two.data(), one.size() * sizeof(float)) == 0);
  // The column sums are the double-precision sums, rounded once (up to the partials' rounding).
  const auto xv = x.to_vector<float>();
  const std::size_t columns_at = one.size() - 784;
  for (std::size_t j = 0; j < 784; ++j) {
    double exact = 0.0;
    for (std::size_t i = 0; i < 256; ++i) exact += xv[i * 784 + j];
    CHECK(one[columns_at + j] == static_cast<float>(exact));
  }
}
