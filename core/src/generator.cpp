#include <ember/core/generator.h>

#include <cmath>

#include <ember/core/error.h>

namespace ember {

namespace {
std::uint64_t splitmix64(std::uint64_t& x) {
  std::uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
std::uint64_t rotl(std::uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}
}  // namespace

void Generator::manual_seed(std::uint64_t seed) {
  for (auto& s : state_) s = splitmix64(seed);
  has_spare_normal_ = false;
}

// xoshiro256** (Blackman & Vigna).
std::uint64_t Generator::next_u64() {
  const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
  const std::uint64_t t = state_[1] << 17;
  state_[2] ^= state_[0];
  state_[3] ^= state_[1];
  state_[1] ^= state_[2];
  state_[0] ^= state_[3];
  state_[2] ^= t;
  state_[3] = rotl(state_[3], 45);
  return result;
}

// The top 24 bits make every float in [0, 1) with step 2^-24 equally likely.
float Generator::uniform() {
  return static_cast<float>(next_u64() >> 40) * 0x1.0p-24f;
}

float Generator::uniform(float low, float high) {
  return low + (high - low) * uniform();
}

// Box-Muller in double, so the result depends only on the bits drawn, not on libm's float paths.
float Generator::normal() {
  if (has_spare_normal_) {
    has_spare_normal_ = false;
    return spare_normal_;
  }
  const double u1 = (static_cast<double>(next_u64() >> 11) + 1.0) * 0x1.0p-53;  // (0, 1]
  const double u2 = static_cast<double>(next_u64() >> 11) * 0x1.0p-53;          // [0, 1)
  const double radius = std::sqrt(-2.0 * std::log(u1));
  const double angle = 2.0 * 3.14159265358979323846 * u2;
  spare_normal_ = static_cast<float>(radius * std::sin(angle));
  has_spare_normal_ = true;
  return static_cast<float>(radius * std::cos(angle));
}

// Rejection sampling: no modulo bias. The range is computed in uint64, where high - low cannot
// overflow (up to 2^64 - 1 for [INT64_MIN, INT64_MAX)), and low + x wraps back into [low, high).
std::int64_t Generator::randint(std::int64_t low, std::int64_t high) {
  EMBER_CHECK(low < high, "randint: empty range [", low, ", ", high, ")");
  const std::uint64_t range = static_cast<std::uint64_t>(high) - static_cast<std::uint64_t>(low);
  const std::uint64_t limit = UINT64_MAX - UINT64_MAX % range;
  std::uint64_t x;
  do {
    x = next_u64();
  } while (x >= limit);
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(low) + x % range);
}

Generator& default_generator() {
  static Generator generator(0);
  return generator;
}

void manual_seed(std::uint64_t seed) {
  default_generator().manual_seed(seed);
}

}  // namespace ember
