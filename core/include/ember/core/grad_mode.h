/// \file
/// Whether ops record a graph: on by default, off inside a NoGradGuard.
///
/// The flag lives in core, as c10 keeps PyTorch's GradMode below autograd: core's in-place ops
/// read it to refuse writes into tensors that take part in a graph, and autograd's ops read it to
/// decide whether to record. Spelled `ember::autograd::grad_enabled` as before (and reachable
/// through <ember/autograd/grad_mode.h>).
#pragma once

namespace ember {

namespace autograd {
/// True when ops record a graph for autograd on this thread (the default), as
/// torch.is_grad_enabled. Per thread, like PyTorch's GradMode.
bool grad_enabled();
/// Turns graph recording on or off for this thread, as torch.set_grad_enabled; prefer the scoped
/// NoGradGuard.
void set_grad_enabled(bool enabled);
}  // namespace autograd

/// RAII guard: no graph is built on this thread while one is alive (evaluation, optimizer
/// updates), as torch::NoGradGuard.
///
/// Inside it, ops on tensors that require grad give results that do not, and in-place updates
/// of parameters are allowed. The previous mode is restored on destruction, so guards nest.
class NoGradGuard {
 public:
  /// Saves the current mode and turns recording off.
  NoGradGuard() : previous_(autograd::grad_enabled()) { autograd::set_grad_enabled(false); }
  /// Restores the mode saved by the constructor.
  ~NoGradGuard() { autograd::set_grad_enabled(previous_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace ember
