/// \file
/// Hooks that run during backward, as torch.Tensor.register_post_accumulate_grad_hook.
#pragma once

#include <cstdint>
#include <functional>

#include <ember/core/tensor.h>

namespace ember::autograd {

/// Identifies one registered hook, for remove_post_accumulate_grad_hook.
using HookId = std::uint64_t;

/// Calls `hook(leaf)` each time a backward has accumulated a gradient into leaf.grad(), as
/// torch.Tensor.register_post_accumulate_grad_hook; returns an id that removes it.
///
/// Called once per backward that reaches the leaf, after its gradient is complete, while the rest
/// of the graph may still be running. Data-parallel training uses it to start communicating a
/// gradient as soon as it is ready (distributed::DistributedDataParallel). Hooks run in
/// registration order; an exception from a hook ends the backward.
/// \throws ember::Error if `leaf` is not a leaf that requires grad, or `hook` is empty.
HookId register_post_accumulate_grad_hook(const Tensor& leaf,
                                          std::function<void(const Tensor& leaf)> hook);

/// Removes a hook registered on this leaf; an unknown id is ignored.
void remove_post_accumulate_grad_hook(const Tensor& leaf, HookId id);

}  // namespace ember::autograd
