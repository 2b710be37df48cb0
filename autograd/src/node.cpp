// Recording the graph: nodes, saved tensors, and the broadcast-gradient helper.
#include <ember/autograd/grad_mode.h>
#include <ember/autograd/node.h>
#include <ember/autograd/ops.h>

#include "accumulate_grad.h"

namespace ember::autograd {

namespace {
const std::string& name_of(const Node& node) {
  return node.name();
}
}  // namespace

// Core prints grad_fn names through the function registered here (Note [Opaque autograd slot] in
// core/include/ember/core/tensor.h); once per process, before the first node exists.
Node::Node(std::string name) : name_(std::move(name)) {
  static const bool registered = (detail::register_node_name(&name_of), true);
  (void)registered;
}

// Destroying the last owner of a long chain would otherwise recurse once per node. Each node
// instead hands its inputs to a per-thread list that the outermost destructor drains in a loop.
Node::~Node() {
  thread_local std::vector<std::shared_ptr<Node>> pending;
  thread_local bool draining = false;
  for (auto& edge : next_edges_)
    if (edge.node) pending.push_back(std::move(edge.node));
  if (draining) return;
  draining = true;
  while (!pending.empty()) {
    std::shared_ptr<Node> node = std::move(pending.back());
    pending.pop_back();
    node.reset();  // may push its own inputs onto `pending`
  }
  draining = false;
}

namespace {
// The shapes of the tensors saved since the last record(): an op builds its SavedTensors just
// before calling record(), which hands them to the node it makes (for to_dot).
std::vector<Shape>& pending_saved_shapes() {
  thread_local std::vector<Shape> shapes;
  return shapes;
}
}  // namespace

SavedTensor::SavedTensor(const Tensor& t) : data_(t.detach()), saved_version_(t.version()) {
  pending_saved_shapes().push_back(t.sizes());
}

Tensor SavedTensor::get(const char* op) const {
  EMBER_CHECK(data_.defined(), op,
              ": trying to backward through the graph a second time (or directly access saved "
              "tensors after they have already been freed). Saved tensors are freed after "
              "backward(); call backward(grad, /*retain_graph=*/true) the first time to keep them");
  EMBER_CHECK(data_.version() == saved_version_, op,
              ": a tensor needed for the gradient was modified by an in-place operation: it was "
              "saved at version ",
              saved_version_, " and is now at version ", data_.version(), " (shape ",
              to_string(data_.sizes()), ")");
  return data_;
}

namespace {

// A node whose backward is a lambda written next to the op's forward.
class LambdaNode final : public Node {
 public:
  LambdaNode(const char* name, BackwardFn backward) : Node(name), backward_(std::move(backward)) {}

  std::vector<Tensor> apply(const Tensor& grad_out) override {
    EMBER_CHECK(backward_ != nullptr, name(),
                ": trying to backward through the graph a second time (or directly access saved "
                "tensors after they have already been freed). Saved tensors are freed after "
                "backward(); call backward(grad, /*retain_graph=*/true) the first time to keep "
                "them");
    std::vector<bool> needs(next_edges().size());
    for (std::size_t i = 0; i < needs.size(); ++i) needs[i] = needs_grad(i);
    return backward_(grad_out, needs);
  }
  void release_saved() override { backward_ = nullptr; }

 private:
  BackwardFn backward_;
};

}  // namespace

std::shared_ptr<Node> gradient_edge(const Tensor& t) {
  if (!t.defined() || !t.requires_grad()) return nullptr;
  if (t.grad_fn()) return t.grad_fn();
  AutogradMeta& meta = t.impl()->autograd_meta();
  std::shared_ptr<Node> acc = meta.grad_accumulator.lock();
  if (!acc) {
    acc = std::make_shared<AccumulateGrad>(t);
    meta.grad_accumulator = acc;
  }
  return acc;
}

bool needs_graph(std::initializer_list<const Tensor*> inputs) {
  if (!grad_enabled()) return false;
  for (const Tensor* t : inputs)
    if (t->defined() && t->requires_grad()) return true;
  return false;
}

bool needs_graph(const std::vector<Tensor>& inputs) {
  if (!grad_enabled()) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

void record(const char* name, const std::vector<Tensor>& inputs, Tensor& output,
            BackwardFn backward) {
  auto node = std::make_shared<LambdaNode>(name, std::move(backward));
  for (const Tensor& input : inputs) node->next_edges().push_back(Edge{gradient_edge(input)});
  node->set_shapes(output.sizes(), std::move(pending_saved_shapes()));
  pending_saved_shapes().clear();
  AutogradMeta& meta = output.impl()->autograd_meta();
  meta.grad_fn = std::move(node);
  meta.requires_grad = true;
}

// Broadcasting repeats an input along new leading dims and along dims of size 1; the gradient of
// a repeat is a sum, so the gradient is summed over exactly those dims.
Tensor sum_to(const Tensor& grad, const Shape& shape) {
  if (grad.sizes() == shape) return grad;
  Tensor g = grad;
  const std::int64_t lead = g.dim() - static_cast<std::int64_t>(shape.size());
  EMBER_CHECK(lead >= 0, "sum_to: gradient of shape ", to_string(grad.sizes()),
              " cannot be reduced to shape ", to_string(shape));
  for (std::int64_t i = 0; i < lead; ++i) g = g.sum(0);
  for (std::size_t d = 0; d < shape.size(); ++d)
    if (shape[d] == 1 && g.sizes()[d] != 1) g = g.sum(static_cast<std::int64_t>(d), true);
  // Any other difference is not a broadcast: the gradient would be handed on with a wrong shape.
  EMBER_CHECK(g.sizes() == shape, "sum_to: gradient of shape ", to_string(grad.sizes()),
              " cannot be reduced to shape ", to_string(shape));
  return g;
}

}  // namespace ember::autograd
