// Softmax family kernels. Three layouts:
// - inner == 1 (softmax over the last dim): each row of K is contiguous; vectorize along K. Three
//   sweeps over a row that sits in L1/L2: max, sum of exponentials (softmax also stores them),
//   then the write.
// - inner > 1 (softmax over an earlier dim): the K values of one position are `inner` apart;
//   vectorize across kLanes neighbouring positions, so every load is still contiguous. The last
//   inner % kLanes positions are gathered into a padded block and run through the same code.
// - inner == 1 but K < 2 kLanes (d2l's [256, 10]): kLanes rows are transposed into a block and
//   run through the column code, instead of paying a scalar tail per row.
// Threads split rows (or column blocks); each row is reduced in a fixed order by one thread.
// Compiled once per instruction set (Note [ISA dispatch] in kernels/isa.h).
#include "kernels/nn_softmax.h"
#include "kernels/nn_math.h"  // first: see the note on GCC 12 there

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>

#include <ember/core/parallel.h>

namespace ember::nn::kernels {

EMBER_ISA_VARIANTS(softmax_forward)
EMBER_ISA_VARIANTS(softmax_backward)

namespace EMBER_ISA {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr std::int64_t kGrainElements = 16384;

// --- inner == 1: contiguous rows ---

template <SoftmaxKind kKind>
Vec load_x(const float* p) {
  const Vec v = Vec::load_unaligned(p);
  if constexpr (kKind == SoftmaxKind::Softmin) return -v;
  return v;
}
template <SoftmaxKind kKind>
Vec load_x_tail(const float* p, std::int64_t n) {
  // Pad so that the padding is -inf after the sign flip: it never wins the max and adds
  // exp(-inf) = 0 to the sum.
  if constexpr (kKind == SoftmaxKind::Softmin) return -load_tail(p, n, kInf);
  return load_tail(p, n, -kInf);
}

template <SoftmaxKind kKind>
void row_forward(const float* x, float* y, std::int64_t K) {
  const std::int64_t body = K - K % kLanes;
  // Sweep 1: m = max_k x_k (four accumulators, combined in a fixed order).
  Vec m0(-kInf), m1(-kInf), m2(-kInf), m3(-kInf);
  std::int64_t k = 0;
  for (; k + 4 * kLanes <= body; k += 4 * kLanes) {
    m0 = xsimd::max(m0, load_x<kKind>(x + k));
    m1 = xsimd::max(m1, load_x<kKind>(x + k + kLanes));
    m2 = xsimd::max(m2, load_x<kKind>(x + k + 2 * kLanes));
    m3 = xsimd::max(m3, load_x<kKind>(x + k + 3 * kLanes));
  }
  for (; k < body; k += kLanes) m0 = xsimd::max(m0, load_x<kKind>(x + k));
  if (body < K) m1 = xsimd::max(m1, load_x_tail<kKind>(x + body, K - body));
  const Vec mv(hmax(xsimd::max(xsimd::max(m0, m1), xsimd::max(m2, m3))));

  // Sweep 2: s = sum_k exp(x_k - m); softmax keeps the exponentials in y.
  constexpr bool kStore = kKind != SoftmaxKind::LogSoftmax;
  BlockedSum s0, s1;
  for (k = 0; k + 2 * kLanes <= body; k += 2 * kLanes) {
    const Vec e0 = vexp(load_x<kKind>(x + k) - mv);
    const Vec e1 = vexp(load_x<kKind>(x + k + kLanes) - mv);
    if constexpr (kStore) {
      e0.store_unaligned(y + k);
      e1.store_unaligned(y + k + kLanes);
    }
    s0.add(e0);
    s1.add(e1);
  }
  for (; k < body; k += kLanes) {
    const Vec e0 = vexp(load_x<kKind>(x + k) - mv);
    if constexpr (kStore) e0.store_unaligned(y + k);
    s0.add(e0);
  }
  if (body < K) {
    const Vec e1 = vexp(load_x_tail<kKind>(x + body, K - body) - mv);
    if constexpr (kStore) store_tail(y + body, K - body, e1);
    s1.add(e1);
  }
  const float s = hsum(s0.result() + s1.result());

  // Sweep 3: the write.
  if constexpr (kKind == SoftmaxKind::LogSoftmax) {
    const Vec log_s(std::log(s));
    for (k = 0; k < body; k += kLanes) {
      ((load_x<kKind>(x + k) - mv) - log_s).store_unaligned(y + k);
    }
    if (body < K)
      store_tail(y + body, K - body, (load_x_tail<kKind>(x + body, K - body) - mv) - log_s);
  } else {
    const Vec inv_s(1.0f / s);
    for (k = 0; k < body; k += kLanes) (Vec::load_unaligned(y + k) * inv_s).store_unaligned(y + k);
    if (body < K) store_tail(y + body, K - body, load_tail(y + body, K - body, 0.0f) * inv_s);
  }
}

template <SoftmaxKind kKind>
void row_backward(const float* y, const float* g, float* gx, std::int64_t K) {
  const std::int64_t body = K - K % kLanes;
  BlockedSum a0, a1;  // Note [blocked sums]
  std::int64_t k = 0;
  if constexpr (kKind == SoftmaxKind::LogSoftmax) {
    // grad_x = g - exp(y) * sum(g)
    for (; k + 2 * kLanes <= body; k += 2 * kLanes) {
      a0.add(Vec::load_unaligned(g + k));
      a1.add(Vec::load_unaligned(g + k + kLanes));
    }
    for (; k < body; k += kLanes) a0.add(Vec::load_unaligned(g + k));
    if (body < K) a1.add(load_tail(g + body, K - body, 0.0f));
    const Vec sg(hsum(a0.result() + a1.result()));
    for (k = 0; k < body; k += kLanes) {
      xsimd::fnma(vexp(Vec::load_unaligned(y + k)), sg, Vec::load_unaligned(g + k))
          .store_unaligned(gx + k);
    }
    if (body < K) {
      const std::int64_t n = K - body;
      store_tail(gx + body, n,
                 xsimd::fnma(vexp(load_tail(y + body, n, 0.0f)), sg, load_tail(g + body, n, 0.0f)));
    }
  } else {
    // grad_x = ±y * (g - sum(g * y))
    for (; k + 2 * kLanes <= body; k += 2 * kLanes) {
      a0.add(Vec::load_unaligned(g + k), Vec::load_unaligned(y + k));
      a1.add(Vec::load_unaligned(g + k + kLanes), Vec::load_unaligned(y + k + kLanes));
    }
    for (; k < body; k += kLanes) {
      a0.add(Vec::load_unaligned(g + k), Vec::load_unaligned(y + k));
    }
    if (body < K) {
      a1.add(load_tail(g + body, K - body, 0.0f), load_tail(y + body, K - body, 0.0f));
    }
    const Vec dot(hsum(a0.result() + a1.result()));
    auto write = [&](Vec yv, Vec gv) {
      if constexpr (kKind == SoftmaxKind::Softmin) return yv * (dot - gv);
      return yv * (gv - dot);
    };
    for (k = 0; k < body; k += kLanes) {
      write(Vec::load_unaligned(y + k), Vec::load_unaligned(g + k)).store_unaligned(gx + k);
    }
    if (body < K) {
      const std::int64_t n = K - body;
      store_tail(gx + body, n, write(load_tail(y + body, n, 0.0f), load_tail(g + body, n, 0.0f)));
    }
  }
}

// --- inner > 1: kLanes columns at a time, K values `stride` apart ---

template <SoftmaxKind kKind>
void cols_forward(const float* x, float* y, std::int64_t K, std::int64_t stride) {
  Vec mv(-kInf);
  for (std::int64_t k = 0; k < K; ++k) mv = xsimd::max(mv, load_x<kKind>(x + k * stride));
  BlockedSum sum;  // Note [blocked sums]
  for (std::int64_t k = 0; k < K; ++k) {
    const Vec e = vexp(load_x<kKind>(x + k * stride) - mv);
    if constexpr (kKind != SoftmaxKind::LogSoftmax) e.store_unaligned(y + k * stride);
    sum.add(e);
  }
  const Vec s = sum.result();
  if constexpr (kKind == SoftmaxKind::LogSoftmax) {
    alignas(64) float sb[Vec::size];
    s.store_aligned(sb);
    for (float& v : sb) v = std::log(v);
    const Vec log_s = Vec::load_aligned(sb);
    for (std::int64_t k = 0; k < K; ++k) {
      ((load_x<kKind>(x + k * stride) - mv) - log_s).store_unaligned(y + k * stride);
    }
  } else {
    const Vec inv_s = Vec(1.0f) / s;
    for (std::int64_t k = 0; k < K; ++k) {
      (Vec::load_unaligned(y + k * stride) * inv_s).store_unaligned(y + k * stride);
    }
  }
}

template <SoftmaxKind kKind>
void cols_backward(const float* y, const float* g, float* gx, std::int64_t K, std::int64_t stride) {
  BlockedSum sum;  // Note [blocked sums]
  if constexpr (kKind == SoftmaxKind::LogSoftmax) {
    for (std::int64_t k = 0; k < K; ++k) sum.add(Vec::load_unaligned(g + k * stride));
    const Vec a = sum.result();
    for (std::int64_t k = 0; k < K; ++k) {
      const std::int64_t o = k * stride;
      xsimd::fnma(vexp(Vec::load_unaligned(y + o)), a, Vec::load_unaligned(g + o))
          .store_unaligned(gx + o);
    }
  } else {
    for (std::int64_t k = 0; k < K; ++k) {
      sum.add(Vec::load_unaligned(g + k * stride), Vec::load_unaligned(y + k * stride));
    }
    const Vec a = sum.result();
    for (std::int64_t k = 0; k < K; ++k) {
      const std::int64_t o = k * stride;
      const Vec yv = Vec::load_unaligned(y + o);
      const Vec gv = Vec::load_unaligned(g + o);
      const Vec r = kKind == SoftmaxKind::Softmin ? yv * (a - gv) : yv * (gv - a);
      r.store_unaligned(gx + o);
    }
  }
}

// Zeroed scratch floats, grown as needed. Not a std::vector: its out-of-line members would be
// emitted in this file's ISA builds too (Note [ISA dispatch]).
class Scratch {
 public:
  Scratch() = default;
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  ~Scratch() { delete[] data_; }
  float* zeros(std::size_t n) {
    if (n > size_) {
      delete[] data_;
      data_ = nullptr;
      data_ = new float[n];
      size_ = n;
    }
    for (std::size_t i = 0; i < n; ++i) data_[i] = 0.0f;
    return data_;
  }

 private:
  float* data_ = nullptr;
  std::size_t size_ = 0;
};

// Runs `block(in_ptrs..., out, K, stride)` on column block `b` of slab `o`: directly for a full
// block, through a padded [K, kLanes] copy for the last partial one.
template <class Block>
void run_column_block(RowShape shape, std::int64_t unit, std::int64_t blocks, Scratch& scratch,
                      const float* in0, const float* in1, float* out, const Block& block) {
  const std::int64_t o = unit / blocks;
  const std::int64_t j = (unit % blocks) * kLanes;
  const std::int64_t base = o * shape.K * shape.inner + j;
  const std::int64_t width = std::min(kLanes, shape.inner - j);
  if (width == kLanes) {
    block(in0 + base, in1 ? in1 + base : nullptr, out + base, shape.K, shape.inner);
    return;
  }
  // Partial block: gather, run with stride kLanes, scatter.
  const std::int64_t n = shape.K * kLanes;
  float* a = scratch.zeros(static_cast<std::size_t>(3 * n));
  float* b = a + n;
  float* c = b + n;
  for (std::int64_t k = 0; k < shape.K; ++k) {
    for (std::int64_t l = 0; l < width; ++l) {
      a[k * kLanes + l] = in0[base + k * shape.inner + l];
      if (in1) b[k * kLanes + l] = in1[base + k * shape.inner + l];
    }
  }
  block(a, in1 ? b : nullptr, c, shape.K, kLanes);
  for (std::int64_t k = 0; k < shape.K; ++k) {
    for (std::int64_t l = 0; l < width; ++l) out[base + k * shape.inner + l] = c[k * kLanes + l];
  }
}

// --- Short rows (inner == 1, K < kShortRow): a row is all tail, so instead kLanes rows at a
// time are transposed into a [K, kLanes] block and run through the column code. Rows are grouped
// into fixed blocks of kLanes, so the result does not depend on the thread split. ---

constexpr std::int64_t kShortRow = 2 * kLanes;

// block[k * kLanes + l] = src[(r0 + l) * K + k] for the `rows` rows present, 0 for the padding.
void gather_rows(const float* src, std::int64_t r0, std::int64_t rows, std::int64_t K,
                 float* block) {
  for (std::int64_t k = 0; k < K; ++k) {
    for (std::int64_t l = 0; l < kLanes; ++l) {
      block[k * kLanes + l] = l < rows ? src[(r0 + l) * K + k] : 0.0f;
    }
  }
}
void scatter_rows(const float* block, std::int64_t r0, std::int64_t rows, std::int64_t K,
                  float* dst) {
  for (std::int64_t l = 0; l < rows; ++l) {
    for (std::int64_t k = 0; k < K; ++k) dst[(r0 + l) * K + k] = block[k * kLanes + l];
  }
}

template <SoftmaxKind kKind>
void forward_impl(const float* x, float* y, RowShape shape) {
  if (shape.K == 0 || shape.outer == 0 || shape.inner == 0) return;
  if (shape.inner == 1 && shape.K < kShortRow) {
    const std::int64_t blocks = (shape.outer + kLanes - 1) / kLanes;
    const std::int64_t grain = std::max<std::int64_t>(1, kGrainElements / (shape.K * kLanes));
    parallel_for(0, blocks, grain, [&](std::int64_t begin, std::int64_t end) {
      alignas(64) float in[kShortRow * Vec::size], out[kShortRow * Vec::size];
      for (std::int64_t b = begin; b < end; ++b) {
        const std::int64_t r0 = b * kLanes, rows = std::min(kLanes, shape.outer - r0);
        gather_rows(x, r0, rows, shape.K, in);
        cols_forward<kKind>(in, out, shape.K, kLanes);
        scatter_rows(out, r0, rows, shape.K, y);
      }
    });
    return;
  }
  if (shape.inner == 1) {
    const std::int64_t grain = std::max<std::int64_t>(1, kGrainElements / shape.K);
    parallel_for(0, shape.outer, grain, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t r = begin; r < end; ++r) {
        row_forward<kKind>(x + r * shape.K, y + r * shape.K, shape.K);
      }
    });
    return;
  }
  const std::int64_t blocks = (shape.inner + kLanes - 1) / kLanes;
  const std::int64_t grain = std::max<std::int64_t>(1, kGrainElements / (shape.K * kLanes));
  parallel_for(0, shape.outer * blocks, grain, [&](std::int64_t begin, std::int64_t end) {
    Scratch scratch;
    for (std::int64_t u = begin; u < end; ++u) {
      run_column_block(shape, u, blocks, scratch, x, nullptr, y,
                       [](const float* in, const float*, float* out, std::int64_t K,
                          std::int64_t stride) { cols_forward<kKind>(in, out, K, stride); });
    }
  });
}

template <SoftmaxKind kKind>
void backward_impl(const float* y, const float* g, float* gx, RowShape shape) {
  if (shape.K == 0 || shape.outer == 0 || shape.inner == 0) return;
  if (shape.inner == 1 && shape.K < kShortRow) {
    const std::int64_t blocks = (shape.outer + kLanes - 1) / kLanes;
    const std::int64_t grain = std::max<std::int64_t>(1, kGrainElements / (shape.K * kLanes));
    parallel_for(0, blocks, grain, [&](std::int64_t begin, std::int64_t end) {
      alignas(64) float yb[kShortRow * Vec::size], gb[kShortRow * Vec::size],
          out[kShortRow * Vec::size];
      for (std::int64_t b = begin; b < end; ++b) {
        const std::int64_t r0 = b * kLanes, rows = std::min(kLanes, shape.outer - r0);
        gather_rows(y, r0, rows, shape.K, yb);
        gather_rows(g, r0, rows, shape.K, gb);
        cols_backward<kKind>(yb, gb, out, shape.K, kLanes);
        scatter_rows(out, r0, rows, shape.K, gx);
      }
    });
    return;
  }
  if (shape.inner == 1) {
    const std::int64_t grain = std::max<std::int64_t>(1, kGrainElements / shape.K);
    parallel_for(0, shape.outer, grain, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t r = begin; r < end; ++r) {
        row_backward<kKind>(y + r * shape.K, g + r * shape.K, gx + r * shape.K, shape.K);
      }
    });
    return;
  }
  const std::int64_t blocks = (shape.inner + kLanes - 1) / kLanes;
  const std::int64_t grain = std::max<std::int64_t>(1, kGrainElements / (shape.K * kLanes));
  parallel_for(0, shape.outer * blocks, grain, [&](std::int64_t begin, std::int64_t end) {
    Scratch scratch;
    for (std::int64_t u = begin; u < end; ++u) {
      run_column_block(shape, u, blocks, scratch, y, g, gx,
                       [](const float* yv, const float* gv, float* out, std::int64_t K,
                          std::int64_t stride) { cols_backward<kKind>(yv, gv, out, K, stride); });
    }
  });
}

}  // namespace

void softmax_forward(SoftmaxKind kind, const float* x, float* y, RowShape shape) {
  switch (kind) {
    case SoftmaxKind::Softmax:
      return forward_impl<SoftmaxKind::Softmax>(x, y, shape);
    case SoftmaxKind::LogSoftmax:
      return forward_impl<SoftmaxKind::LogSoftmax>(x, y, shape);
    case SoftmaxKind::Softmin:
      return forward_impl<SoftmaxKind::Softmin>(x, y, shape);
  }
}

void softmax_backward(SoftmaxKind kind, const float* y, const float* grad_out, float* grad_x,
                      RowShape shape) {
  switch (kind) {
    case SoftmaxKind::Softmax:
      return backward_impl<SoftmaxKind::Softmax>(y, grad_out, grad_x, shape);
    case SoftmaxKind::LogSoftmax:
      return backward_impl<SoftmaxKind::LogSoftmax>(y, grad_out, grad_x, shape);
    case SoftmaxKind::Softmin:
      return backward_impl<SoftmaxKind::Softmin>(y, grad_out, grad_x, shape);
  }
}

}  // namespace EMBER_ISA

#if EMBER_ISA_BASELINE
// The entry points: the build of this file for the CPU's instruction set.
void softmax_forward(SoftmaxKind kind, const float* x, float* y, RowShape shape) {
  EMBER_ISA_CALL(softmax_forward, kind, x, y, shape);
}
void softmax_backward(SoftmaxKind kind, const float* y, const float* grad_out, float* grad_x,
                      RowShape shape) {
  EMBER_ISA_CALL(softmax_backward, kind, y, grad_out, grad_x, shape);
}

// --- Scalar references ---

void softmax_forward_reference(SoftmaxKind kind, const float* x, float* y, RowShape shape) {
  const double sign = kind == SoftmaxKind::Softmin ? -1.0 : 1.0;
  for (std::int64_t o = 0; o < shape.outer; ++o) {
    for (std::int64_t i = 0; i < shape.inner; ++i) {
      const std::int64_t base = o * shape.K * shape.inner + i;
      auto at = [&](std::int64_t k) {
        return sign * x[base + k * shape.inner];
      };
      double m = -std::numeric_limits<double>::infinity();
      for (std::int64_t k = 0; k < shape.K; ++k) m = std::isnan(at(k)) ? at(k) : std::max(m, at(k));
      double s = 0.0;
      for (std::int64_t k = 0; k < shape.K; ++k) s += std::exp(at(k) - m);
      for (std::int64_t k = 0; k < shape.K; ++k) {
        const double v =
            kind == SoftmaxKind::LogSoftmax ? (at(k) - m) - std::log(s) : std::exp(at(k) - m) / s;
        y[base + k * shape.inner] = static_cast<float>(v);
      }
    }
  }
}

void softmax_backward_reference(SoftmaxKind kind, const float* y, const float* grad_out,
                                float* grad_x, RowShape shape) {
  for (std::int64_t o = 0; o < shape.outer; ++o) {
    for (std::int64_t i = 0; i < shape.inner; ++i) {
      const std::int64_t base = o * shape.K * shape.inner + i;
      double acc = 0.0;
      for (std::int64_t k = 0; k < shape.K; ++k) {
        const std::int64_t p = base + k * shape.inner;
        acc += kind == SoftmaxKind::LogSoftmax ? double{grad_out[p]}
                                               : double{grad_out[p]} * double{y[p]};
      }
      for (std::int64_t k = 0; k < shape.K; ++k) {
        const std::int64_t p = base + k * shape.inner;
        const double yv = y[p];
        const double gv = grad_out[p];
        double v = 0.0;
        if (kind == SoftmaxKind::LogSoftmax) v = gv - std::exp(yv) * acc;
        if (kind == SoftmaxKind::Softmax) v = yv * (gv - acc);
        if (kind == SoftmaxKind::Softmin) v = -yv * (gv - acc);
        grad_x[p] = static_cast<float>(v);
      }
    }
  }
}
#endif

}  // namespace ember::nn::kernels
