/// \file
/// The graph autograd records: one Node per op output, with edges to the nodes of its inputs; and
/// what an op uses to record one (needs_graph, SavedTensor, record, sum_to).
///
/// An op that records a graph follows one pattern (see autograd/src/ops/): compute with core,
/// then record.
///
///     Tensor out = core::mul(a, b);
///     if (autograd::needs_graph({&a, &b}))
///       autograd::record("MulBackward", {a, b}, out,
///                        [sa = SavedTensor(a), sb = SavedTensor(b)](
///                            const Tensor& g, const std::vector<bool>& needs) { ... });
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <ember/core/tensor.h>

namespace ember::autograd {

class Node;

/// Where the gradient of one input goes: that input's grad_fn (or its leaf's AccumulateGrad).
struct Edge {
  std::shared_ptr<Node> node;  ///< The receiving node; null when the input needs no gradient.
};

/// A recorded op, as PyTorch's torch::autograd::Node: what a tensor's grad_fn() points to.
///
/// apply() turns the gradient of the op's output into one gradient per input (an undefined Tensor
/// where the edge is null: no work is done for inputs that need no gradient). Ops make their nodes
/// with record(); derive from Node only for a node of a new kind.
class Node {
 public:
  /// A node without edges; `name` is what grad_fn() prints, e.g. "MulBackward".
  explicit Node(std::string name);
  /// Releases the inputs' nodes iteratively: a million-node chain must not overflow the stack.
  virtual ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  /// The gradients of the op's inputs, one per next_edges() entry, from `grad_out`, the gradient
  /// of its output (same shape as the output, float32). Called by the engine.
  /// \throws ember::Error when the saved tensors were released or changed in place.
  virtual std::vector<Tensor> apply(const Tensor& grad_out) = 0;
  /// Frees what forward saved for backward (after a backward without retain_graph); a later
  /// apply() throws.
  virtual void release_saved() {}

  /// The op's name, e.g. "MulBackward".
  const std::string& name() const { return name_; }
  /// The shape of the op's output, as autograd::to_dot prints it (filled in by record()).
  const Shape& output_shape() const { return output_shape_; }
  /// The shapes of the tensors the op saved for backward, as to_dot prints them (filled in by
  /// record()).
  const std::vector<Shape>& saved_shapes() const { return saved_shapes_; }
  /// Sets output_shape() and saved_shapes().
  void set_shapes(Shape output, std::vector<Shape> saved) {
    output_shape_ = std::move(output);
    saved_shapes_ = std::move(saved);
  }
  /// One edge per input of the op, in the order of the op's inputs.
  std::vector<Edge>& next_edges() { return next_edges_; }
  /// \overload
  const std::vector<Edge>& next_edges() const { return next_edges_; }
  /// True when input `input` needs a gradient (its edge is not null).
  bool needs_grad(std::size_t input) const {
    return input < next_edges_.size() && next_edges_[input].node != nullptr;
  }

 private:
  std::string name_;
  std::vector<Edge> next_edges_;
  Shape output_shape_;
  std::vector<Shape> saved_shapes_;
};

/// A tensor saved in forward for use in backward, as PyTorch's SavedVariable.
///
/// It keeps the data but not the graph (no cycle between an output and its own grad_fn), and
/// remembers the version it was saved at, so get() throws if an in-place op changed it before
/// backward.
class SavedTensor {
 public:
  /// Nothing saved.
  SavedTensor() = default;
  /// Saves `t` (a detached view) and its current version.
  explicit SavedTensor(const Tensor& t);
  /// The saved tensor.
  /// \throws ember::Error naming `op` when the graph was already freed by a backward, or the
  ///         tensor was changed in place since it was saved (the message gives both versions).
  Tensor get(const char* op) const;

 private:
  Tensor data_;
  std::uint64_t saved_version_ = 0;
};

/// The gradients a backward lambda returns, one per input of the op (undefined where not needed).
using Grads = std::vector<Tensor>;

/// What an op's backward lambda computes: one gradient per input from `grad_out`, undefined
/// where `!needs[i]`. `needs` tells which inputs need one.
using BackwardFn =
    std::function<std::vector<Tensor>(const Tensor& grad_out, const std::vector<bool>& needs)>;

/// True when `inputs` need a graph: grad mode is on and some (defined) input requires grad.
/// \{
bool needs_graph(std::initializer_list<const Tensor*> inputs);
bool needs_graph(const std::vector<Tensor>& inputs);
/// \}

/// Connects `output` to its inputs through a node named `name` that runs `backward`; `output`
/// then requires grad and has that node as grad_fn.
///
/// Call it right after computing the forward, only when needs_graph(inputs). Captures in
/// `backward` should hold SavedTensors, never Tensors that carry a graph.
void record(const char* name, const std::vector<Tensor>& inputs, Tensor& output,
            BackwardFn backward);

/// The node a tensor's gradient flows into: its grad_fn, or for a leaf that requires grad its
/// AccumulateGrad (made once per leaf and shared by every op that uses it), or null.
std::shared_ptr<Node> gradient_edge(const Tensor& t);

/// Sums a broadcast gradient back to the shape of the input it came from: the gradient of
/// broadcasting is a sum over the broadcast dims (`[N, D]` to `[D]` or `[1, D]`: a sum over N).
/// \throws ember::Error when `shape` does not broadcast to grad's shape.
Tensor sum_to(const Tensor& grad, const Shape& shape);

}  // namespace ember::autograd
