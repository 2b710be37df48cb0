// The node at the end of every path: adds the gradient into a leaf's .grad().
#pragma once

#include <ember/autograd/node.h>

namespace ember::autograd {

class AccumulateGrad final : public Node {
 public:
  // Holds the leaf weakly: the leaf owns the graph's use of it, not the other way round.
  explicit AccumulateGrad(const Tensor& leaf) : Node("AccumulateGrad"), leaf_(leaf.impl_ptr()) {}
  std::vector<Tensor> apply(const Tensor& grad_out) override;
  std::shared_ptr<TensorImpl> leaf() const { return leaf_.lock(); }  // null once the leaf is gone

 private:
  std::weak_ptr<TensorImpl> leaf_;
};

}  // namespace ember::autograd
