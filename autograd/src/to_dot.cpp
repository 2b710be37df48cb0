// autograd::to_dot: walks the graph iteratively (graphs can be a million nodes deep) and writes
// each node once.
#include <ember/autograd/to_dot.h>

#include <map>
#include <sstream>

#include <ember/autograd/node.h>

#include "accumulate_grad.h"

namespace ember::autograd {

namespace {
std::string shapes(const std::vector<Shape>& list) {
  std::string out;
  for (std::size_t i = 0; i < list.size(); ++i) out += (i ? ", " : "") + to_string(list[i]);
  return out;
}
}  // namespace

std::string to_dot(const Tensor& t) {
  EMBER_CHECK(t.defined(), "to_dot: the tensor is undefined");
  std::ostringstream out;
  out << "digraph autograd {\n  rankdir=TB;\n  node [fontname=\"monospace\", fontsize=10];\n";
  out << "  output [label=\"output " << to_string(t.sizes())
      << (t.requires_grad() ? "" : "\\nno graph") << "\", shape=plaintext];\n";
  const std::shared_ptr<Node> root = gradient_edge(t);
  if (!root) return out.str() + "}\n";
  std::map<const Node*, int> ids;
  std::vector<const Node*> stack{root.get()};
  ids[root.get()] = 0;
  out << "  output -> n0;\n";
  while (!stack.empty()) {
    const Node* node = stack.back();
    stack.pop_back();
    const int id = ids.at(node);
    if (const auto* acc = dynamic_cast<const AccumulateGrad*>(node)) {
      const std::shared_ptr<TensorImpl> leaf = acc->leaf();
      out << "  n" << id << " [label=\"leaf " << (leaf ? to_string(leaf->sizes) : "(freed)")
          << "\\nrequires_grad\", shape=ellipse, style=filled, fillcolor=lightblue];\n";
    } else {
      out << "  n" << id << " [label=\"" << node->name() << "\\n-> "
          << to_string(node->output_shape());
      if (!node->saved_shapes().empty()) out << "\\nsaved: " << shapes(node->saved_shapes());
      out << "\", shape=box];\n";
    }
    for (const Edge& edge : node->next_edges()) {
      if (!edge.node) continue;  // an input that needs no gradient
      auto [it, fresh] = ids.emplace(edge.node.get(), static_cast<int>(ids.size()));
      if (fresh) stack.push_back(edge.node.get());
      out << "  n" << id << " -> n" << it->second << ";\n";
    }
  }
  return out.str() + "}\n";
}

}  // namespace ember::autograd
