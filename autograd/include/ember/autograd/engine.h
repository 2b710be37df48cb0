/// \file
/// The backward pass: walks the graph from the outputs to the leaves.
#pragma once

#include <vector>

#include <ember/core/tensor.h>

/// Reverse-mode automatic differentiation: the graph ops record (Node), the backward pass,
/// custom functions, gradient checking, hooks and graph printing.
namespace ember::autograd {

/// Runs the graph backward from `outputs`, seeded with `grads`, as torch.autograd.backward:
/// accumulates d(sum of outputs . grads)/d(leaf) into every leaf's grad().
///
/// `grads` holds one float32 gradient per output, of that output's shape (ones for one-element
/// outputs when empty or undefined). Reverse-mode differentiation: nodes run in reverse
/// topological order, each once, after all gradients flowing into it have been summed (dependency
/// counting, as PyTorch's engine); leaves accumulate into .grad() (`+=`, so zero grads between
/// steps). Iterative, so graph depth is unlimited. No graph is recorded while it runs. Unless
/// `retain_graph`, every node's saved tensors are freed afterwards, so a second backward through
/// the same graph throws.
/// \throws ember::Error when `grads` is neither empty nor one per output, an output does not
///         require grad, a gradient is missing for an output with more than one element or has
///         the wrong shape or dtype, the graph was freed by an earlier backward, or a tensor
///         saved for backward was changed in place since.
void backward(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grads = {},
              bool retain_graph = false);

}  // namespace ember::autograd
