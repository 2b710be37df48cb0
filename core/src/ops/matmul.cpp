// matmul: 2-d products on our GEMM kernel (core/src/kernels/gemm.h), batched over leading dims.
// Graph-free; autograd/src/ops/matmul.cpp records it.
#include <ember/core/ops.h>

#include "kernels/gemm.h"

namespace ember::core {

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
  keep = contiguous(m);
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
  Tensor out3 = view(out, {batch, M, N});
  for (std::int64_t i = 0; i < batch; ++i) {
    Tensor ai = a, bi = b;
    for (std::size_t d = 0; d < lead.size(); ++d) {
      const std::int64_t idx = (i / lead_strides_out[d]) % lead[d];
      const std::size_t off_a = lead.size() - lead_a.size(), off_b = lead.size() - lead_b.size();
      if (d >= off_a) ai = select(ai, 0, lead_a[d - off_a] == 1 ? 0 : idx);
      if (d >= off_b) bi = select(bi, 0, lead_b[d - off_b] == 1 ? 0 : idx);
    }
    Tensor oi = select(out3, 0, i);
    mm_into(ai, bi, oi);
  }
  return out;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  EMBER_CHECK(a.defined() && b.defined(), "matmul: an input is undefined");
  EMBER_CHECK(a.dtype() == kFloat32 && b.dtype() == kFloat32,
              "matmul: expected float32 tensors, got ", a.dtype(), " and ", b.dtype());
  EMBER_CHECK(a.dim() >= 1 && b.dim() >= 1, "matmul: both inputs need at least 1 dim, got shapes ",
              to_string(a.sizes()), " and ", to_string(b.sizes()));
  // 1-d operands act as a row vector on the left and a column vector on the right, and that dim
  // is dropped from the result (torch.matmul): [K] @ [K] -> [], [N, K] @ [K] -> [N],
  // [K] @ [B, K, M] -> [B, M]. Checked here so that errors name the shapes the user passed.
  if (a.dim() == 1 || b.dim() == 1) {
    const std::int64_t ka = a.size(-1), kb = b.dim() == 1 ? b.size(0) : b.size(-2);
    EMBER_CHECK(ka == kb, "matmul: shapes ", to_string(a.sizes()), " and ", to_string(b.sizes()),
                " cannot be multiplied (", ka, " != ", kb, ")");
    Tensor out = matmul(a.dim() == 1 ? unsqueeze(a, 0) : a, b.dim() == 1 ? unsqueeze(b, 1) : b);
    if (b.dim() == 1) out = squeeze(out, -1);
    if (a.dim() == 1) out = squeeze(out, b.dim() == 1 ? -1 : -2);
    return out;
  }
  EMBER_CHECK(a.size(-1) == b.size(-2), "matmul: shapes ", to_string(a.sizes()), " and ",
              to_string(b.sizes()), " cannot be multiplied (", a.size(-1), " != ", b.size(-2), ")");
  // Batch dims broadcast (checked here too, so the error shows both whole shapes).
  const Shape& shape_a = a.sizes();
  const Shape& shape_b = b.sizes();
  for (std::size_t i = 3; i <= std::min(shape_a.size(), shape_b.size()); ++i) {
    const std::int64_t size_a = shape_a[shape_a.size() - i], size_b = shape_b[shape_b.size() - i];
    EMBER_CHECK(size_a == size_b || size_a == 1 || size_b == 1, "matmul: shapes ",
                to_string(shape_a), " and ", to_string(shape_b),
                " have batch dims that cannot be broadcast together (", size_a, " vs ", size_b,
                ")");
  }
  return a.dim() == 2 && b.dim() == 2 ? mm(a, b) : bmm(a, b);
}

}  // namespace ember::core
