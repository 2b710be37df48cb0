#include <ember/core/grad_mode.h>

namespace ember::autograd {

namespace {
thread_local bool enabled = true;
}

bool grad_enabled() {
  return enabled;
}
void set_grad_enabled(bool on) {
  enabled = on;
}

}  // namespace ember::autograd
