/// \file
/// Seeing the graph: the nodes backward() will walk, as Graphviz DOT.
#pragma once

#include <string>

#include <ember/core/tensor.h>

namespace ember::autograd {

/// The graph behind `t` in Graphviz's DOT language, from t's grad_fn down to the leaves.
///
/// One box per op node (its name, output shape and the shapes of the tensors it saved for
/// backward), one ellipse per leaf that requires grad (its shape), and an edge from each node to
/// the node its gradient flows into next, as backward walks it. Render with
/// `dot -Tsvg graph.dot -o graph.svg`. A tensor without a graph gives a graph of one node.
/// \throws ember::Error when `t` is undefined.
std::string to_dot(const Tensor& t);

}  // namespace ember::autograd
