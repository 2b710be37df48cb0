// A seedable random number generator that gives the same numbers on every machine.
#pragma once

#include <cstdint>

namespace ember {

// xoshiro256** seeded through splitmix64. Every distribution is computed here (never through
// <random>'s distributions, whose results differ between standard libraries), so the same seed
// gives the same numbers everywhere.
class Generator {
 public:
  explicit Generator(std::uint64_t seed = 0) { manual_seed(seed); }
  void manual_seed(std::uint64_t seed);

  std::uint64_t next_u64();
  float uniform();                                            // [0, 1), 24 random bits
  float uniform(float low, float high);                       // [low, high)
  float normal();                                             // mean 0, std 1 (Box-Muller)
  std::int64_t randint(std::int64_t low, std::int64_t high);  // [low, high), unbiased

 private:
  std::uint64_t state_[4]{};
  bool has_spare_normal_ = false;
  float spare_normal_ = 0.0f;
};

// The generator used where none is passed (e.g. a Linear layer's default init), like PyTorch's
// global generator; manual_seed() reseeds it, like torch.manual_seed. Not thread-safe.
Generator& default_generator();
void manual_seed(std::uint64_t seed);

}  // namespace ember
