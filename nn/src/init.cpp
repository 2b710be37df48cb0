// ember::nn::init: in-place initial values. See init.h.
#include <ember/nn/init.h>

#include <cmath>
#include <limits>

#include <ember/core/checked.h>

#include "detail/raw_tensor.h"

namespace ember::nn::init {

using nn::detail::for_each_float;

Tensor& normal_(Tensor& t, double mean, double std, Generator& gen) {
  EMBER_CHECK(std >= 0.0, "init::normal_: std must be >= 0, got ", std);
  check_value_fits(mean, kFloat32, "init::normal_");
  check_value_fits(std, kFloat32, "init::normal_");
  for_each_float(t, "init::normal_", [&](float& x) {
    x = static_cast<float>(mean + std * static_cast<double>(gen.normal()));
  });
  return t;
}

Tensor& uniform_(Tensor& t, double a, double b, Generator& gen) {
  EMBER_CHECK(a <= b, "init::uniform_: expected a <= b, got a=", a, " b=", b);
  // As torch's uniform_: the bounds and their distance must be finite floats.
  EMBER_CHECK(std::isfinite(a) && std::isfinite(b) &&
                  b - a <= static_cast<double>(std::numeric_limits<float>::max()),
              "init::uniform_: expects b - a <= the largest float32 (",
              std::numeric_limits<float>::max(), "), but found a=", a, " and b=", b);
  // As tensor.uniform_(a, b): float32 numbers between the rounded bounds, PyTorch's draws.
  const float from = static_cast<float>(a), to = static_cast<float>(b);
  for_each_float(t, "init::uniform_", [&](float& x) { x = gen.uniform(from, to); });
  return t;
}

Tensor& constant_(Tensor& t, double value) {
  check_value_fits(value, kFloat32, "init::constant_");
  const float v = static_cast<float>(value);
  for_each_float(t, "init::constant_", [&](float& x) { x = v; });
  return t;
}

Tensor& zeros_(Tensor& t) {
  return constant_(t, 0.0);
}
Tensor& ones_(Tensor& t) {
  return constant_(t, 1.0);
}

std::pair<std::int64_t, std::int64_t> calculate_fan_in_and_fan_out(const Tensor& t) {
  EMBER_CHECK(t.defined(), "init: the tensor is undefined");
  EMBER_CHECK(t.dim() >= 2,
              "init: fan in and fan out can not be computed for a tensor with fewer than 2 "
              "dimensions, got shape ",
              to_string(t.sizes()));
  std::int64_t receptive_field = 1;
  // Checked: an empty weight such as [3, 0, 2^40, 2^40] multiplies past int64.
  for (std::int64_t d = 2; d < t.dim(); ++d)
    receptive_field = checked_mul(receptive_field, t.size(d), "init", t.sizes());
  return {checked_mul(t.size(1), receptive_field, "init", t.sizes()),
          checked_mul(t.size(0), receptive_field, "init", t.sizes())};
}

namespace {

double leaky_relu_gain(double a) {
  return std::sqrt(2.0 / (1.0 + a * a));
}

std::int64_t fan_of(const Tensor& t, FanMode mode) {
  auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
  return mode == FanMode::FanIn ? fan_in : fan_out;
}

}  // namespace

Tensor& kaiming_uniform_(Tensor& t, double a, Generator& gen) {
  return kaiming_uniform_(t, a, FanMode::FanIn, gen);
}

Tensor& kaiming_uniform_(Tensor& t, double a, FanMode mode, Generator& gen) {
  const std::int64_t fan = fan_of(t, mode);
  // PyTorch warns and leaves a zero-element tensor alone; there is nothing to fill.
  if (t.numel() == 0) return t;
  // torch.nn.init's own order of operations, so the bound rounds to the same double.
  const double stddev = leaky_relu_gain(a) / std::sqrt(static_cast<double>(fan));
  const double bound = std::sqrt(3.0) * stddev;
  return uniform_(t, -bound, bound, gen);
}

Tensor& kaiming_normal_(Tensor& t, double a, FanMode mode, Generator& gen) {
  const std::int64_t fan = fan_of(t, mode);
  if (t.numel() == 0) return t;
  return normal_(t, 0.0, leaky_relu_gain(a) / std::sqrt(static_cast<double>(fan)), gen);
}

Tensor& xavier_uniform_(Tensor& t, double gain, Generator& gen) {
  auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
  if (t.numel() == 0) return t;
  const double stddev = gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out));
  const double bound = std::sqrt(3.0) * stddev;  // torch.nn.init's order of operations
  return uniform_(t, -bound, bound, gen);
}

Tensor& xavier_normal_(Tensor& t, double gain, Generator& gen) {
  auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
  if (t.numel() == 0) return t;
  return normal_(t, 0.0, gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out)), gen);
}

}  // namespace ember::nn::init
