// ember::nn::Sequential. See sequential.h.
#include <ember/nn/sequential.h>

#include <typeinfo>

#include <ember/nn/activation.h>
#include <ember/nn/functional/pooling.h>
#include <ember/nn/pooling.h>

namespace ember::nn {

std::shared_ptr<Module> Sequential::operator[](std::size_t i) const {
  EMBER_CHECK(i < size(), "Sequential: index ", i, " out of range for ", size(), " modules");
  return named_children()[i].second;
}

// Note [Fused sigmoid and average pooling]
// d2l's LeNet is Conv2d, Sigmoid, AvgPool2d(2, 2), twice. Run as two modules, the pair makes
// about seven passes over the conv's full-size output per batch (256 x 6 x 28 x 28 floats, 4.8 MB,
// beyond L2): the sigmoid reads x and writes y, the pool reads y; backward, the pool writes a
// full-size gradient and the sigmoid's backward reads it and y and writes grad_x. Those passes
// were 27 % of a LeNet epoch's profile (bench/results/profiles/lenet_epoch_2threads_d59a1ec.txt)
// and do not speed up with a second thread (memory bound).
// functional::sigmoid_avg_pool2d does it in about four and a half: forward reads x once and
// writes s = sigmoid(x) (saved for backward, as Sigmoid saves its output) and the pooled quarter,
// summed from a copy of s in L1; backward reads s and the pooled gradient and writes
// grad_x = (g / divisor) (1 - s) s, with no full-size gradient in between
// (nn/src/kernels/nn_sigmoid_pool.cpp). Recomputing s in backward from a saved x instead (one
// pass fewer) measured slower: vsigmoid is compute bound here (its division).
// It is invisible: the outputs and every gradient are bitwise those of the two modules, at any
// thread count and on every instruction set (the same vsigmoid, the pool's sum order and
// division, the same gradient expression; tests/nn/test_sigmoid_pool.cpp). So Sequential::forward
// fuses when a child that is exactly a Sigmoid (not a subclass, which may override forward) is
// followed by one that is exactly an AvgPool2d whose options and input the kernel takes
// (functional::sigmoid_avg_pool2d_fuses: 2x2, stride 2, no padding); anything else runs module by
// module. The modules, their names and the state_dict are unchanged; modules have no hooks, so
// nothing can observe the skipped intermediate; only the graph differs (one node,
// SigmoidAvgPool2DBackward, where there were two).
Tensor Sequential::forward(const Tensor& x) {
  const auto& children = named_children();
  Tensor out = x;
  for (std::size_t i = 0; i < children.size(); ++i) {
    const Module& m = *children[i].second;
    if (i + 1 < children.size() && typeid(m) == typeid(Sigmoid)) {
      const Module& next = *children[i + 1].second;
      if (typeid(next) == typeid(AvgPool2d)) {
        const AvgPool2dOptions& options = static_cast<const AvgPool2d&>(next).options();
        if (functional::sigmoid_avg_pool2d_fuses(out, options)) {
          out = functional::sigmoid_avg_pool2d(out, options);
          ++i;
          continue;
        }
      }
    }
    out = children[i].second->forward(out);
  }
  return out;
}

}  // namespace ember::nn
