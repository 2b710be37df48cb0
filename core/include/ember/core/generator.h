/// \file
/// A seedable random number generator: PyTorch's CPU generator, draw for draw.
#pragma once

#include <cstdint>
#include <random>

namespace ember {

/// A random number generator that draws what PyTorch's CPU generator draws from the same seed.
///
/// Note [PyTorch's draws]: the engine is the 32-bit Mersenne Twister (std::mt19937, whose
/// output the C++ standard fixes), seeded as `torch.manual_seed` seeds it, and every
/// distribution turns its words into numbers as ATen's CPU kernels do (never `<random>`'s
/// distributions, which differ between standard libraries). So `Generator(s)` followed by the
/// same calls gives PyTorch's numbers after `torch.manual_seed(s)`, bit for bit, on every
/// machine: `rand` (torch.rand), `uniform` (uniform_), `randint` (torch.randint), the
/// DataLoader's `random_permutation` (torch.randperm) and a layer's default init (nn::Linear,
/// nn::Conv2d, nn::init's uniform fills). Two exceptions, said where they are: `normal` follows
/// PyTorch's scalar path, which torch.randn takes for fewer than 16 numbers only (for 16 or
/// more it takes a vectorized Box-Muller whose results depend on the CPU); and dropout masks
/// are ember's own (Note [Dropout masks at any thread count]). Not thread-safe: use one
/// generator per thread.
class Generator {
 public:
  /// A generator in the state manual_seed(seed) gives.
  explicit Generator(std::uint64_t seed = 0) { manual_seed(seed); }
  /// Restarts the sequence, as `torch.Generator.manual_seed`: the Mersenne Twister is seeded
  /// with the seed's low 32 bits (so seeds 2^32 apart give the same numbers, as in PyTorch).
  void manual_seed(std::uint64_t seed);

  /// The next 32 random bits.
  std::uint32_t random() { return static_cast<std::uint32_t>(engine_()); }
  /// 64 random bits from two draws, the first one high (ATen's random64).
  std::uint64_t random64();
  /// Uniform in `[0, 1)`: the low 24 bits of one draw times 2^-24 (torch.rand's float32).
  float uniform();
  /// Uniform in `[from, to)` as `uniform_(from, to)` computes it in float32:
  /// `fma(uniform(), to - from, from)`.
  float uniform(float from, float to);
  /// Standard normal (mean 0, std 1), by PyTorch's scalar Box-Muller in double: u1, u2 from two
  /// 53-bit draws, r = sqrt(-2 log1p(-u2)), theta = 2 pi u1; returns r cos(theta) and keeps
  /// r sin(theta) for the next call. (torch.randn takes this path for fewer than 16 numbers.)
  float normal();
  /// Uniform integer in `[low, high)` as torch.randint: `low + draw % (high - low)`, the draw
  /// 32 bits when the range is below 2^32 and 64 bits otherwise (so, as PyTorch's, biased by at
  /// most range / 2^32 or range / 2^64).
  /// \throws ember::Error when `low >= high`.
  std::int64_t randint(std::int64_t low, std::int64_t high);

 private:
  std::mt19937 engine_;
  bool has_spare_normal_ = false;
  double spare_normal_ = 0.0;
};

/// The generator used where none is passed (e.g. a Linear layer's default init, rand, randn),
/// like PyTorch's global generator. Not thread-safe.
Generator& default_generator();
/// Reseeds default_generator(), like `torch.manual_seed`.
void manual_seed(std::uint64_t seed);

/// Output `i` (from 0) of the SplitMix64 stream that starts at `base` (Steele, Lea and Flood,
/// "Fast splittable pseudorandom number generators", 2014): a function of (base, i) alone, with
/// no state. ember's dropout masks draw element i from it (Note [Dropout masks at any thread
/// count]); `splitmix64(x)` alone mixes one word, as for seeds derived from several numbers.
std::uint64_t splitmix64(std::uint64_t base, std::uint64_t i = 0);

}  // namespace ember
