// The backward pass: walks the graph from the outputs to the leaves.
#pragma once

#include <vector>

#include <ember/core/tensor.h>

namespace ember::autograd {

// Runs the graph backward from `outputs`, seeded with `grads` (ones for one-element outputs when
// empty). Nodes run in reverse topological order, each once, after all gradients flowing into it
// have been summed; leaves accumulate into .grad(). Iterative, so graph depth is unlimited.
void backward(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grads = {},
              bool retain_graph = false);

}  // namespace ember::autograd
