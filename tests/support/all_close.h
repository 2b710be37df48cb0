// A float32 tensor against expected values, element by element, with stated tolerances.
#pragma once

#include <catch2/catch.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include <ember/core/tensor.h>

namespace ember::test {

// Every element within relative `rtol` (default 1e-5: float32 after a few rounded operations) or
// absolute 1e-6 of the expected value; a failure names the element.
inline void check_all_close(const Tensor& got, const std::vector<float>& want, double rtol = 1e-5) {
  const auto g = got.to_vector<float>();
  REQUIRE(g.size() == want.size());
  for (std::size_t i = 0; i < g.size(); ++i) {
    INFO("element " << i);
    CHECK(g[i] == Approx(want[i]).epsilon(rtol).margin(1e-6));
  }
}

// Same dtype, same shape and the same bits in every element (row-major, any strides): -0 differs
// from 0, a NaN equals the same NaN. For what must survive a file round trip exactly.
inline bool bitwise_equal(const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype() || a.sizes() != b.sizes()) return false;
  auto same = [](const auto& x, const auto& y) {
    return x.size() == y.size() &&
           (x.empty() || std::memcmp(x.data(), y.data(), x.size() * sizeof(x[0])) == 0);
  };
  switch (a.dtype()) {
    case Dtype::Float32:
      return same(a.to_vector<float>(), b.to_vector<float>());
    case Dtype::Int64:
      return same(a.to_vector<std::int64_t>(), b.to_vector<std::int64_t>());
    case Dtype::UInt8:
      return same(a.to_vector<std::uint8_t>(), b.to_vector<std::uint8_t>());
  }
  return false;
}

// The elements of a tensor of any dtype, row-major, as doubles (item<double> converts each):
// for comparing results of every dtype with one table of expected values.
inline std::vector<double> values_of(const Tensor& t) {
  std::vector<double> out;
  const Tensor flat = t.reshape({-1});
  for (std::int64_t i = 0; i < flat.numel(); ++i) out.push_back(flat.select(0, i).item<double>());
  return out;
}

// Every element of `got` (any dtype) against PyTorch's values: NaN where PyTorch has NaN, a finite
// float32 within relative `rtol`, integers and infinities exactly; a failure names the element.
inline void check_matches_pytorch(const Tensor& got, const std::vector<double>& want, double rtol) {
  const std::vector<double> values = values_of(got);
  REQUIRE(values.size() == want.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    INFO("element " << i << ": got " << values[i] << ", PyTorch " << want[i]);
    if (std::isnan(want[i]))
      CHECK(std::isnan(values[i]));
    else if (got.dtype() == kFloat32 && std::isfinite(want[i]))
      CHECK(values[i] == Approx(want[i]).epsilon(rtol));
    else
      CHECK(values[i] == want[i]);
  }
}

}  // namespace ember::test
