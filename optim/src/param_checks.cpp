// See param_checks.h.
#include "param_checks.h"

#include <ember/core/error.h>

namespace ember::optim::detail {

void check_param(const Tensor& p, std::size_t index, const char* where) {
  EMBER_CHECK(p.defined(), where, ": parameter ", index, " is undefined");
  EMBER_CHECK(p.dtype() == kFloat32, where, ": parameter ", index, " ", to_string(p.sizes()),
              " must be float32, got ", dtype_name(p.dtype()));
  EMBER_CHECK(p.is_leaf(), where, ": can't optimize a non-leaf tensor (parameter ", index, " ",
              to_string(p.sizes()), " was computed by an op; use detach() and requires_grad_())");
  EMBER_CHECK(p.is_contiguous(), where, ": parameter ", index, " ", to_string(p.sizes()),
              " must be contiguous");
}

void zero_grad(Tensor& p, bool set_to_none) {
  if (!p.grad().defined()) return;
  if (set_to_none) {
    p.mutable_grad() = Tensor();
  } else {
    p.mutable_grad() = p.grad().detach();
    Tensor(p.grad()).zero_();
  }
}

}  // namespace ember::optim::detail
