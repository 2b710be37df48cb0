/// \file
/// ember::nn::init: fill a parameter in place with initial values, as torch.nn.init.
#pragma once

#include <cstdint>
#include <utility>

#include <ember/core/generator.h>
#include <ember/core/tensor.h>

/// \namespace ember::nn::init
/// Fill a parameter in place with initial values, as torch.nn.init.
///
/// Every function fills a float32 tensor of any shape and strides in place, without recording
/// a graph (as under NoGradGuard), bumps its version counter and returns it. Random ones draw
/// from `gen` in row-major order, so a seed gives the same values on every machine (not
/// PyTorch's values: its generator differs). d2l's
/// \code
///   net.apply([](nn::Module& m) {
///     if (auto* linear = dynamic_cast<nn::Linear*>(&m)) nn::init::normal_(linear->weight, 0,
///     0.01);
///   });
/// \endcode
/// reads as it does in PyTorch. All throw ember::Error for an undefined or non-float32 tensor.
namespace ember::nn::init {

/// Fills t with draws from N(mean, std^2), as torch.nn.init.normal_.
/// \throws ember::Error for an undefined or non-float32 t, std < 0, or a mean or std that does
///   not fit in float32.
Tensor& normal_(Tensor& t, double mean = 0.0, double std = 1.0,
                Generator& gen = default_generator());
/// Fills t with draws from U(a, b), as torch.nn.init.uniform_: the same numbers from the same
/// generator state (Note [PyTorch's draws]).
/// \throws ember::Error for an undefined or non-float32 t, a > b, or bounds that are not
///   finite or further apart than the largest float32 (as torch's uniform_).
Tensor& uniform_(Tensor& t, double a = 0.0, double b = 1.0, Generator& gen = default_generator());
/// Fills t with `value`, as torch.nn.init.constant_.
/// \throws ember::Error for an undefined or non-float32 t, or a value that does not fit in
///   float32.
Tensor& constant_(Tensor& t, double value);
/// Fills t with 0, as torch.nn.init.zeros_.
/// \throws ember::Error for an undefined or non-float32 t.
Tensor& zeros_(Tensor& t);
/// Fills t with 1, as torch.nn.init.ones_.
/// \throws ember::Error for an undefined or non-float32 t.
Tensor& ones_(Tensor& t);

/// {fan_in, fan_out} of a weight [out, in, k1, ..., km], as PyTorch's
/// _calculate_fan_in_and_fan_out.
///
/// fan_in = size(1) * receptive field, fan_out = size(0) * receptive field, where the
/// receptive field is the product of dims 2.. (1 for a 2-d weight [out, in]). Any dtype.
/// \throws ember::Error for an undefined t, fewer than 2 dims (as PyTorch), or a product that
///   overflows int64.
std::pair<std::int64_t, std::int64_t> calculate_fan_in_and_fan_out(const Tensor& t);

/// Which fan the Kaiming inits scale by.
enum class FanMode {
  FanIn,  ///< fan_in: preserves the variance of the activations in the forward pass.
  FanOut  ///< fan_out: preserves the variance of the gradients in the backward pass.
};

/// He init for a (leaky) ReLU with negative slope a, uniform (He et al.\ 2015, "Delving Deep
/// into Rectifiers"; torch.nn.init.kaiming_uniform_).
///
/// gain = sqrt(2 / (1 + a^2)), bound = gain * sqrt(3 / fan), U(-bound, bound). fan is fan_in
/// (default) or fan_out. Linear's default init is kaiming_uniform_(weight, sqrt(5)):
/// bound = 1/sqrt(fan_in). A tensor with no element is returned unchanged.
/// \throws ember::Error for an undefined or non-float32 t, or fewer than 2 dims.
Tensor& kaiming_uniform_(Tensor& t, double a = 0.0, Generator& gen = default_generator());
/// \overload
/// With the fan chosen by `mode`.
Tensor& kaiming_uniform_(Tensor& t, double a, FanMode mode, Generator& gen = default_generator());
/// He init, normal: N(0, std^2) with std = gain / sqrt(fan), gain and fan as kaiming_uniform_
/// (He et al.\ 2015; torch.nn.init.kaiming_normal_).
/// \throws ember::Error for an undefined or non-float32 t, or fewer than 2 dims.
Tensor& kaiming_normal_(Tensor& t, double a = 0.0, FanMode mode = FanMode::FanIn,
                        Generator& gen = default_generator());

/// Glorot init, uniform: bound = gain * sqrt(6 / (fan_in + fan_out)), U(-bound, bound)
/// (Glorot & Bengio 2010; torch.nn.init.xavier_uniform_).
/// \throws ember::Error for an undefined or non-float32 t, or fewer than 2 dims.
Tensor& xavier_uniform_(Tensor& t, double gain = 1.0, Generator& gen = default_generator());
/// Glorot init, normal: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))
/// (Glorot & Bengio 2010; torch.nn.init.xavier_normal_).
/// \throws ember::Error for an undefined or non-float32 t, or fewer than 2 dims.
Tensor& xavier_normal_(Tensor& t, double gain = 1.0, Generator& gen = default_generator());

}  // namespace ember::nn::init
