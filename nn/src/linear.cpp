// ember::nn::Linear. See linear.h.
#include <ember/nn/linear.h>

#include <cmath>

#include <ember/nn/functional/linear.h>
#include <ember/nn/init.h>

namespace ember::nn {

Linear::Linear(std::int64_t in_features, std::int64_t out_features, bool has_bias, Generator& gen)
    : Module("Linear"), in_features_(in_features), out_features_(out_features) {
  EMBER_CHECK(in_features >= 0 && out_features >= 0,
              "Linear: in_features and out_features must be >= 0, got in_features=", in_features,
              ", out_features=", out_features);
  weight = register_parameter("weight", empty({out_features, in_features}));
  if (has_bias) bias = register_parameter("bias", empty({out_features}));
  reset_parameters(gen);
}

Linear::Linear(const LinearOptions& options, Generator& gen)
    : Linear(options.in_features(), options.out_features(), options.bias(), gen) {}

Linear Linear::clone() const {
  Linear copy(nullptr);
  static_cast<Module&>(copy) = Module(type_name());
  copy.in_features_ = in_features_;
  copy.out_features_ = out_features_;
  copy.weight = copy.register_parameter("weight", weight.detach().clone(), true);
  if (bias.defined()) copy.bias = copy.register_parameter("bias", bias.detach().clone(), true);
  if (!is_training()) copy.eval();
  return copy;
}

void Linear::reset_parameters(Generator& gen) {
  // As torch.nn.Linear.reset_parameters: kaiming_uniform_(a = sqrt(5)) gives
  // gain = sqrt(2 / (1 + 5)) = 1/sqrt(3), bound = gain * sqrt(3 / fan_in) = 1/sqrt(fan_in).
  if (in_features_ > 0) {
    init::kaiming_uniform_(weight, std::sqrt(5.0), gen);
  } else {
    init::zeros_(weight);  // empty anyway: [out, 0]
  }
  if (bias.defined()) {
    const double bound =
        in_features_ > 0 ? 1.0 / std::sqrt(static_cast<double>(in_features_)) : 0.0;
    init::uniform_(bias, -bound, bound, gen);
  }
}

Tensor Linear::forward(const Tensor& x) {
  return functional::linear(x, weight, bias);
}

std::string Linear::extra_repr() const {
  return "in_features=" + std::to_string(in_features_) +
         ", out_features=" + std::to_string(out_features_) +
         ", bias=" + (bias.defined() ? "true" : "false");
}

}  // namespace ember::nn
