// Fused cross-entropy: forward reads each row twice (max, then exponentials and the smoothing
// sum) and saves two floats per row; backward reads the row once and writes the gradient once.
// Softmax never exists as a tensor. Compiled once per instruction set (Note [ISA dispatch] in
// kernels/isa.h).
#include "kernels/nn_cross_entropy.h"
#include "kernels/nn_math.h"  // first: see the note on GCC 12 there

#include <algorithm>
#include <cmath>
#include <limits>

#include <ember/core/parallel.h>

namespace ember::nn::kernels {

EMBER_ISA_VARIANTS(cross_entropy_forward)
EMBER_ISA_VARIANTS(cross_entropy_backward)
EMBER_ISA_VARIANTS(cross_entropy_prob_forward)
EMBER_ISA_VARIANTS(cross_entropy_prob_backward)

namespace EMBER_ISA {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr std::int64_t kGrainElements = 16384;

std::int64_t row_grain(std::int64_t C) {
  return std::max<std::int64_t>(1, kGrainElements / std::max<std::int64_t>(C, 1));
}

float row_max_of(const float* x, std::int64_t C) {
  const std::int64_t body = C - C % kLanes;
  Vec m0(-kInf), m1(-kInf);
  std::int64_t c = 0;
  for (; c + 2 * kLanes <= body; c += 2 * kLanes) {
    m0 = xsimd::max(m0, Vec::load_unaligned(x + c));
    m1 = xsimd::max(m1, Vec::load_unaligned(x + c + kLanes));
  }
  for (; c < body; c += kLanes) m0 = xsimd::max(m0, Vec::load_unaligned(x + c));
  if (body < C) m1 = xsimd::max(m1, load_tail(x + body, C - body, -kInf));
  return hmax(xsimd::max(m0, m1));
}

// sum_c exp(x_c - m), and (when `smooth_sum`) sum_c w_c (m - x_c) with w = 1 when weight is null.
float row_sum_exp(const float* x, std::int64_t C, float m, const float* weight, float* smooth_sum) {
  const std::int64_t body = C - C % kLanes;
  const Vec mv(m);
  BlockedSum s0, s1;  // Note [blocked sums] in nn_math.h
  Vec a0(0.0f);
  std::int64_t c = 0;
  if (smooth_sum == nullptr) {
    for (; c + 2 * kLanes <= body; c += 2 * kLanes) {
      s0.add(vexp(Vec::load_unaligned(x + c) - mv));
      s1.add(vexp(Vec::load_unaligned(x + c + kLanes) - mv));
    }
    for (; c < body; c += kLanes) s0.add(vexp(Vec::load_unaligned(x + c) - mv));
    if (body < C) s1.add(vexp(load_tail(x + body, C - body, -kInf) - mv));
    return hsum(s0.result() + s1.result());
  }
  for (; c < body; c += kLanes) {
    const Vec d = Vec::load_unaligned(x + c) - mv;
    s0.add(vexp(d));
    a0 = weight ? xsimd::fnma(Vec::load_unaligned(weight + c), d, a0) : a0 - d;
  }
  if (body < C) {
    const std::int64_t n = C - body;
    s1.add(vexp(load_tail(x + body, n, -kInf) - mv));
    const Vec d = load_tail(x + body, n, m) - mv;  // padding gives d = 0
    a0 = weight ? xsimd::fnma(load_tail(weight + body, n, 0.0f), d, a0) : a0 - d;
  }
  *smooth_sum = hsum(a0);
  return hsum(s0.result() + s1.result());
}

float weight_total(const CrossEntropyArgs& a) {
  if (!a.weight) return static_cast<float>(a.C);
  double w = 0.0;
  for (std::int64_t c = 0; c < a.C; ++c) w += a.weight[c];
  return static_cast<float>(w);
}

// Few classes (C < 2 kLanes, e.g. d2l's 10): a row would be all scalar tail, so kLanes rows at a
// time are transposed into a [C, kLanes] block and reduced lane-wise. Blocks of rows are fixed,
// so results do not depend on the thread split.
constexpr std::int64_t kFewClasses = 2 * kLanes;

// block[c * kLanes + l] = x[(r0 + l) * C + c], 0 for padding rows.
void gather_block(const CrossEntropyArgs& a, std::int64_t r0, std::int64_t rows, float* block) {
  for (std::int64_t c = 0; c < a.C; ++c) {
    for (std::int64_t l = 0; l < kLanes; ++l) {
      block[c * kLanes + l] = l < rows ? a.x[(r0 + l) * a.C + c] : 0.0f;
    }
  }
}

void forward_few_classes(const CrossEntropyArgs& a, float* loss, float* row_max, float* row_sum) {
  const float eps = a.label_smoothing;
  const float W = weight_total(a);
  const std::int64_t blocks = (a.N + kLanes - 1) / kLanes;
  parallel_for(0, blocks, row_grain(a.C * kLanes), [&](std::int64_t begin, std::int64_t end) {
    alignas(64) float block[kFewClasses * Vec::size];
    alignas(64) float m_l[Vec::size], s_l[Vec::size], smooth_l[Vec::size];
    for (std::int64_t b = begin; b < end; ++b) {
      const std::int64_t r0 = b * kLanes, rows = std::min(kLanes, a.N - r0);
      gather_block(a, r0, rows, block);
      Vec mv(-kInf);
      for (std::int64_t c = 0; c < a.C; ++c)
        mv = xsimd::max(mv, Vec::load_aligned(block + c * kLanes));
      Vec sv(0.0f), smooth(0.0f);
      for (std::int64_t c = 0; c < a.C; ++c) {
        const Vec d = Vec::load_aligned(block + c * kLanes) - mv;
        sv += vexp(d);
        smooth = a.weight ? xsimd::fnma(Vec(a.weight[c]), d, smooth) : smooth - d;
      }
      mv.store_aligned(m_l);
      sv.store_aligned(s_l);
      smooth.store_aligned(smooth_l);
      for (std::int64_t l = 0; l < rows; ++l) {
        const std::int64_t i = r0 + l, t = a.target[i];
        row_max[i] = m_l[l];
        row_sum[i] = s_l[l];
        if (t == a.ignore_index) {
          loss[i] = 0.0f;
          continue;
        }
        const float log_s = std::log(s_l[l]);
        const float w_t = a.weight ? a.weight[t] : 1.0f;
        const float nll = w_t * ((m_l[l] - a.x[i * a.C + t]) + log_s);
        loss[i] = eps > 0.0f ? (1.0f - eps) * nll +
                                   (eps / static_cast<float>(a.C)) * (smooth_l[l] + W * log_s)
                             : nll;
      }
    }
  });
}

void backward_few_classes(const CrossEntropyArgs& a, const float* row_max, const float* row_sum,
                          const float* scale, std::int64_t scale_stride, float* grad_x) {
  const float eps = a.label_smoothing;
  const float eps_c = eps / static_cast<float>(a.C);
  const float W = weight_total(a);
  const std::int64_t blocks = (a.N + kLanes - 1) / kLanes;
  parallel_for(0, blocks, row_grain(a.C * kLanes), [&](std::int64_t begin, std::int64_t end) {
    alignas(64) float block[kFewClasses * Vec::size];
    alignas(64) float m_l[Vec::size], b_l[Vec::size], k_l[Vec::size];
    for (std::int64_t b = begin; b < end; ++b) {
      const std::int64_t r0 = b * kLanes, rows = std::min(kLanes, a.N - r0);
      gather_block(a, r0, rows, block);
      // Per lane: grad = b exp(x_c - m) - k w_c (the formula in nn_cross_entropy.h).
      for (std::int64_t l = 0; l < kLanes; ++l) {
        m_l[l] = b_l[l] = k_l[l] = 0.0f;
        if (l >= rows) continue;
        const std::int64_t i = r0 + l, t = a.target[i];
        if (t == a.ignore_index) continue;
        const float s_i = scale[i * scale_stride];
        const float w_t = a.weight ? a.weight[t] : 1.0f;
        m_l[l] = row_max[i];
        b_l[l] = s_i * ((1.0f - eps) * w_t + eps_c * W) / row_sum[i];
        k_l[l] = s_i * eps_c;
      }
      const Vec mv = Vec::load_aligned(m_l), bv = Vec::load_aligned(b_l),
                kv = Vec::load_aligned(k_l);
      for (std::int64_t c = 0; c < a.C; ++c) {
        const Vec e = vexp(Vec::load_aligned(block + c * kLanes) - mv) * bv;
        const Vec g = a.weight ? xsimd::fnma(kv, Vec(a.weight[c]), e) : e - kv;
        g.store_aligned(block + c * kLanes);
      }
      for (std::int64_t l = 0; l < rows; ++l) {
        const std::int64_t i = r0 + l, t = a.target[i];
        float* gx = grad_x + i * a.C;
        if (t == a.ignore_index) {
          std::fill(gx, gx + a.C, 0.0f);
          continue;
        }
        for (std::int64_t c = 0; c < a.C; ++c) gx[c] = block[c * kLanes + l];
        gx[t] -= scale[i * scale_stride] * (1.0f - eps) * (a.weight ? a.weight[t] : 1.0f);
      }
    }
  });
}

}  // namespace

void cross_entropy_forward(const CrossEntropyArgs& a, float* loss, float* row_max, float* row_sum) {
  if (a.C > 0 && a.C < kFewClasses) return forward_few_classes(a, loss, row_max, row_sum);
  const float eps = a.label_smoothing;
  const float W = weight_total(a);
  parallel_for(0, a.N, row_grain(a.C), [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      const float* x = a.x + i * a.C;
      const float m = row_max_of(x, a.C);
      float smooth = 0.0f;
      const float s = row_sum_exp(x, a.C, m, a.weight, eps > 0.0f ? &smooth : nullptr);
      row_max[i] = m;
      row_sum[i] = s;
      const std::int64_t t = a.target[i];
      if (t == a.ignore_index) {
        loss[i] = 0.0f;
        continue;
      }
      const float log_s = std::log(s);
      const float w_t = a.weight ? a.weight[t] : 1.0f;
      const float nll = w_t * ((m - x[t]) + log_s);
      loss[i] = eps > 0.0f
                    ? (1.0f - eps) * nll + (eps / static_cast<float>(a.C)) * (smooth + W * log_s)
                    : nll;
    }
  });
}

void cross_entropy_backward(const CrossEntropyArgs& a, const float* row_max, const float* row_sum,
                            const float* scale, std::int64_t scale_stride, float* grad_x) {
  if (a.C > 0 && a.C < kFewClasses) {
    return backward_few_classes(a, row_max, row_sum, scale, scale_stride, grad_x);
  }
  const float eps = a.label_smoothing;
  const float eps_c = eps / static_cast<float>(a.C);
  const float W = weight_total(a);
  parallel_for(0, a.N, row_grain(a.C), [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      const float* x = a.x + i * a.C;
      float* gx = grad_x + i * a.C;
      const std::int64_t t = a.target[i];
      if (t == a.ignore_index) {
        std::fill(gx, gx + a.C, 0.0f);
        continue;
      }
      const float s_i = scale[i * scale_stride];
      const float w_t = a.weight ? a.weight[t] : 1.0f;
      // grad = b exp(x_c - m) - k w_c, then the target entry loses s_i (1 - eps) w_t.
      const Vec b(s_i * ((1.0f - eps) * w_t + eps_c * W) / row_sum[i]);
      const Vec mv(row_max[i]);
      const Vec k(s_i * eps_c);
      const std::int64_t body = a.C - a.C % kLanes;
      std::int64_t c = 0;
      if (eps > 0.0f) {
        for (; c < body; c += kLanes) {
          const Vec wc = a.weight ? Vec::load_unaligned(a.weight + c) : Vec(1.0f);
          xsimd::fnma(k, wc, vexp(Vec::load_unaligned(x + c) - mv) * b).store_unaligned(gx + c);
        }
        if (body < a.C) {
          const std::int64_t n = a.C - body;
          const Vec wc = a.weight ? load_tail(a.weight + body, n, 0.0f) : Vec(1.0f);
          store_tail(gx + body, n, xsimd::fnma(k, wc, vexp(load_tail(x + body, n, 0.0f) - mv) * b));
        }
      } else {
        for (; c < body; c += kLanes) {
          (vexp(Vec::load_unaligned(x + c) - mv) * b).store_unaligned(gx + c);
        }
        if (body < a.C) {
          const std::int64_t n = a.C - body;
          store_tail(gx + body, n, vexp(load_tail(x + body, n, 0.0f) - mv) * b);
        }
      }
      gx[t] -= s_i * (1.0f - eps) * w_t;
    }
  });
}

void cross_entropy_prob_forward(const CrossEntropyArgs& a, const float* q, float* loss,
                                float* row_max, float* row_sum) {
  const float eps = a.label_smoothing;
  const float eps_c = eps / static_cast<float>(a.C);
  parallel_for(0, a.N, row_grain(a.C), [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      const float* x = a.x + i * a.C;
      const float* qi = q + i * a.C;
      const float m = row_max_of(x, a.C);
      const float s = row_sum_exp(x, a.C, m, nullptr, nullptr);
      const float log_s = std::log(s);
      row_max[i] = m;
      row_sum[i] = s;
      float acc = 0.0f;
      for (std::int64_t c = 0; c < a.C; ++c) {
        const float w = a.weight ? a.weight[c] : 1.0f;
        acc += w * ((1.0f - eps) * qi[c] + eps_c) * ((m - x[c]) + log_s);
      }
      loss[i] = acc;
    }
  });
}

void cross_entropy_prob_backward(const CrossEntropyArgs& a, const float* q, const float* row_max,
                                 const float* row_sum, const float* scale,
                                 std::int64_t scale_stride, float* grad_x, float* grad_q) {
  const float eps = a.label_smoothing;
  const float eps_c = eps / static_cast<float>(a.C);
  parallel_for(0, a.N, row_grain(a.C), [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      const float* x = a.x + i * a.C;
      const float* qi = q + i * a.C;
      const float s_i = scale[i * scale_stride];
      const float m = row_max[i];
      if (grad_x != nullptr) {
        float* gx = grad_x + i * a.C;
        float wq = 0.0f;  // sum_k w_k q'_k
        for (std::int64_t c = 0; c < a.C; ++c) {
          wq += (a.weight ? a.weight[c] : 1.0f) * ((1.0f - eps) * qi[c] + eps_c);
        }
        const float inv_s = 1.0f / row_sum[i];
        for (std::int64_t c = 0; c < a.C; ++c) {
          const float p = sexp(x[c] - m) * inv_s;
          const float w = a.weight ? a.weight[c] : 1.0f;
          gx[c] = s_i * (p * wq - w * ((1.0f - eps) * qi[c] + eps_c));
        }
      }
      if (grad_q != nullptr) {
        // -log p_c = (m - x_c) + log(sum), formed as in the forward.
        float* gq = grad_q + i * a.C;
        const float log_s = std::log(row_sum[i]);
        const float k = s_i * (1.0f - eps);
        for (std::int64_t c = 0; c < a.C; ++c) {
          gq[c] = k * (a.weight ? a.weight[c] : 1.0f) * ((m - x[c]) + log_s);
        }
      }
    }
  });
}

}  // namespace EMBER_ISA

#if EMBER_ISA_BASELINE
// The entry points: the build of this file for the CPU's instruction set.
void cross_entropy_forward(const CrossEntropyArgs& a, float* loss, float* row_max, float* row_sum) {
  EMBER_ISA_CALL(cross_entropy_forward, a, loss, row_max, row_sum);
}
void cross_entropy_backward(const CrossEntropyArgs& a, const float* row_max, const float* row_sum,
                            const float* scale, std::int64_t scale_stride, float* grad_x) {
  EMBER_ISA_CALL(cross_entropy_backward, a, row_max, row_sum, scale, scale_stride, grad_x);
}
void cross_entropy_prob_forward(const CrossEntropyArgs& a, const float* q, float* loss,
                                float* row_max, float* row_sum) {
  EMBER_ISA_CALL(cross_entropy_prob_forward, a, q, loss, row_max, row_sum);
}
void cross_entropy_prob_backward(const CrossEntropyArgs& a, const float* q, const float* row_max,
                                 const float* row_sum, const float* scale,
                                 std::int64_t scale_stride, float* grad_x, float* grad_q) {
  EMBER_ISA_CALL(cross_entropy_prob_backward, a, q, row_max, row_sum, scale, scale_stride, grad_x,
                 grad_q);
}

// --- Scalar references ---

void cross_entropy_forward_reference(const CrossEntropyArgs& a, float* loss) {
  const double eps = a.label_smoothing;
  for (std::int64_t i = 0; i < a.N; ++i) {
    const float* x = a.x + i * a.C;
    const std::int64_t t = a.target[i];
    if (t == a.ignore_index) {
      loss[i] = 0.0f;
      continue;
    }
    double m = -std::numeric_limits<double>::infinity();
    for (std::int64_t c = 0; c < a.C; ++c) m = std::max(m, double{x[c]});
    double s = 0.0;
    for (std::int64_t c = 0; c < a.C; ++c) s += std::exp(x[c] - m);
    auto neg_logp = [&](std::int64_t c) {
      return (m - x[c]) + std::log(s);
    };
    auto w = [&](std::int64_t c) {
      return a.weight ? double{a.weight[c]} : 1.0;
    };
    double smooth = 0.0;
    for (std::int64_t c = 0; c < a.C; ++c) smooth += w(c) * neg_logp(c);
    loss[i] = static_cast<float>((1.0 - eps) * w(t) * neg_logp(t) +
                                 eps / static_cast<double>(a.C) * smooth);
  }
}

void cross_entropy_backward_reference(const CrossEntropyArgs& a, const float* scale,
                                      std::int64_t scale_stride, float* grad_x) {
  const double eps = a.label_smoothing;
  for (std::int64_t i = 0; i < a.N; ++i) {
    const float* x = a.x + i * a.C;
    const std::int64_t t = a.target[i];
    auto w = [&](std::int64_t c) {
      return a.weight ? double{a.weight[c]} : 1.0;
    };
    double m = -std::numeric_limits<double>::infinity();
    for (std::int64_t c = 0; c < a.C; ++c) m = std::max(m, double{x[c]});
    double s = 0.0, W = 0.0;
    for (std::int64_t c = 0; c < a.C; ++c) {
      s += std::exp(x[c] - m);
      W += w(c);
    }
    for (std::int64_t c = 0; c < a.C; ++c) {
      if (t == a.ignore_index) {
        grad_x[i * a.C + c] = 0.0f;
        continue;
      }
      const double p = std::exp(x[c] - m) / s;
      const double eps_c = eps / static_cast<double>(a.C);
      const double g =
          ((1.0 - eps) * w(t) + eps_c * W) * p - eps_c * w(c) - (c == t ? (1.0 - eps) * w(t) : 0.0);
      grad_x[i * a.C + c] = static_cast<float>(scale[i * scale_stride] * g);
    }
  }
}
#endif

}  // namespace ember::nn::kernels
