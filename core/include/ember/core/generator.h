/// \file
/// A seedable random number generator that gives the same numbers on every machine.
#pragma once

#include <cstdint>

namespace ember {

/// A random number generator: xoshiro256** (Blackman and Vigna, "Scrambled linear pseudorandom
/// number generators", 2018) seeded through splitmix64.
///
/// Every distribution is computed here (never through `<random>`'s distributions, whose results
/// differ between standard libraries), so the same seed gives the same numbers everywhere. Not
/// thread-safe: use one generator per thread.
class Generator {
 public:
  /// A generator in the state manual_seed(seed) gives.
  explicit Generator(std::uint64_t seed = 0) { manual_seed(seed); }
  /// Restarts the sequence: the four state words are filled from splitmix64(seed).
  void manual_seed(std::uint64_t seed);

  /// The next 64 random bits of xoshiro256**.
  std::uint64_t next_u64();
  /// Uniform in `[0, 1)` from the top 24 random bits: every multiple of 2^-24 equally likely.
  float uniform();
  /// Uniform in `[low, high)`: `low + (high - low) * uniform()`.
  float uniform(float low, float high);
  /// Standard normal (mean 0, std 1), by the Box-Muller transform in double; the second value of
  /// each pair is kept for the next call.
  float normal();
  /// Uniform integer in `[low, high)`, unbiased (rejection sampling, no modulo bias).
  /// \throws ember::Error when `low >= high`.
  std::int64_t randint(std::int64_t low, std::int64_t high);

 private:
  std::uint64_t state_[4]{};
  bool has_spare_normal_ = false;
  float spare_normal_ = 0.0f;
};

/// The generator used where none is passed (e.g. a Linear layer's default init, rand, randn),
/// like PyTorch's global generator. Not thread-safe.
Generator& default_generator();
/// Reseeds default_generator(), like `torch.manual_seed`.
void manual_seed(std::uint64_t seed);

}  // namespace ember
