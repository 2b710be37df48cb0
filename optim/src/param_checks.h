// What every optimizer checks of the tensors it is given to update (SGD, Adam).
#pragma once

#include <cstddef>

#include <ember/core/tensor.h>

namespace ember::optim::detail {

// Throws ember::Error naming `where` and the parameter's index and shape unless p is a defined,
// contiguous float32 leaf (an optimizer updates its storage in place).
void check_param(const Tensor& p, std::size_t index, const char* where);

}  // namespace ember::optim::detail
