// The backward pass. Note [Dependency counting]: a node may feed several later nodes; it must run
// once, after every gradient flowing into it has been summed. So we first count, for each node
// reachable from the outputs, how many edges point at it, then run a node when its count drops to
// zero. Both walks use explicit stacks: graph depth never touches the call stack.
#include <ember/autograd/engine.h>

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include <ember/autograd/grad_mode.h>
#include <ember/autograd/node.h>
#include <ember/autograd/ops.h>

#include "accumulate_grad.h"

namespace ember::autograd {

std::vector<Tensor> AccumulateGrad::apply(const Tensor& grad_out) {
  std::shared_ptr<TensorImpl> impl = leaf_.lock();
  if (!impl || !grad_out.defined()) return {};
  Tensor& grad = impl->autograd_meta().grad;
  if (!grad.defined()) {
    // Keep the incoming buffer when nothing else can see it; otherwise copy, so that two leaves
    // never share one grad tensor.
    const bool sole_owner =
        grad_out.impl_ptr().use_count() == 1 && grad_out.storage().use_count() == 1;
    grad = sole_owner && grad_out.is_contiguous() ? grad_out.detach() : grad_out.clone();
  } else {
    grad.add_(grad_out);
  }
  if (!impl->autograd->post_accumulate_grad_hooks.empty()) {
    const Tensor leaf(impl);
    // A copy: a hook may register or remove hooks.
    auto hooks = impl->autograd->post_accumulate_grad_hooks;
    for (const auto& hook : hooks) hook.second(leaf);
  }
  return {};
}

void backward(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grads,
              bool retain_graph) {
  EMBER_CHECK(grads.empty() || grads.size() == outputs.size(), "backward: ", outputs.size(),
              " outputs but ", grads.size(), " gradients");
  NoGradGuard no_grad;  // backward computes numbers, it records no graph

  std::vector<std::shared_ptr<Node>> roots;
  std::unordered_map<Node*, Tensor> buffers;  // gradient summed so far, per node
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    const Tensor& out = outputs[i];
    EMBER_CHECK(out.defined() && out.requires_grad(), "backward: output ", i,
                " does not require grad and has no grad_fn (did you call requires_grad_() on the "
                "inputs, or compute it under a NoGradGuard?)");
    Tensor seed = grads.empty() ? Tensor() : grads[i];
    if (!seed.defined()) {
      EMBER_CHECK(out.numel() == 1,
                  "backward: a gradient can be created implicitly only for "
                  "outputs with one element; pass one of shape ",
                  to_string(out.sizes()));
      seed = ones(out.sizes());
    }
    EMBER_CHECK(seed.sizes() == out.sizes() && seed.dtype() == kFloat32,
                "backward: gradient of shape ", to_string(seed.sizes()), " and dtype ",
                seed.dtype(), " for an output of shape ", to_string(out.sizes()),
                " (expected the same shape, float32)");
    std::shared_ptr<Node> node = gradient_edge(out);
    Tensor& buffer = buffers[node.get()];
    buffer = buffer.defined() ? buffer + seed : seed;
    roots.push_back(std::move(node));
  }

  // Count the edges into every reachable node.
  std::unordered_map<Node*, int> dependencies;
  std::unordered_set<Node*> seen;
  std::vector<Node*> stack;
  for (auto& root : roots)
    if (seen.insert(root.get()).second) stack.push_back(root.get());
  std::vector<Node*> visited;
  while (!stack.empty()) {
    Node* node = stack.back();
    stack.pop_back();
    visited.push_back(node);
    for (const Edge& edge : node->next_edges()) {
      if (!edge.node) continue;
      ++dependencies[edge.node.get()];
      if (seen.insert(edge.node.get()).second) stack.push_back(edge.node.get());
    }
  }

  // Run nodes whose gradients are complete.
  std::vector<Node*> ready;
  for (auto& root : roots)
    if (dependencies[root.get()] == 0 &&
        std::find(ready.begin(), ready.end(), root.get()) == ready.end())
      ready.push_back(root.get());
  while (!ready.empty()) {
    Node* node = ready.back();
    ready.pop_back();
    Tensor grad_out;
    if (auto it = buffers.find(node); it != buffers.end()) {
      grad_out = std::move(it->second);
      buffers.erase(it);
    }
    std::vector<Tensor> grad_inputs;
    if (grad_out.defined()) grad_inputs = node->apply(grad_out);
    const auto& edges = node->next_edges();
    for (std::size_t i = 0; i < edges.size(); ++i) {
      Node* next = edges[i].node.get();
      if (!next) continue;
      if (i < grad_inputs.size() && grad_inputs[i].defined()) {
        Tensor& buffer = buffers[next];
        buffer = buffer.defined() ? buffer + grad_inputs[i] : grad_inputs[i];
      }
      if (--dependencies[next] == 0) ready.push_back(next);
    }
  }

  if (!retain_graph)
    for (Node* node : visited) node->release_saved();
}

}  // namespace ember::autograd

namespace ember {

void Tensor::backward(const Tensor& grad, bool retain_graph) const {
  autograd::backward({*this}, {grad}, retain_graph);
}

}  // namespace ember
