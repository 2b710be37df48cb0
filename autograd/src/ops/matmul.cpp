// matmul, differentiable: core::matmul computes (core/src/ops/matmul.cpp), the node is recorded
// here.
#include <ember/autograd/node.h>
#include <ember/autograd/ops.h>

namespace ember {

using autograd::Grads;

// C = A B, so grad_A = grad_C B^T and grad_B = A^T grad_C (each summed over broadcast batch dims).
// A 1-d operand is recorded as torch.matmul treats it: unsqueezed to a matrix, multiplied, and
// the dim squeezed from the product.
Tensor matmul(const Tensor& a, const Tensor& b) {
  Tensor out = core::matmul(a, b);
  if (!autograd::needs_graph({&a, &b})) return out;
  const bool a_vector = a.dim() == 1, b_vector = b.dim() == 1;
  const Tensor a2 = a_vector ? a.unsqueeze(0) : a, b2 = b_vector ? b.unsqueeze(1) : b;
  Shape shape2 = out.sizes();  // the product of the matrices, before the squeezes
  if (a_vector) shape2.insert(shape2.end() - (b_vector ? 0 : 1), 1);
  if (b_vector) shape2.push_back(1);
  Tensor out2 = a_vector || b_vector ? core::view(out, shape2) : out;
  autograd::record(
      "MmBackward", {a2, b2}, out2,
      [saved_a = autograd::SavedTensor(a2), saved_b = autograd::SavedTensor(b2)](
          const Tensor& grad_out, const std::vector<bool>& needs) {
        Tensor av = saved_a.get("matmul"), bv = saved_b.get("matmul");
        return Grads{needs[0] ? autograd::sum_to(matmul(grad_out, bv.transpose(-1, -2)), av.sizes())
                              : Tensor(),
                     needs[1] ? autograd::sum_to(matmul(av.transpose(-1, -2), grad_out), bv.sizes())
                              : Tensor()};
      });
  if (b_vector) out2 = out2.squeeze(-1);
  if (a_vector) out2 = out2.squeeze(b_vector ? -1 : -2);
  return out2;
}

Tensor Tensor::matmul(const Tensor& other) const {
  return ember::matmul(*this, other);
}

}  // namespace ember
