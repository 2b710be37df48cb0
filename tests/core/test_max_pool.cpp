// Max pooling's vectorized kernels (core/src/kernels/max_pool.cpp, Note [Vectorized max
// pooling]) against the scalar reference, bitwise: values (NaN included) and indices, on inputs
// full of ties, NaN, +-inf and signed zeros, for 2x2 tiling windows and 3x3 overlapping, padded,
// dilated ones, at sizes that leave every vector tail (rows of 1 to 35 windows), with odd rows
// and columns outside every window, at 1, 2 and 3 threads. The backward against the scatter onto
// zeros. Run under every instruction set by CTest's isa_* tests (EMBER_CPU).
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

ember::Tensor tensor_of(const ember::Shape& shape, const std::vector<float>& values) {
  ember::Tensor t = ember::empty(shape);
  std::memcpy(t.data_ptr<float>(), values.data(), values.size() * sizeof(float));
  return t;
}

bool same_bits(const float* a, const float* b, std::int64_t n) {
  return std::memcmp(a, b, static_cast<std::size_t>(n) * sizeof(float)) == 0;
}

}  // namespace

TEST_CASE("max_pool2d: the vectorized paths are bitwise the scalar reference", "[pool][max_pool]") {
  const int saved = ember::get_num_threads();
  std::mt19937 rng(7);
  struct Geometry {
    std::int64_t K, stride, pad, dilation;
    bool ceil_mode;
  };
  // The 2x2 kernel (tiling), tiling 3x3 and overlapping windows (AlexNet's 3 stride 2, ResNet's
  // padded one, stride 1, dilated, ceil mode) through the general kernel, stride 3 (scalar).
  const Geometry geometries[] = {{2, 2, 0, 1, false}, {3, 3, 0, 1, false}, {3, 2, 0, 1, false},
                                 {3, 2, 1, 1, false}, {3, 1, 1, 1, false}, {2, 1, 0, 1, false},
                                 {3, 2, 1, 2, false}, {3, 2, 1, 1, true},  {2, 2, 1, 1, true},
                                 {3, 3, 1, 1, false}};
  // Widths giving rows of 1 to 35 windows (every tail of 4, 8 and 16 lanes) and odd leftovers.
  const std::int64_t widths[] = {3, 5, 9, 10, 17, 28, 29, 31, 33, 34, 35, 40, 65, 71};
  const std::int64_t heights[] = {3, 7, 10};
  for (const Geometry& geo : geometries)
    for (std::int64_t H : heights)
      for (std::int64_t W : widths) {
        if ((geo.K - 1) * geo.dilation + 1 > W + 2 * geo.pad || geo.K > H + 2 * geo.pad) continue;
        // Enough planes that 2 and 3 threads split them (the grain is 16384 outputs).
        const ember::Shape shape{2 + 70000 / (H * W), 1, H, W};
        const auto g = ember::core::pool2d_geometry(shape, geo.K, geo.stride, geo.pad, geo.dilation,
                                                    geo.ceil_mode, "max_pool2d");
        const PoolShape s{g.N,        g.H,        g.W,     g.OH,    g.OW,         g.KH,        g.KW,
                          g.stride_h, g.stride_w, g.pad_h, g.pad_w, g.dilation_h, g.dilation_w};
        const std::vector<float> x = hostile_values(g.N * H * W, rng);
        const std::int64_t out = g.N * g.OH * g.OW;
        std::vector<float> want(static_cast<std::size_t>(out));
        std::vector<std::int64_t> want_at(want.size());
        ember::kernels::max_pool2d_reference(s, x.data(), want.data(), want_at.data());
        for (int threads : {1, 2, 3}) {
          ember::set_num_threads(threads);
          const auto [y, indices] = ember::core::max_pool2d_forward(tensor_of(shape, x), g);
          INFO("kernel " << geo.K << ", stride " << geo.stride << ", padding " << geo.pad
                         << ", dilation " << geo.dilation << ", ceil_mode " << geo.ceil_mode
                         << ", H " << H << ", W " << W << ", threads " << threads);
          CHECK(same_bits(y.data_ptr<float>(), want.data(), out));
          const std::int64_t* at = indices.data_ptr<std::int64_t>();
          CHECK(std::vector<std::int64_t>(at, at + out) == want_at);
        }
      }
  ember::set_num_threads(saved);
}

TEST_CASE("max_pool2d: ties, NaN and -inf follow PyTorch's rule on both paths",
          "[pool][max_pool]") {
  // Each case fills a 2x2 window (the 2x2 kernel) and the same taps in a 1x4 window (the
  // reference; the general kernel's lanes run the rule of the 2x2 kernel's), row-major order: the
  // first strict maximum wins, any NaN replaces the best so far (so the last NaN wins), and a
  // window of -inf keeps its first tap.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  struct Case {
    float taps[4];
    std::int64_t at;
  };
  const Case cases[] = {
      {{1, 3, 3, 2}, 1},      // ties: the first 3
      {{3, 3, 3, 3}, 0},      //
      {{nan, 5, nan, 7}, 2},  // the last NaN, though 7 is larger
      {{-inf, -inf, -inf, -inf}, 0},
      {{-0.0f, 0.0f, 0.0f, -0.0f}, 0},  // -0 and +0 tie
      {{-inf, inf, nan, inf}, 2},
  };
  const PoolShape two{1, 2, 2, 1, 1, 2, 2, 2, 2, 0, 0, 1, 1};
  const PoolShape row{1, 1, 4, 1, 1, 1, 4, 1, 1, 0, 0, 1, 1};
  REQUIRE(ember::kernels::tiled_2x2(two));
  for (const Case& c : cases) {
    float y = 0, y_row = 0;
    std::int64_t at = -1, at_row = -1;
    ember::kernels::max_pool2d_2x2(two, c.taps, &y, &at);
    ember::kernels::max_pool2d_reference(row, c.taps, &y_row, &at_row);
    CHECK(at == c.at);
    CHECK(at_row == c.at);
    CHECK(same_bits(&y, &c.taps[c.at], 1));
    CHECK(same_bits(&y_row, &c.taps[c.at], 1));
  }
}

TEST_CASE("max_pool2d_backward: bitwise the scatter onto zeros", "[pool][max_pool]") {
  const int saved = ember::get_num_threads();
  std::mt19937 rng(11);
  std::normal_distribution<float> normal;
  // Tiling (2 and 3, with rows and columns left out) and overlapping, padded windows (cells
  // that several windows route to sum in output order).
  struct Geometry {
    std::int64_t H, W, K, stride, pad;
  };
  for (const Geometry& geo :
       {Geometry{28, 28, 2, 2, 0}, Geometry{11, 13, 2, 2, 0}, Geometry{10, 11, 3, 3, 0},
        Geometry{13, 11, 3, 2, 1}, Geometry{9, 9, 3, 1, 1}}) {
    const ember::Shape shape{5, 3, geo.H, geo.W};
    const auto g =
        ember::core::pool2d_geometry(shape, geo.K, geo.stride, geo.pad, 1, false, "max_pool2d");
    const std::vector<float> xs = hostile_values(5 * 3 * geo.H * geo.W, rng);
    const auto [y, indices] = ember::core::max_pool2d_forward(tensor_of(shape, xs), g);
    ember::Tensor grad_out = ember::empty(y.sizes());
    float* go = grad_out.data_ptr<float>();
    for (std::int64_t i = 0; i < grad_out.numel(); ++i) go[i] = i % 7 == 0 ? -0.0f : normal(rng);
    std::vector<float> want(xs.size(), 0.0f);
    const std::int64_t* at = indices.data_ptr<std::int64_t>();
    const std::int64_t OHW = g.OH * g.OW, HW = g.H * g.W;
    for (std::int64_t i = 0; i < grad_out.numel(); ++i)
      want[static_cast<std::size_t>(i / OHW * HW + at[i])] += go[i];
    for (int threads : {1, 2, 3}) {
      ember::set_num_threads(threads);
      const ember::Tensor grad_x = ember::core::max_pool2d_backward(grad_out, indices, g);
      INFO("H " << geo.H << ", W " << geo.W << ", kernel " << geo.K << ", threads " << threads);
      CHECK(same_bits(grad_x.data_ptr<float>(), want.data(), HW * 15));
    }
  }
  ember::set_num_threads(saved);
}

// A window can hold no cell of the image: with kernel 2, padding 1 and dilation 2 a one-column
// image's window reads columns -1 and 1. Its output is -inf and its index PyTorch's ih0 W + iw0
// (here the next row's cell, or past the plane: PyTorch 1.13's backward adds the gradient there
// and corrupts its heap). It reads no input, so no input gets its gradient.
TEST_CASE("max_pool2d_backward: a window with no cell of the image routes no gradient",
          "[pool][max_pool]") {
  const ember::Shape shape{2, 1, 3, 1};
  const auto g =
      ember::core::pool2d_geometry(shape, {1, 2}, {1, 2}, {0, 1}, {1, 2}, false, "max_pool2d");
  REQUIRE((g.OH == 3 && g.OW == 1));
  const auto [y, indices] =
      ember::core::max_pool2d_forward(tensor_of(shape, {0.0f, 1.0f, 2.0f, 3.0f, 4.0f, 5.0f}), g);
  const std::int64_t* at = indices.data_ptr<std::int64_t>();
  for (std::int64_t i = 0; i < 6; ++i) {
    CHECK(y.data_ptr<float>()[i] == -std::numeric_limits<float>::infinity());
    CHECK(at[i] == i % 3 + 1);  // PyTorch's indices: 1 2 3, 1 2 3
  }
  const ember::Tensor grad_out = tensor_of(y.sizes(), std::vector<float>(6, 1.0f));
  const ember::Tensor grad_x = ember::core::max_pool2d_backward(grad_out, indices, g);
  for (std::int64_t i = 0; i < 6; ++i) CHECK(grad_x.data_ptr<float>()[i] == 0.0f);
}
