// A float32 tensor against expected values, element by element, with stated tolerances.
#pragma once

#include <catch2/catch.hpp>

#include <cstddef>
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

}  // namespace ember::test
