// The tiled max pooling kernel (core/src/kernels/max_pool.cpp, Note [Tiled max pooling]) against
// the general loop, bitwise: values (NaN included) and indices, on inputs full of ties, NaN,
// +-inf and signed zeros, at sizes that leave every vector tail (rows of 1 to 2 x 16 + 3
// windows), with odd rows and columns outside every window, at 1, 2 and 3 threads. The
// backward's tiled path against the scatter it replaces. Run under every instruction set by
// CTest's isa_* tests (EMBER_CPU).
#include <catch2/catch.hpp>

#include <ember/core/conv.h>
#include <ember/core/parallel.h>
#include <ember/core/tensor.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "kernels/max_pool.h"

namespace {

using ember::kernels::PoolShape;

// Values drawn from a handful, so windows tie often; some NaN, -inf, +inf, -0.0.
std::vector<float> hostile_values(std::int64_t n, std::mt19937& rng) {
  const float inf = std::numeric_limits<float>::infinity();
  const float pool[] = {-2.0f, -1.0f, -0.0f, 0.0f, 1.0f, 2.0f, 3.0f, -inf, inf};
  std::uniform_int_distribution<int> pick(0, 8), nan(0, 19);
  std::vector<float> v(static_cast<std::size_t>(n));
  for (float& x : v) x = nan(rng) == 0 ? std::numeric_limits<float>::quiet_NaN() : pool[pick(rng)];
  return v;
}

// A tiling geometry: stride = kernel, no padding, dilation 1, floor(H / KH) x floor(W / KW).
PoolShape tiled_shape(std::int64_t P, std::int64_t H, std::int64_t W, std::int64_t KH,
                      std::int64_t KW) {
  return {P, H, W, H / KH, W / KW, KH, KW, KH, KW, 0, 0, 1, 1};
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

TEST_CASE("max_pool2d: the tiled kernel is bitwise the general loop", "[pool][max_pool]") {
  const int saved = ember::get_num_threads();
  std::mt19937 rng(7);
  const std::int64_t kernels[][2] = {{2, 2}, {3, 3}, {2, 3}};
  // Widths giving 1 to 35 windows of 2 (every tail of 4, 8 and 16 lanes) and odd leftovers.
  const std::int64_t widths[] = {2, 3, 5, 7, 9, 10, 17, 28, 29, 31, 32, 33, 34, 35, 63, 64, 65, 71};
  const std::int64_t heights[] = {2, 3, 7, 10};
  for (const auto& k : kernels)
    for (std::int64_t H : heights)
      for (std::int64_t W : widths) {
        if (H < k[0] || W < k[1]) continue;
        // Enough planes that 2 and 3 threads split them (the grain is 16384 outputs).
        const PoolShape s = tiled_shape(3 + 40000 / (H * W), H, W, k[0], k[1]);
        REQUIRE(ember::kernels::windows_tile(s));
        const std::vector<float> x = hostile_values(s.P * H * W, rng);
        const auto out = static_cast<std::size_t>(s.P * s.OH * s.OW);
        std::vector<float> want(out);
        std::vector<std::int64_t> want_at(out);
        ember::set_num_threads(1);
        ember::kernels::max_pool2d_general(s, x.data(), want.data(), want_at.data());
        for (int threads : {1, 2, 3}) {
          ember::set_num_threads(threads);
          std::vector<float> got(out, 42.0f);
          std::vector<std::int64_t> got_at(out, -1);
          ember::kernels::max_pool2d_tiled(s, x.data(), got.data(), got_at.data());
          INFO("kernel " << k[0] << "x" << k[1] << ", H " << H << ", W " << W << ", threads "
                         << threads);
          CHECK(same_bits(got, want));
          CHECK(got_at == want_at);
        }
      }
  ember::set_num_threads(saved);
}

TEST_CASE("max_pool2d: the general loop follows PyTorch's rule", "[pool][max_pool]") {
  // One 2x3 window per case, taps in row-major order: the first strict maximum wins, any NaN
  // replaces the best so far (so the last NaN wins), and a window of -inf keeps its first tap.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  struct Case {
    float taps[6];
    std::int64_t at;
  };
  const Case cases[] = {
      {{1, 3, 3, 2, 3, 0}, 1},      // ties: the first 3
      {{1, nan, 5, nan, 7, 2}, 3},  // the last NaN, though 7 is larger
      {{-inf, -inf, -inf, -inf, -inf, -inf}, 0},
      {{-0.0f, 0.0f, -0.0f, 0, 0, 0}, 0},  // -0 and +0 tie
      {{-inf, -1, inf, inf, nan, 1}, 4},
  };
  // The window alone (tiling: the scalar tiled loop), and as the general loop sees it.
  const PoolShape tiled = tiled_shape(1, 2, 3, 2, 3);
  const PoolShape general{1, 2, 3, 1, 1, 2, 3, 1, 1, 0, 0, 1, 1};
  for (const Case& c : cases) {
    float y = 0, y_tiled = 0;
    std::int64_t at = -1, at_tiled = -1;
    ember::kernels::max_pool2d_general(general, c.taps, &y, &at);
    ember::kernels::max_pool2d_tiled(tiled, c.taps, &y_tiled, &at_tiled);
    CHECK(at == c.at);
    CHECK(at_tiled == c.at);
    CHECK(std::memcmp(&y, &c.taps[c.at], sizeof y) == 0);
    CHECK(std::memcmp(&y_tiled, &c.taps[c.at], sizeof y) == 0);
  }
}

TEST_CASE("max_pool2d_backward: the tiled path is bitwise the scatter onto zeros",
          "[pool][max_pool]") {
  const int saved = ember::get_num_threads();
  std::mt19937 rng(11);
  std::normal_distribution<float> normal;
  // Tiling (2 and 3, with rows and columns left out) and overlapping, padded windows.
  struct Geometry {
    std::int64_t H, W, K, stride, pad;
  };
  for (const Geometry& geo : {Geometry{28, 28, 2, 2, 0}, Geometry{11, 13, 2, 2, 0},
                              Geometry{10, 11, 3, 3, 0}, Geometry{13, 11, 3, 2, 1}}) {
    const ember::Shape shape{5, 3, geo.H, geo.W};
    const auto g =
        ember::core::pool2d_geometry(shape, geo.K, geo.stride, geo.pad, 1, false, "max_pool2d");
    std::vector<float> xs = hostile_values(5 * 3 * geo.H * geo.W, rng);
    ember::Tensor x = ember::empty(shape);
    std::memcpy(x.data_ptr<float>(), xs.data(), xs.size() * sizeof(float));
    const auto [y, indices] = ember::core::max_pool2d_forward(x, g);
    ember::Tensor grad_out = ember::empty(y.sizes());
    float* go = grad_out.data_ptr<float>();
    for (std::int64_t i = 0; i < grad_out.numel(); ++i) go[i] = i % 7 == 0 ? -0.0f : normal(rng);
    // The scatter: grad_x[plane, indices] += grad_out, onto zeros, in output order.
    std::vector<float> want(xs.size(), 0.0f);
    const std::int64_t* at = indices.data_ptr<std::int64_t>();
    const std::int64_t OHW = g.OH * g.OW, HW = g.H * g.W;
    for (std::int64_t i = 0; i < grad_out.numel(); ++i)
      want[static_cast<std::size_t>(i / OHW * HW + at[i])] += go[i];
    for (int threads : {1, 2, 3}) {
      ember::set_num_threads(threads);
      const ember::Tensor grad_x = ember::core::max_pool2d_backward(grad_out, indices, g);
      std::vector<float> got(xs.size());
      std::memcpy(got.data(), grad_x.data_ptr<float>(), got.size() * sizeof(float));
      INFO("H " << geo.H << ", W " << geo.W << ", kernel " << geo.K << ", threads " << threads);
      CHECK(same_bits(got, want));
    }
  }
  ember::set_num_threads(saved);
}
