// leaf(...): a float32 tensor that requires grad and has no history, the input of a gradient
// test. (The lessons define their own, so each reads alone: tests/lessons/README.md.)
#pragma once

#include <vector>

#include <ember/core/tensor.h>

namespace ember::test {

// A fresh leaf of `shape` holding `values`: leaf({1, 2, 3, 4}, {2, 2}).
inline Tensor leaf(const std::vector<float>& values, const Shape& shape) {
  Tensor t = from_vector(values, shape);
  t.requires_grad_();
  return t;
}

// A fresh leaf holding a copy of t's values (t itself is left alone, graph or not).
inline Tensor leaf(const Tensor& t) {
  Tensor c = t.detach().clone();
  c.requires_grad_();
  return c;
}

}  // namespace ember::test
