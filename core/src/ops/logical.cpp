// Logical ops, built from comparisons: nonzero is true, and the result is a uint8 mask of 0 and 1
// (where PyTorch's is bool). Not differentiable, as PyTorch's.
#include <ember/core/error.h>
#include <ember/core/ops.h>

namespace ember {

namespace {

// a != 0 as a 0/1 mask; NaN is nonzero, so true (as PyTorch's logical ops).
Tensor truth(const Tensor& a, const char* op) {
  EMBER_CHECK(a.defined(), op, ": an input is undefined");
  return a != 0;
}

}  // namespace

Tensor logical_not(const Tensor& a) {
  EMBER_CHECK(a.defined(), "logical_not: the tensor is undefined");
  return a == 0;
}

Tensor logical_and(const Tensor& a, const Tensor& b) {
  return core::mul(truth(a, "logical_and"),
                   truth(b, "logical_and"));  // uint8 0/1 * 0/1: no overflow
}

Tensor logical_or(const Tensor& a, const Tensor& b) {
  return core::maximum(truth(a, "logical_or"), truth(b, "logical_or"));
}

Tensor logical_xor(const Tensor& a, const Tensor& b) {
  return truth(a, "logical_xor") != truth(b, "logical_xor");
}

Tensor Tensor::logical_not() const {
  return ember::logical_not(*this);
}

}  // namespace ember
