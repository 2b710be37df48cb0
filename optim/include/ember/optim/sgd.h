// ember::optim::SGD: stochastic gradient descent with momentum, as torch.optim.SGD.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include <ember/core/tensor.h>

namespace ember::optim {

// Hyperparameters. lr defaults to 1e-3, as torch.optim.SGD since PyTorch 2.2 (PyTorch 1.13
// required it); set it explicitly: SGDOptions{.lr = 0.1, .momentum = 0.9}.
struct SGDOptions {
  double lr = 1e-3;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;
  bool maximize = false;
};

// Parameters with their own options; an option left empty takes the SGD's default.
//   SGD sgd({{net.at<Linear>(0)->parameters(), 0.01}, {head.parameters()}}, {.lr = 0.1});
struct ParamGroup {
  std::vector<Tensor> params{};
  std::optional<double> lr{};
  std::optional<double> momentum{};
  std::optional<double> dampening{};
  std::optional<double> weight_decay{};
  std::optional<bool> nesterov{};
  std::optional<bool> maximize{};
};

// A group as the optimizer holds it: every option resolved, and the per-parameter state
// (momentum_buffers[i] belongs to params[i]; undefined until the first step with momentum).
// Options may be changed between steps (a learning-rate schedule sets options.lr); step()
// checks them again.
struct SGDParamGroup {
  std::vector<Tensor> params{};
  SGDOptions options;
  std::vector<Tensor> momentum_buffers;
};

// torch.optim.SGD's update, for each parameter p with gradient g (parameters without a grad
// are skipped), all in float32:
//   d = maximize ? -g : g
//   if weight_decay != 0:  d = d + weight_decay * p
//   if momentum != 0:
//     buf = d                                      on the first step (no dampening)
//     buf = momentum * buf + (1 - dampening) * d   afterwards
//     d = nesterov ? d + momentum * buf : buf
//   p = p - lr * d
// Each step updates each parameter in one vectorized pass over its data, without recording a
// graph. Throws ember::Error at construction (and at step() for options changed since) when
// lr, momentum or weight_decay is negative or not finite, when nesterov is set without
// momentum or with dampening, when the parameter list is empty, or when a parameter is not a
// float32 contiguous leaf, appears twice, or (at step) its grad's shape differs from it.
class SGD {
 public:
  SGD(std::vector<Tensor> params, SGDOptions options);
  SGD(std::vector<ParamGroup> groups, SGDOptions defaults);

  void step();
  // Clears every parameter's grad: to none (default, as PyTorch 2) or to zeros.
  void zero_grad(bool set_to_none = true);

  // Adds parameters after construction (options left empty take the defaults).
  void add_param_group(const ParamGroup& group);

  const SGDOptions& defaults() const { return defaults_; }
  std::vector<SGDParamGroup>& param_groups() { return groups_; }
  const std::vector<SGDParamGroup>& param_groups() const { return groups_; }

 private:
  SGDOptions defaults_;
  std::vector<SGDParamGroup> groups_;
};

namespace detail {
// Throws ember::Error naming `where` if the options are invalid (see SGD).
void check_sgd_options(const SGDOptions& options, const char* where);
}  // namespace detail

}  // namespace ember::optim
