// Loss modules: thin wrappers over nn::functional.
#include <ember/nn/loss.h>

namespace ember::nn {

namespace F = functional;

CrossEntropyLoss::CrossEntropyLoss(F::CrossEntropyOptions options)
    : Module("CrossEntropyLoss"), options_(std::move(options)) {}
Tensor CrossEntropyLoss::forward(const Tensor& input, const Tensor& target) {
  return F::cross_entropy(input, target, options_);
}

NLLLoss::NLLLoss(F::NLLLossOptions options) : Module("NLLLoss"), options_(std::move(options)) {}
Tensor NLLLoss::forward(const Tensor& input, const Tensor& target) {
  return F::nll_loss(input, target, options_);
}

BCEWithLogitsLoss::BCEWithLogitsLoss(F::BCEWithLogitsOptions options)
    : Module("BCEWithLogitsLoss"), options_(std::move(options)) {}
Tensor BCEWithLogitsLoss::forward(const Tensor& input, const Tensor& target) {
  return F::binary_cross_entropy_with_logits(input, target, options_);
}

MSELoss::MSELoss(F::Reduction reduction) : Module("MSELoss"), reduction_(reduction) {}
Tensor MSELoss::forward(const Tensor& input, const Tensor& target) {
  return F::mse_loss(input, target, reduction_);
}

}  // namespace ember::nn
