// matmul: 2-d products on our GEMM kernel (core/src/kernels/gemm.h), batched over leading dims.
#include <ember/autograd/node.h>
#include <ember/core/ops.h>

#include "kernels/gemm.h"

namespace ember {

using Grads = std::vector<Tensor>;

namespace {

// How the GEMM kernel reads a 2-d operand: row-major with a leading dim, or transposed.
struct Operand {
  const float* data;
  bool transposed;
  std::int64_t ld;
};

// The kernel takes row-major or column-major operands as they are (a transpose is free); any
// other strides are copied to contiguous first. `keep` holds such a copy alive.
Operand operand(const Tensor& m, Tensor& keep) {
  const std::int64_t rows = m.size(0), cols = m.size(1);
  const std::int64_t s0 = m.strides()[0], s1 = m.strides()[1];
  if ((s1 == 1 || cols == 1) && (s0 >= cols || rows == 1))
    return {m.data_ptr<float>(), false, std::max<std::int64_t>(rows == 1 ? cols : s0, 1)};
  if ((s0 == 1 || rows == 1) && (s1 >= rows || cols == 1))
    return {m.data_ptr<float>(), true, std::max<std::int64_t>(cols == 1 ? rows : s1, 1)};
  keep = m.contiguous();
  return {keep.data_ptr<float>(), false, std::max<std::int64_t>(cols, 1)};
}

// out[M, N] = a[M, K] @ b[K, N], written into a contiguous out.
void mm_into(const Tensor& a, const Tensor& b, Tensor& out) {
  Tensor keep_a, keep_b;
  const Operand oa = operand(a, keep_a), ob = operand(b, keep_b);
  const std::int64_t M = a.size(0), K = a.size(1), N = b.size(1);
  kernels::gemm(oa.transposed, ob.transposed, M, N, K, oa.data, oa.ld, ob.data, ob.ld,
                out.data_ptr<float>(), std::max<std::int64_t>(N, 1), false);
}

Tensor mm(const Tensor& a, const Tensor& b) {
  Tensor out = empty({a.size(0), b.size(1)});
  mm_into(a, b, out);
  return out;
}

// Batched: [..., M, K] @ [..., K, N] with the leading dims broadcast.
Tensor bmm(const Tensor& a, const Tensor& b) {
  const Shape lead_a(a.sizes().begin(), a.sizes().end() - 2);
  const Shape lead_b(b.sizes().begin(), b.sizes().end() - 2);
  const Shape lead = broadcast_shapes(lead_a, lead_b, "matmul");
  const std::int64_t M = a.size(-2), N = b.size(-1), batch = numel_of(lead);
  Shape out_shape = lead;
  out_shape.push_back(M);
  out_shape.push_back(N);
  Tensor out = empty(out_shape);
  if (M == 0 || N == 0) return out;  // nothing to compute, however many batches
  // Index each batch through the broadcast shape.
  const Shape lead_strides_out = [&] {
    Shape s(lead.size());
    std::int64_t st = 1;
    for (std::size_t i = lead.size(); i-- > 0;) s[i] = st, st *= lead[i];
    return s;
  }();
  Tensor out3 = out.view({batch, M, N});
  for (std::int64_t i = 0; i < batch; ++i) {
    Tensor ai = a, bi = b;
    for (std::size_t d = 0; d < lead.size(); ++d) {
      const std::int64_t idx = (i / lead_strides_out[d]) % lead[d];
      const std::size_t off_a = lead.size() - lead_a.size(), off_b = lead.size() - lead_b.size();
      if (d >= off_a) ai = ai.select(0, lead_a[d - off_a] == 1 ? 0 : idx);
      if (d >= off_b) bi = bi.select(0, lead_b[d - off_b] == 1 ? 0 : idx);
    }
    Tensor oi = out3.select(0, i);
    mm_into(ai, bi, oi);
  }
  return out;
}

}  // namespace

// C = A B, so dA = dC B^T and dB = A^T dC (each summed over broadcast batch dims).
Tensor matmul(const Tensor& a_in, const Tensor& b_in) {
  EMBER_CHECK(a_in.defined() && b_in.defined(), "matmul: an input is undefined");
  EMBER_CHECK(a_in.dtype() == kFloat32 && b_in.dtype() == kFloat32,
              "matmul: expected float32 tensors, got ", a_in.dtype(), " and ", b_in.dtype());
  EMBER_CHECK(a_in.dim() >= 1 && b_in.dim() >= 1,
              "matmul: both inputs need at least 1 dim, got shapes ", to_string(a_in.sizes()),
              " and ", to_string(b_in.sizes()));
  // 1-d operands act as a row vector on the left and a column vector on the right (torch.matmul).
  if (a_in.dim() == 1) return matmul(a_in.unsqueeze(0), b_in).squeeze(-2);
  if (b_in.dim() == 1) return matmul(a_in, b_in.unsqueeze(1)).squeeze(-1);
  EMBER_CHECK(a_in.size(-1) == b_in.size(-2), "matmul: shapes ", to_string(a_in.sizes()), " and ",
              to_string(b_in.sizes()), " cannot be multiplied (", a_in.size(-1),
              " != ", b_in.size(-2), ")");
  const Tensor a = a_in.detach(), b = b_in.detach();
  Tensor out = a.dim() == 2 && b.dim() == 2 ? mm(a, b) : bmm(a, b);
  if (autograd::needs_graph({&a_in, &b_in})) {
    autograd::record(
        "MmBackward", {a_in, b_in}, out,
        [sa = autograd::SavedTensor(a_in), sb = autograd::SavedTensor(b_in)](
            const Tensor& g, const std::vector<bool>& needs) {
          Tensor av = sa.get("matmul"), bv = sb.get("matmul");
          return Grads{
              needs[0] ? autograd::sum_to(matmul(g, bv.transpose(-1, -2)), av.sizes()) : Tensor(),
              needs[1] ? autograd::sum_to(matmul(av.transpose(-1, -2), g), bv.sizes()) : Tensor()};
        });
  }
  return out;
}

Tensor Tensor::matmul(const Tensor& other) const {
  return ember::matmul(*this, other);
}

}  // namespace ember
