// Whether ops record a graph: on by default, off inside a NoGradGuard.
#pragma once

namespace ember {

namespace autograd {
// Per thread, like PyTorch's GradMode.
bool grad_enabled();
void set_grad_enabled(bool enabled);
}  // namespace autograd

// RAII: no graph is built while one is alive (evaluation, optimizer updates).
class NoGradGuard {
 public:
  NoGradGuard() : previous_(autograd::grad_enabled()) { autograd::set_grad_enabled(false); }
  ~NoGradGuard() { autograd::set_grad_enabled(previous_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace ember
