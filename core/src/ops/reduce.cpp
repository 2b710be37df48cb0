// Reductions: sum, mean, max, argmax, min and logsumexp, over everything or along one dim,
// graph-free (autograd/src/ops/reduce.cpp records them).
// Note [Fixed reduction order]: every sum runs in one order fixed by the shape alone (in double for
// floats; serially, but for the columns of a float matrix, Note [Column sums in blocks of rows]),
// so results are bitwise identical whatever the thread count. A contiguous
// run is summed into kSumLanes interleaved accumulators, combined pairwise at the end: one running
// sum would be a single chain of dependent adds (~4 cycles each, 4 us for 2560 floats).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include <ember/core/checked.h>
#include <ember/core/indexing.h>
#include <ember/core/ops.h>
#include <ember/core/parallel.h>

#include "ops/dispatch.h"

namespace ember {

namespace core {

namespace {

// A contiguous tensor seen as [outer, R, inner] around the reduced dim. An empty tensor's sizes
// may multiply past int64 ([2^40, 2^40, 5, 0] reduced over dim 2): the strides' check at creation
// bounds every product without dim 0, so inner fits, and outer is taken as 0 when inner is 0;
// otherwise outer * inner is the size of the output, which exists.
struct Around {
  std::int64_t outer = 1, reduced = 1, inner = 1;
};
Around around(const Shape& sizes, std::size_t d) {
  const auto at = sizes.begin() + static_cast<std::ptrdiff_t>(d);
  Around a;
  a.reduced = sizes[d];
  a.inner = checked_numel(Shape(at + 1, sizes.end()), "reduce");
  a.outer = a.inner == 0 ? 0 : checked_numel(Shape(sizes.begin(), at), "reduce");
  return a;
}

Shape reduced_shape(const Shape& sizes, std::size_t d, bool keepdim) {
  Shape out = sizes;
  if (keepdim)
    out[d] = 1;
  else
    out.erase(out.begin() + static_cast<std::ptrdiff_t>(d));
  return out;
}

Dtype sum_dtype(Dtype dtype) {
  return dtype == kFloat32 ? kFloat32 : kInt64;
}

// sum of x[0..n): accumulator j takes the elements j, j + kSumLanes, ...; then
// ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)).
constexpr std::int64_t kSumLanes = 8;
template <class Acc, class T>
Acc sum_run(const T* x, std::int64_t n) {
  Acc acc[kSumLanes] = {};
  std::int64_t i = 0;
  for (; i + kSumLanes <= n; i += kSumLanes)
    for (std::int64_t j = 0; j < kSumLanes; ++j) acc[j] += static_cast<Acc>(x[i + j]);
  for (std::int64_t j = 0; i + j < n; ++j) acc[j] += static_cast<Acc>(x[i + j]);
  for (std::int64_t width = kSumLanes / 2; width > 0; width /= 2)
    for (std::int64_t j = 0; j < width; ++j) acc[j] = acc[2 * j] + acc[2 * j + 1];
  return acc[0];
}

// Note [Column sums in blocks of rows]
// A float [rows, cols] summed over its rows (a Linear layer's bias gradient, a batch's mean) is
// cut into blocks of rows by the shape alone: each at least kSumGrain elements (a batch of 64
// rows of 256 is two blocks, of 256 rows eight), at most kMaxSumBlocks of them. A piece sums its
// block's rows, in row order, into its own row of double partials; the partials are then added
// in block order. The result is bitwise the same at any thread count.
// Why blocks of rows and not of columns: the rows were written by the threads that computed them,
// each its own rows (an elementwise backward's pieces), so a block of rows is mostly read from
// its own core's cache; with blocks of columns every thread read all of the matrix, half of it
// from the other core, and neighbouring pieces' accumulators shared cache lines (the MLP epoch
// at batch 256 spent 7.4 ms in its bias gradients at 1 thread and 9.1 ms at 2; pool trace).
constexpr std::int64_t kSumGrain = std::int64_t{1} << 13;
constexpr std::int64_t kMaxSumBlocks = 64;

void column_sums(const float* g, std::int64_t rows, std::int64_t cols, float* out) {
  if (rows <= 0) {
    std::fill(out, out + cols, 0.0f);
    return;
  }
  const std::int64_t block_rows =
      std::max<std::int64_t>(1, kSumGrain / std::max<std::int64_t>(cols, 1));
  const std::int64_t blocks = std::clamp<std::int64_t>(rows / block_rows, 1, kMaxSumBlocks);
  // One row of partials per block, each starting on its own 64-byte line.
  const std::int64_t stride = (cols + 7) / 8 * 8;
  std::vector<double> storage(static_cast<std::size_t>(blocks * stride + 8), 0.0);
  double* partials = storage.data();
  while (reinterpret_cast<std::uintptr_t>(partials) % 64 != 0) ++partials;
  parallel_for(0, blocks, 1, [&](std::int64_t b0, std::int64_t b1) {
    for (std::int64_t b = b0; b < b1; ++b) {
      double* acc = partials + b * stride;
      const std::int64_t r1 = rows * (b + 1) / blocks;
      for (std::int64_t i = rows * b / blocks; i < r1; ++i) {
        const float* row = g + i * cols;
        for (std::int64_t j = 0; j < cols; ++j) acc[j] += row[j];
      }
    }
  });
  for (std::int64_t j = 0; j < cols; ++j) {
    double sum = partials[j];
    for (std::int64_t b = 1; b < blocks; ++b) sum += partials[b * stride + j];
    out[j] = static_cast<float>(sum);
  }
}

// out[o, i] = sum_r x[o, r, i], accumulated in double (floats) or int64 (integers): r ascending,
// or sum_run's order when inner == 1.
Tensor sum_kernel(const Tensor& input, std::size_t d, bool keepdim) {
  Tensor x = contiguous(input);
  Tensor out = empty(reduced_shape(x.sizes(), d, keepdim), sum_dtype(x.dtype()));
  if (out.numel() == 0) return out;  // no loop over a huge reduced dim of empty rows
  const Around a = around(x.sizes(), d);
  detail::dispatch(x.dtype(), [&]<class T>() {
    // Integers sum in uint64, which wraps (Note [Integer overflow] in elementwise.cpp).
    using Acc = std::conditional_t<std::is_same_v<T, float>, double, std::uint64_t>;
    using Out = std::conditional_t<std::is_same_v<T, float>, float, std::int64_t>;
    const T* src = x.data_ptr<T>();
    Out* dst = out.data_ptr<Out>();
    if constexpr (std::is_same_v<T, float>) {
      if (a.outer == 1 && a.inner > 1) {
        column_sums(src, a.reduced, a.inner, dst);
        return;
      }
    }
    std::vector<Acc> acc(static_cast<std::size_t>(a.inner));
    for (std::int64_t o = 0; o < a.outer; ++o) {
      if (a.inner == 1) {  // each output sums one contiguous run
        dst[o] = static_cast<Out>(sum_run<Acc>(src + o * a.reduced, a.reduced));
        continue;
      }
      std::fill(acc.begin(), acc.end(), Acc(0));
      for (std::int64_t r = 0; r < a.reduced; ++r) {
        const T* row = src + (o * a.reduced + r) * a.inner;
        for (std::int64_t i = 0; i < a.inner; ++i)
          acc[static_cast<std::size_t>(i)] += static_cast<Acc>(row[i]);
      }
      for (std::int64_t i = 0; i < a.inner; ++i)
        dst[o * a.inner + i] = static_cast<Out>(acc[static_cast<std::size_t>(i)]);
    }
  });
  return out;
}

// First index of the minimum along `d` of a contiguous x, a NaN counting as the minimum (as
// PyTorch): [outer, R, inner] -> [outer, inner].
Tensor argmin_kernel(const Tensor& x, std::size_t d, bool keepdim) {
  std::int64_t outer = 1, inner = 1;
  const std::int64_t reduced = x.sizes()[d];
  for (std::size_t i = 0; i < x.sizes().size(); ++i) {
    if (i < d) outer *= x.sizes()[i];
    if (i > d) inner *= x.sizes()[i];
  }
  Shape shape = x.sizes();
  if (keepdim)
    shape[d] = 1;
  else
    shape.erase(shape.begin() + static_cast<std::ptrdiff_t>(d));
  Tensor indices = empty(shape, kInt64);
  std::int64_t* idx = indices.data_ptr<std::int64_t>();
  detail::dispatch(x.dtype(), [&]<class T>() {
    const T* src = x.data_ptr<T>();
    for (std::int64_t o = 0; o < outer; ++o) {
      for (std::int64_t i = 0; i < inner; ++i) {
        const T* p = src + o * reduced * inner + i;
        T best = p[0];
        std::int64_t best_at = 0;
        for (std::int64_t k = 1; k < reduced; ++k) {
          const T v = p[k * inner];
          if constexpr (std::is_same_v<T, float>) {
            if (std::isnan(best)) break;
            if (v < best || std::isnan(v)) best = v, best_at = k;
          } else {
            if (v < best) best = v, best_at = k;
          }
        }
        idx[o * inner + i] = best_at;
      }
    }
  });
  return indices;
}
}  // namespace

Tensor sum(const Tensor& a) {
  return sum_kernel(reshape(a, {-1}), 0, false);
}

Tensor sum(const Tensor& a, std::int64_t dim, bool keepdim) {
  const auto d = static_cast<std::size_t>(wrap_dim(dim, a.dim(), "sum"));
  if (a.dim() == 0) return sum(a);
  return sum_kernel(a, d, keepdim);
}

// mean = sum / n. The mean of nothing is NaN.
Tensor mean(const Tensor& a) {
  EMBER_CHECK(a.dtype() == kFloat32, "mean: expected a float32 tensor, got ", a.dtype(),
              " (convert with .to(ember::kFloat32))");
  return div(sum(a), static_cast<double>(a.numel()));
}

Tensor mean(const Tensor& a, std::int64_t dim, bool keepdim) {
  EMBER_CHECK(a.dtype() == kFloat32, "mean: expected a float32 tensor, got ", a.dtype(),
              " (convert with .to(ember::kFloat32))");
  return div(sum(a, dim, keepdim), static_cast<double>(a.dim() == 0 ? 1 : a.size(dim)));
}

// Values and first indices of the maxima along dim; a NaN counts as the maximum (as PyTorch).
std::tuple<Tensor, Tensor> max(const Tensor& a, std::int64_t dim, bool keepdim) {
  const auto d = static_cast<std::size_t>(wrap_dim(dim, a.dim(), "max"));  // 0-d: only -1 and 0
  if (a.dim() == 0) return {a, zeros({}, kInt64)};
  EMBER_CHECK(a.sizes()[d] > 0, "max: cannot reduce over dim ", dim, " of size 0 in shape ",
              to_string(a.sizes()));
  Tensor x = contiguous(a);
  const Shape shape = reduced_shape(x.sizes(), d, keepdim);
  Tensor values = empty(shape, x.dtype());
  Tensor indices = empty(shape, kInt64);
  const Around r = around(x.sizes(), d);
  detail::dispatch(x.dtype(), [&]<class T>() {
    const T* src = x.data_ptr<T>();
    T* val = values.data_ptr<T>();
    std::int64_t* idx = indices.data_ptr<std::int64_t>();
    for (std::int64_t o = 0; o < r.outer; ++o) {
      for (std::int64_t i = 0; i < r.inner; ++i) {
        const T* p = src + o * r.reduced * r.inner + i;
        T best = p[0];
        std::int64_t best_at = 0;
        for (std::int64_t k = 1; k < r.reduced; ++k) {
          const T v = p[k * r.inner];
          if constexpr (std::is_same_v<T, float>) {
            if (std::isnan(best)) break;
            if (v > best || std::isnan(v)) best = v, best_at = k;
          } else {
            if (v > best) best = v, best_at = k;
          }
        }
        val[o * r.inner + i] = best;
        idx[o * r.inner + i] = best_at;
      }
    }
  });
  return {values, indices};
}

// The gradient flows only to the chosen element of each slice.
Tensor value_selecting_reduction_backward(const Tensor& grad_out, std::int64_t dim,
                                          const Tensor& indices, const Shape& sizes, bool keepdim) {
  const auto d = static_cast<std::size_t>(dim);
  Tensor gk = contiguous(keepdim ? grad_out : unsqueeze(grad_out, dim));
  Tensor ik = contiguous(keepdim ? indices : unsqueeze(indices, dim));
  Tensor grad = zeros(sizes);
  const Around dims = around(sizes, d);
  const float* gp = gk.data_ptr<float>();
  const std::int64_t* ip = ik.data_ptr<std::int64_t>();
  float* out = grad.data_ptr<float>();
  for (std::int64_t o = 0; o < dims.outer; ++o)
    for (std::int64_t i = 0; i < dims.inner; ++i)
      out[(o * dims.reduced + ip[o * dims.inner + i]) * dims.inner + i] = gp[o * dims.inner + i];
  return grad;
}

Tensor max(const Tensor& a) {
  EMBER_CHECK(a.numel() > 0, "max: cannot take the max of an empty tensor of shape ",
              to_string(a.sizes()));
  return std::get<0>(max(reshape(a, {-1}), 0, false));
}

// The values are gathered at the indices of the minima.
std::tuple<Tensor, Tensor> min(const Tensor& a, std::int64_t dim, bool keepdim) {
  EMBER_CHECK(a.defined(), "min: the tensor is undefined");
  if (a.dim() == 0) return {a, zeros({}, kInt64)};
  const auto d = static_cast<std::size_t>(wrap_dim(dim, a.dim(), "min"));
  EMBER_CHECK(a.sizes()[d] > 0, "min: cannot reduce over dim ", dim, " of size 0 in shape ",
              to_string(a.sizes()));
  const Tensor kept = argmin_kernel(contiguous(a), d, true);
  Tensor values = gather(a, static_cast<std::int64_t>(d), kept);
  if (!keepdim) values = squeeze(values, static_cast<std::int64_t>(d));
  return {values, keepdim ? kept : squeeze(kept, static_cast<std::int64_t>(d))};
}

// The minimum of all elements; NaN if any is NaN.
Tensor min(const Tensor& a) {
  EMBER_CHECK(a.defined(), "min: the tensor is undefined");
  EMBER_CHECK(a.numel() > 0, "min: cannot take the min of an empty tensor of shape ",
              to_string(a.sizes()));
  return std::get<0>(min(reshape(a, {-1}), 0, false));
}

// Note [Stable logsumexp]: log sum_k exp(x_k) = m + log sum_k exp(x_k - m) with m the row max, so
// no exp overflows at x = 1e4. An infinite m is replaced by 0 (as PyTorch): a row of -inf gives
// log(0) = -inf, and a row holding +inf gives +inf, rather than inf - inf = NaN. m is a constant
// (detached), so the gradient is that of log(sum(exp(x - m))): softmax(x) (recorded as such by
// autograd/src/ops/reduce.cpp, which builds it from the differentiable ops).
Tensor logsumexp(const Tensor& a, std::int64_t dim, bool keepdim) {
  EMBER_CHECK(a.defined(), "logsumexp: the tensor is undefined");
  const Tensor x = a.to(kFloat32);
  const std::int64_t d = wrap_dim(dim, std::max<std::int64_t>(x.dim(), 1), "logsumexp");
  if (x.dim() == 0) return clone(x);
  Tensor m = x.numel() == 0 ? zeros({}) : std::get<0>(max(x, d, true));
  m = where(abs(m) == INFINITY, zeros({}), m);
  Tensor out = add(log(sum(exp(sub(x, m)), d, true)), m);
  return keepdim ? out : squeeze(out, d);
}

}  // namespace core

Tensor argmax(const Tensor& a, std::int64_t dim, bool keepdim) {
  wrap_dim(dim, a.dim(), "argmax");  // named as argmax in the error
  return std::get<1>(core::max(a, dim, keepdim));
}

Tensor Tensor::argmax(std::int64_t d, bool keepdim) const {
  return ember::argmax(*this, d, keepdim);
}

}  // namespace ember
