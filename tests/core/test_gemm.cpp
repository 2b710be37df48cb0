// The GEMM kernel (core/src/kernels/gemm.cpp) against its triple-loop reference, at sizes that
// run every tail path (0, 1, 7, 8, 9, 17, 33, 255, 257), every transpose combination, with
// accumulate and bias, with padded leading dims; and bitwise equality at 1 and 2 threads.
//
// Tolerance: both results are float sums of the same K products in different orders (plus C and
// bias), so each is within gamma_(K+2) * S of the exact value, S = sum_k |a_mk * b_kn| + |c| +
// |bias_n| (Higham, Accuracy and Stability, 3.1). We accept |got - want| <= 2 (K + 2) eps S.
#include <catch2/catch.hpp>

#include <ember/core/parallel.h>

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/gemm.h"

namespace {

using ember::kernels::gemm;
using ember::kernels::gemm_reference;

struct Problem {
  bool trans_a, trans_b;
  std::int64_t M, N, K;
  std::int64_t pad = 0;  // extra floats at the end of every row of A, B and C
  bool accumulate = false;
  bool bias = false;
};

std::string describe(const Problem& p) {
  std::ostringstream s;
  s << "M=" << p.M << " N=" << p.N << " K=" << p.K << " trans_a=" << p.trans_a
    << " trans_b=" << p.trans_b << " pad=" << p.pad << " accumulate=" << p.accumulate
    << " bias=" << p.bias;
  return s.str();
}

// Operands and output of one problem, with padding filled so misuse shows: NaN in the padding of
// A and B (read by mistake, it poisons a result), a sentinel in C's padding (must survive).
struct Data {
  std::int64_t lda, ldb, ldc;
  std::vector<float> a, b, c, bias;
};

constexpr float kSentinel = 12345.0f;

Data make_data(const Problem& p, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  Data d;
  const std::int64_t a_rows = p.trans_a ? p.K : p.M, a_cols = p.trans_a ? p.M : p.K;
  const std::int64_t b_rows = p.trans_b ? p.N : p.K, b_cols = p.trans_b ? p.K : p.N;
  d.lda = a_cols + p.pad;
  d.ldb = b_cols + p.pad;
  d.ldc = p.N + p.pad;
  auto fill = [&](std::vector<float>& v, std::int64_t rows, std::int64_t cols, std::int64_t ld,
                  float pad_value) {
    v.assign(static_cast<std::size_t>(std::max<std::int64_t>(rows * ld, 1)), pad_value);
    for (std::int64_t r = 0; r < rows; ++r)
      for (std::int64_t c = 0; c < cols; ++c) v[static_cast<std::size_t>(r * ld + c)] = dist(gen);
  };
  fill(d.a, a_rows, a_cols, d.lda, nan);
  fill(d.b, b_rows, b_cols, d.ldb, nan);
  fill(d.c, p.M, p.N, d.ldc, kSentinel);
  fill(d.bias, 1, p.N, p.N, 0.0f);
  return d;
}

// Runs gemm and gemm_reference on the same data and checks every element (and C's padding).
void check(const Problem& p, std::uint32_t seed = 1) {
  INFO(describe(p));
  Data d = make_data(p, seed);
  std::vector<float> got = d.c, want = d.c;
  const float* bias = p.bias ? d.bias.data() : nullptr;
  gemm(p.trans_a, p.trans_b, p.M, p.N, p.K, d.a.data(), d.lda, d.b.data(), d.ldb, got.data(), d.ldc,
       p.accumulate, bias);
  gemm_reference(p.trans_a, p.trans_b, p.M, p.N, p.K, d.a.data(), d.lda, d.b.data(), d.ldb,
                 want.data(), d.ldc, p.accumulate, bias);
  std::int64_t bad = 0;
  for (std::int64_t m = 0; m < p.M; ++m) {
    for (std::int64_t n = 0; n < d.ldc; ++n) {
      const auto at = static_cast<std::size_t>(m * d.ldc + n);
      if (n >= p.N) {  // padding: untouched
        if (got[at] != kSentinel && bad++ < 5) FAIL_CHECK("C padding written at " << m << "," << n);
        continue;
      }
      double scale = std::fabs(p.accumulate ? d.c[at] : 0.0f) + (bias ? std::fabs(bias[n]) : 0.0);
      for (std::int64_t k = 0; k < p.K; ++k) {
        const float a = p.trans_a ? d.a[static_cast<std::size_t>(k * d.lda + m)]
                                  : d.a[static_cast<std::size_t>(m * d.lda + k)];
        const float b = p.trans_b ? d.b[static_cast<std::size_t>(n * d.ldb + k)]
                                  : d.b[static_cast<std::size_t>(k * d.ldb + n)];
        scale += std::fabs(static_cast<double>(a) * b);
      }
      const double tol = 2.0 * static_cast<double>(p.K + 2) * FLT_EPSILON * scale;
      const double err = std::fabs(static_cast<double>(got[at]) - want[at]);
      if (!(err <= tol) && bad++ < 5)
        FAIL_CHECK("C[" << m << "," << n << "] = " << got[at] << ", reference " << want[at]
                        << " (tolerance " << tol << ")");
    }
  }
  CHECK(bad == 0);
}

const std::int64_t kSmall[] = {0, 1, 7, 8, 9, 17, 33};

}  // namespace

TEST_CASE("gemm matches the reference at every small size, transpose, accumulate and bias",
          "[gemm]") {
  for (int trans = 0; trans < 4; ++trans)
    for (std::int64_t M : kSmall)
      for (std::int64_t N : kSmall)
        for (std::int64_t K : kSmall) {
          const bool ta = trans & 1, tb = trans & 2;
          // Vary padding, accumulate and bias with the sizes so every path meets each of them.
          const auto odd = static_cast<int>(M + 3 * N + 5 * K);
          check({ta, tb, M, N, K, odd % 3 == 0 ? 5 : 0, odd % 2 == 1, odd % 4 < 2});
        }
}

TEST_CASE("gemm matches the reference at sizes 255 and 257 and around the blocking", "[gemm]") {
  // (M, N, K) triples crossing the register tile (12 or 6 rows, 2 vectors of columns), the K
  // block (at most 256 deep) and the skinny paths (N or M <= 16, M or N <= 12).
  const std::int64_t shapes[][3] = {{255, 257, 33}, {257, 33, 255}, {33, 255, 257}, {257, 257, 257},
                                    {1, 257, 255},  {255, 1, 257},  {257, 255, 1},  {9, 257, 255},
                                    {255, 9, 257},  {12, 100, 513}, {13, 100, 513}, {100, 12, 513},
                                    {100, 16, 600}, {100, 17, 600}, {16, 100, 600}};
  for (int trans = 0; trans < 4; ++trans)
    for (std::size_t i = 0; i < std::size(shapes); ++i) {
      const auto& s = shapes[i];
      // Padded with accumulate, or bias: alternating over shapes and transposes.
      const bool opt = (i + static_cast<std::size_t>(trans)) % 2 == 1;
      check({static_cast<bool>(trans & 1), static_cast<bool>(trans & 2), s[0], s[1], s[2],
             opt ? 3 : 0, opt, !opt});
    }
}

TEST_CASE("gemm with a deep K packs B in several column chunks", "[gemm]") {
  // K * N floats of packed B exceed the kernel's 8 MiB packing budget (2^21 floats): B is then
  // packed and consumed a few panels at a time.
  check({false, true, 13, 257, 9000, 1, true, true});  // 9 panels of 32 in chunks of 7
  check({true, false, 13, 257, 9000, 0, false, false});
}

TEST_CASE("gemm's direct path (M <= 12, A transposed) sums its K-blocks into C in order",
          "[gemm]") {
  // dW = g^T x: K (the batch) is cut into blocks of at least 128, at most 8 of them; block 0
  // writes C, the others partials that are then added in block order.
  check({true, false, 10, 784, 256, 0, false, false});  // two blocks of 128
  check({true, false, 10, 784, 300, 0, true, false});   // three, the last one short, accumulate
  check({true, false, 12, 257, 9000, 1, true, true});   // eight of 1125, a one-column tail panel
  check({true, false, 1, 33, 129, 0, false, false});    // one row, a one-deep last block
}

TEST_CASE("gemm at the network's shapes", "[gemm]") {
  // Linear forward y = x W^T + b, weight gradient g^T x, input gradient g W (batch 256 and 64).
  check({false, true, 256, 10, 784, 0, false, true});
  check({false, true, 256, 256, 784, 0, false, true});
  check({false, true, 64, 256, 784, 0, false, true});
  check({false, true, 256, 10, 256, 0, false, true});
  check({true, false, 10, 784, 256, 0, true, false});
  check({true, false, 256, 784, 64, 0, false, false});
  check({true, false, 784, 10, 256, 0, false, false});
  check({false, false, 256, 784, 10, 0, false, false});
  check({false, false, 64, 784, 256, 0, true, false});
}

TEST_CASE("gemm with K = 0 leaves bias, zero or C", "[gemm]") {
  std::vector<float> c = {1, 2, 3, 4, 5, 6};
  const float bias[] = {10, 20, 30};
  const float a = 0, b = 0;
  gemm(false, false, 2, 3, 0, &a, 1, &b, 3, c.data(), 3, true);
  CHECK(c == std::vector<float>{1, 2, 3, 4, 5, 6});
  gemm(false, false, 2, 3, 0, &a, 1, &b, 3, c.data(), 3, true, bias);
  CHECK(c == std::vector<float>{11, 22, 33, 14, 25, 36});
  gemm(true, true, 2, 3, 0, &a, 1, &b, 1, c.data(), 3, false, bias);
  CHECK(c == std::vector<float>{10, 20, 30, 10, 20, 30});
  gemm(false, false, 2, 3, 0, &a, 1, &b, 3, c.data(), 3, false);
  CHECK(c == std::vector<float>{0, 0, 0, 0, 0, 0});
}

TEST_CASE("gemm of a 2x2 by hand", "[gemm]") {
  // [1 2; 3 4] @ [5 6; 7 8] = [1*5+2*7, 1*6+2*8; 3*5+4*7, 3*6+4*8] = [19 22; 43 50], + bias [1 2]
  const float a[] = {1, 2, 3, 4}, b[] = {5, 6, 7, 8}, bias[] = {1, 2};
  float c[4];
  gemm(false, false, 2, 2, 2, a, 2, b, 2, c, 2, false, bias);
  CHECK(std::vector<float>(c, c + 4) == std::vector<float>{20, 24, 44, 52});
  // a^T @ b^T = [1 3; 2 4] @ [5 7; 6 8] = [1*5+3*6, 1*7+3*8; 2*5+4*6, 2*7+4*8] = [23 31; 34 46]
  gemm(true, true, 2, 2, 2, a, 2, b, 2, c, 2, false);
  CHECK(std::vector<float>(c, c + 4) == std::vector<float>{23, 31, 34, 46});
}

TEST_CASE("gemm is bitwise identical at 1 and 2 threads", "[gemm]") {
  const int saved = ember::get_num_threads();
  const std::int64_t shapes[][5] = {
      // trans_a, trans_b, M, N, K
      {0, 1, 256, 10, 784},   {1, 0, 784, 10, 256}, {0, 1, 256, 256, 784}, {0, 1, 64, 256, 784},
      {0, 1, 256, 256, 10},   {1, 0, 10, 784, 256}, {0, 0, 256, 784, 10},  {0, 0, 257, 255, 513},
      {1, 1, 255, 257, 300},  {1, 0, 250, 784, 64}, {0, 0, 333, 1000, 77}, {1, 0, 12, 257, 9000},
      {0, 0, 100, 520, 1023},  // packed B beyond 1 MiB: the prefetching multiply (Note [Prefetch])
  };
  for (const auto& s : shapes) {
    const Problem p{s[0] != 0, s[1] != 0, s[2], s[3], s[4], 1, true, true};
    INFO(describe(p));
    Data d = make_data(p, 7);
    std::vector<float> one = d.c, two = d.c;
    ember::set_num_threads(1);
    gemm(p.trans_a, p.trans_b, p.M, p.N, p.K, d.a.data(), d.lda, d.b.data(), d.ldb, one.data(),
         d.ldc, p.accumulate, d.bias.data());
    ember::set_num_threads(2);
    gemm(p.trans_a, p.trans_b, p.M, p.N, p.K, d.a.data(), d.lda, d.b.data(), d.ldb, two.data(),
         d.ldc, p.accumulate, d.bias.data());
    CHECK(std::memcmp(one.data(), two.data(), one.size() * sizeof(float)) == 0);
  }
  ember::set_num_threads(saved);
}

TEST_CASE("gemm called from inside a parallel region runs inline, bitwise the same", "[gemm]") {
  // Each piece of an outer parallel_for multiplies its own copy: the inner parallel_for then runs
  // inline and every thread uses its own scratch buffers; the results equal a top-level call bit
  // for bit.
  const Problem p{false, true, 100, 40, 300};
  Data d = make_data(p, 3);
  std::vector<float> want = d.c;
  gemm(p.trans_a, p.trans_b, p.M, p.N, p.K, d.a.data(), d.lda, d.b.data(), d.ldb, want.data(),
       d.ldc, false);
  std::vector<std::vector<float>> got(4, d.c);
  ember::parallel_for(0, 4, 1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i)
      gemm(p.trans_a, p.trans_b, p.M, p.N, p.K, d.a.data(), d.lda, d.b.data(), d.ldb,
           got[static_cast<std::size_t>(i)].data(), d.ldc, false);
  });
  for (const auto& g : got)
    CHECK(std::memcmp(g.data(), want.data(), g.size() * sizeof(float)) == 0);
}
