// The graph autograd records: one Node per op output, with edges to the nodes of its inputs.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <ember/core/tensor.h>

namespace ember::autograd {

class Node;

// Where the gradient of one input goes: that input's grad_fn (or its leaf's AccumulateGrad).
// A null node means the input needs no gradient.
struct Edge {
  std::shared_ptr<Node> node;
};

// A recorded op. apply() turns the gradient of the op's output into one gradient per input
// (an undefined Tensor where the edge is null: no work is done for inputs that need no gradient).
class Node {
 public:
  explicit Node(std::string name) : name_(std::move(name)) {}
  virtual ~Node();  // iterative: a million-node chain must not overflow the stack
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  virtual std::vector<Tensor> apply(const Tensor& grad_out) = 0;
  // Frees what forward saved for backward; a later apply() throws.
  virtual void release_saved() {}

  const std::string& name() const { return name_; }  // e.g. "MulBackward"
  // What autograd::to_dot prints: the shape of the op's output and of each tensor it saved for
  // backward (filled in by record()).
  const Shape& output_shape() const { return output_shape_; }
  const std::vector<Shape>& saved_shapes() const { return saved_shapes_; }
  void set_shapes(Shape output, std::vector<Shape> saved) {
    output_shape_ = std::move(output);
    saved_shapes_ = std::move(saved);
  }
  std::vector<Edge>& next_edges() { return next_edges_; }
  const std::vector<Edge>& next_edges() const { return next_edges_; }
  bool needs_grad(std::size_t input) const {
    return input < next_edges_.size() && next_edges_[input].node != nullptr;
  }

 private:
  std::string name_;
  std::vector<Edge> next_edges_;
  Shape output_shape_;
  std::vector<Shape> saved_shapes_;
};

// A tensor saved in forward for use in backward. It keeps the data but not the graph (no cycle
// between an output and its own grad_fn), and remembers the version it was saved at, so get()
// throws if an in-place op changed it before backward.
class SavedTensor {
 public:
  SavedTensor() = default;
  explicit SavedTensor(const Tensor& t);
  Tensor get(const char* op) const;

 private:
  Tensor data_;
  std::uint64_t saved_version_ = 0;
};

// What an op's backward lambda computes: one gradient per input, undefined where
// !needs[i]. `needs` tells which inputs need one.
using BackwardFn =
    std::function<std::vector<Tensor>(const Tensor& grad_out, const std::vector<bool>& needs)>;

// True when `inputs` need a graph: grad mode is on and some input requires grad.
bool needs_graph(std::initializer_list<const Tensor*> inputs);
bool needs_graph(const std::vector<Tensor>& inputs);

// Connects `output` to its inputs through a node that runs `backward`. Call it right after
// computing the forward, only when needs_graph(inputs). Captures in `backward` should hold
// SavedTensors, never Tensors that carry a graph.
void record(const char* name, const std::vector<Tensor>& inputs, Tensor& output,
            BackwardFn backward);

// The node a tensor's gradient flows into: its grad_fn, or for a leaf that requires grad its
// AccumulateGrad (made once per leaf and shared by every op that uses it), or null.
std::shared_ptr<Node> gradient_edge(const Tensor& t);

// Sums a broadcast gradient back to the shape of the input it came from: the gradient of
// broadcasting is a sum over the broadcast dims.
Tensor sum_to(const Tensor& grad, const Shape& shape);

}  // namespace ember::autograd
