// ember::nn::init: fill a parameter in place with initial values, as torch.nn.init.
#pragma once

#include <cstdint>
#include <utility>

#include <ember/core/generator.h>
#include <ember/core/tensor.h>

namespace ember::nn::init {

// Every function fills a float32 tensor of any shape and strides in place, without recording
// a graph (as under NoGradGuard), bumps its version counter and returns it. Random ones draw
// from `gen` in row-major order, so a seed gives the same values on every machine (not
// PyTorch's values: its generator differs). d2l's
//   net.apply([](nn::Module& m) {
//     if (auto* linear = dynamic_cast<nn::Linear*>(&m)) nn::init::normal_(linear->weight, 0, 0.01);
//   });
// reads as it does in PyTorch. All throw ember::Error for an undefined or non-float32 tensor.

Tensor& normal_(Tensor& t, double mean = 0.0, double std = 1.0,
                Generator& gen = default_generator());  // N(mean, std^2); std >= 0
Tensor& uniform_(Tensor& t, double a = 0.0, double b = 1.0,
                 Generator& gen = default_generator());  // U(a, b); a <= b
Tensor& constant_(Tensor& t, double value);
Tensor& zeros_(Tensor& t);
Tensor& ones_(Tensor& t);

// fan_in = size(1) * receptive field, fan_out = size(0) * receptive field, where the
// receptive field is the product of dims 2.. (1 for a 2-d weight [out, in]).
// Throws for fewer than 2 dims, as PyTorch.
std::pair<std::int64_t, std::int64_t> calculate_fan_in_and_fan_out(const Tensor& t);

enum class FanMode { FanIn, FanOut };

// He init for a (leaky) ReLU with negative slope a: gain = sqrt(2 / (1 + a^2)),
// bound = gain * sqrt(3 / fan), U(-bound, bound). fan is fan_in (default) or fan_out.
// Linear's default init is kaiming_uniform_(weight, sqrt(5)): bound = 1/sqrt(fan_in).
Tensor& kaiming_uniform_(Tensor& t, double a = 0.0, Generator& gen = default_generator());
Tensor& kaiming_uniform_(Tensor& t, double a, FanMode mode, Generator& gen = default_generator());
// N(0, std^2) with std = gain / sqrt(fan).
Tensor& kaiming_normal_(Tensor& t, double a = 0.0, FanMode mode = FanMode::FanIn,
                        Generator& gen = default_generator());

// Glorot init: bound = gain * sqrt(6 / (fan_in + fan_out)), U(-bound, bound).
Tensor& xavier_uniform_(Tensor& t, double gain = 1.0, Generator& gen = default_generator());
// N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out)).
Tensor& xavier_normal_(Tensor& t, double gain = 1.0, Generator& gen = default_generator());

}  // namespace ember::nn::init
