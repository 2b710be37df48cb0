// What every optimizer does to the tensors it is given to update (SGD, Adam): checks them, and
// clears their grads.
#pragma once

#include <cstddef>

#include <ember/core/tensor.h>

namespace ember::optim::detail {

// Throws ember::Error naming `where` and the parameter's index and shape unless p is a defined,
// contiguous float32 leaf (an optimizer updates its storage in place).
void check_param(const Tensor& p, std::size_t index, const char* where);

// Optimizer::zero_grad: every grad of every group's params to none, or (set_to_none false) to
// zeros in place, the grad first detached from any graph that computed it (as PyTorch's
// detach_()), so that the zeroing is not recorded.
void zero_grad(Tensor& p, bool set_to_none);
template <class Groups>
void zero_grads(Groups& groups, bool set_to_none) {
  for (auto& group : groups)
    for (Tensor& p : group.params) zero_grad(p, set_to_none);
}

}  // namespace ember::optim::detail
