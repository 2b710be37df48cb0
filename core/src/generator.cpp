#include <ember/core/generator.h>

#include <cmath>
#include <numbers>

#include <ember/core/error.h>

namespace ember {

// at::mt19937(seed) keeps the seed's low 32 bits, as std::mt19937's seed(value) does.
void Generator::manual_seed(std::uint64_t seed) {
  engine_.seed(static_cast<std::uint32_t>(seed));
  has_spare_normal_ = false;
}

std::uint64_t Generator::random64() {
  const std::uint64_t high = random();
  return high << 32 | random();
}

// ATen's uniform_real_distribution<float>: (draw & (2^24 - 1)) * 2^-24, exact in float.
float Generator::uniform() {
  return static_cast<float>(random() & 0xFFFFFFu) * 0x1.0p-24f;
}

// ATen computes x * (to - from) + from in float, and its kernels for AVX2 and AVX-512 CPUs (the
// ones torch runs on such machines) contract it into one fused multiply-add: std::fma gives that
// result on every CPU.
float Generator::uniform(float from, float to) {
  return std::fma(uniform(), to - from, from);
}

// ATen's normal_distribution<double>, the uniforms from 53-bit draws (its double uniform).
float Generator::normal() {
  if (has_spare_normal_) {
    has_spare_normal_ = false;
    return static_cast<float>(spare_normal_);
  }
  const double u1 = static_cast<double>(random64() & ((1ull << 53) - 1)) * 0x1.0p-53;
  const double u2 = static_cast<double>(random64() & ((1ull << 53) - 1)) * 0x1.0p-53;
  const double radius = std::sqrt(-2.0 * std::log1p(-u2));
  const double theta = 2.0 * std::numbers::pi * u1;
  spare_normal_ = radius * std::sin(theta);
  has_spare_normal_ = true;
  return static_cast<float>(radius * std::cos(theta));
}

// ATen's uniform_int_from_to_distribution: the range in uint64, where high - low cannot overflow
// (up to 2^64 - 1 for [INT64_MIN, INT64_MAX)), and low + x wraps back into [low, high).
std::int64_t Generator::randint(std::int64_t low, std::int64_t high) {
  EMBER_CHECK(low < high, "randint: empty range [", low, ", ", high, ")");
  const std::uint64_t range = static_cast<std::uint64_t>(high) - static_cast<std::uint64_t>(low);
  const std::uint64_t draw = range >= (1ull << 32) ? random64() : random();
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(low) + draw % range);
}

Generator& default_generator() {
  static Generator generator(0);
  return generator;
}

void manual_seed(std::uint64_t seed) {
  default_generator().manual_seed(seed);
}

std::uint64_t splitmix64(std::uint64_t base, std::uint64_t i) {
  std::uint64_t z = base + (i + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace ember
