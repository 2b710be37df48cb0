// Batch normalization, graph-free: statistics, output, running statistics and backward.
// See core/include/ember/core/batch_norm.h; shape letters N, C, L (trailing dims flattened),
// M = N * L values per channel.
#include <ember/core/batch_norm.h>
#include <ember/core/ops.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

#include <ember/core/error.h>
#include <ember/core/parallel.h>

namespace ember::core {

namespace {

// The [N, C, L] view of a contiguous [N, C, *] tensor's data.
struct Layout {
  std::int64_t N, C, L;
  std::int64_t M() const { return N * L; }
};

Layout layout_of(const Tensor& x) {
  std::int64_t L = 1;
  for (std::int64_t d = 2; d < x.dim(); ++d) L *= x.size(d);
  return {x.size(0), x.size(1), L};
}

// Rows of L elements per parallel piece: about 32K elements, and at least one row.
std::int64_t row_grain(std::int64_t L) {
  return L >= (1 << 15) ? 1 : (1 << 15) / (L > 0 ? L : 1);
}

void check_channel_tensor(const Tensor& t, const char* name, const Tensor& x) {
  if (!t.defined()) return;
  EMBER_CHECK(t.dtype() == kFloat32, "batch_norm: expected a float32 ", name, ", got ", t.dtype());
  EMBER_CHECK(t.numel() == x.size(1), "batch_norm: ", name, " should contain ", x.size(1),
              " elements not ", t.numel(), " (input ", to_string(x.sizes()), ", ", name, " ",
              to_string(t.sizes()), ")");
}

// A [C] tensor's values, contiguous (or empty when undefined).
std::vector<float> values_of(const Tensor& t) {
  if (!t.defined()) return {};
  const Tensor c = core::contiguous(t);
  const float* p = c.data_ptr<float>();
  return std::vector<float>(p, p + c.numel());
}

// Note [Batch statistics in partial sums]
// A channel's sums (forward: of x, then of (x - mean)^2; backward: of g and of g xhat) run over
// its M = N L values in double. As one running sum they are one chain of dependent additions, a
// few cycles each, which made batch normalization about 40% of a LeNet-BN epoch. So each sum is
// kept in kParts partial sums, element l of every row going to part l mod kParts (rows n in
// order), and the parts are added at the end in a fixed tree: independent chains the CPU
// overlaps and the compiler can vectorize. The order depends only on N and L, never on the
// thread count (threads split the channels), so results stay bitwise the same at any.
constexpr int kParts = 8;

// The K sums over channel c's values of term(i) (an std::array<double, K>; i the flat index of
// a value in the [N, C, L] data), in the order of Note [Batch statistics in partial sums].
template <int K, class Term>
std::array<double, K> channel_sums(const Layout& s, std::int64_t c, Term term) {
  std::array<std::array<double, kParts>, K> part{};
  const auto add = [&](int j, std::int64_t i) {
    const std::array<double, K> t = term(i);
    for (int k = 0; k < K; ++k) part[k][j] += t[k];
  };
  for (std::int64_t n = 0; n < s.N; ++n) {
    const std::int64_t row = (n * s.C + c) * s.L;
    std::int64_t l = 0;
    for (; l + kParts <= s.L; l += kParts)
      for (int j = 0; j < kParts; ++j) add(j, row + l + j);
    for (int j = 0; l + j < s.L; ++j) add(j, row + l + j);
  }
  std::array<double, K> sums{};
  for (int k = 0; k < K; ++k) {
    const std::array<double, kParts>& p = part[k];
    sums[k] = ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]));
  }
  return sums;
}

}  // namespace

BatchNormForward batch_norm_forward(const Tensor& x_in, const Tensor& weight, const Tensor& bias,
                                    const Tensor& running_mean, const Tensor& running_var,
                                    bool training, double momentum, double eps) {
  EMBER_CHECK(x_in.defined(), "batch_norm: the input is undefined");
  EMBER_CHECK(x_in.dtype() == kFloat32, "batch_norm: expected a float32 input, got ", x_in.dtype());
  EMBER_CHECK(x_in.dim() >= 2, "batch_norm: expected an input [N, C, *] of at least 2 dims, got ",
              to_string(x_in.sizes()));
  check_channel_tensor(weight, "weight", x_in);
  check_channel_tensor(bias, "bias", x_in);
  check_channel_tensor(running_mean, "running_mean", x_in);
  check_channel_tensor(running_var, "running_var", x_in);
  EMBER_CHECK(running_mean.defined() == running_var.defined(),
              "batch_norm: running_mean and running_var must be both given or both undefined");
  EMBER_CHECK(training || running_mean.defined(),
              "batch_norm: running_mean and running_var must be defined in evaluation mode");
  const Layout s = layout_of(x_in);
  const std::int64_t M = s.M();
  // libtorch's words (torch::nn::functional::batch_norm), with its shape format.
  EMBER_CHECK(!training || M != 1,
              "Expected more than 1 value per channel when training, got input size ",
              to_string(x_in.sizes()));

  const Tensor x = core::contiguous(x_in);
  const float* xv = x.data_ptr<float>();
  BatchNormForward out;
  out.output = empty(x.sizes());
  if (x.numel() == 0) {
    // As PyTorch: an empty batch gives an empty output and leaves the running statistics.
    out.mean = zeros({s.C});
    out.invstd = zeros({s.C});
    return out;
  }
  out.mean = empty({s.C});
  out.invstd = empty({s.C});
  // Per channel, in double: the mean and invstd used, and (training) the unbiased variance.
  std::vector<double> mean(static_cast<std::size_t>(s.C)), invstd(mean.size()),
      var_unbiased(mean.size());
  if (training) {
    // Note [Batch statistics order]: one channel per piece, two passes in a fixed order.
    parallel_for(0, s.C, 1, [&](std::int64_t c0, std::int64_t c1) {
      for (std::int64_t c = c0; c < c1; ++c) {
        const double sum =
            channel_sums<1>(s, c, [&](std::int64_t i) { return std::array<double, 1>{xv[i]}; })[0];
        const double mu = sum / static_cast<double>(M);
        const double var_sum = channel_sums<1>(s, c, [&](std::int64_t i) {
          const double d = xv[i] - mu;
          return std::array<double, 1>{d * d};
        })[0];
        const auto i = static_cast<std::size_t>(c);
        mean[i] = mu;
        invstd[i] = 1.0 / std::sqrt(var_sum / static_cast<double>(M) + eps);
        var_unbiased[i] = var_sum / static_cast<double>(M - 1);
      }
    });
  } else {
    const std::vector<float> rm = values_of(running_mean), rv = values_of(running_var);
    for (std::size_t i = 0; i < mean.size(); ++i) {
      mean[i] = rm[i];
      invstd[i] = 1.0 / std::sqrt(static_cast<double>(rv[i]) + eps);
    }
  }
  // y = (x - mean) * (invstd * weight) + bias, per element in double, rounded once.
  const std::vector<float> w = values_of(weight), b = values_of(bias);
  std::vector<double> alpha(mean.size()), beta(mean.size(), 0.0);
  for (std::size_t i = 0; i < mean.size(); ++i) {
    alpha[i] = invstd[i] * (w.empty() ? 1.0 : static_cast<double>(w[i]));
    if (!b.empty()) beta[i] = b[i];
  }
  float* yv = out.output.data_ptr<float>();
  parallel_for(0, s.N * s.C, row_grain(s.L), [&](std::int64_t r0, std::int64_t r1) {
    for (std::int64_t r = r0; r < r1; ++r) {
      const auto c = static_cast<std::size_t>(r % s.C);
      const float* xr = xv + r * s.L;
      float* yr = yv + r * s.L;
      for (std::int64_t l = 0; l < s.L; ++l)
        yr[l] = static_cast<float>((xr[l] - mean[c]) * alpha[c] + beta[c]);
    }
  });
  float* mv = out.mean.data_ptr<float>();
  float* iv = out.invstd.data_ptr<float>();
  for (std::size_t i = 0; i < mean.size(); ++i) {
    mv[i] = static_cast<float>(mean[i]);
    iv[i] = static_cast<float>(invstd[i]);
  }
  if (training && running_mean.defined()) {
    // As PyTorch's CPU kernel: momentum * batch + (1 - momentum) * running, in double.
    const std::vector<float> rm = values_of(running_mean), rv = values_of(running_var);
    out.new_running_mean = empty({s.C});
    out.new_running_var = empty({s.C});
    float* nm = out.new_running_mean.data_ptr<float>();
    float* nv = out.new_running_var.data_ptr<float>();
    for (std::size_t i = 0; i < mean.size(); ++i) {
      nm[i] = static_cast<float>(momentum * mean[i] + (1.0 - momentum) * rm[i]);
      nv[i] = static_cast<float>(momentum * var_unbiased[i] + (1.0 - momentum) * rv[i]);
    }
  }
  return out;
}

BatchNormGrads batch_norm_backward(const Tensor& grad_out_in, const Tensor& x_in,
                                   const Tensor& weight, const Tensor& mean_t,
                                   const Tensor& invstd_t, bool training, bool need_x,
                                   bool need_weight, bool need_bias) {
  EMBER_CHECK(grad_out_in.sizes() == x_in.sizes(), "batch_norm backward: grad_out ",
              to_string(grad_out_in.sizes()), " and input ", to_string(x_in.sizes()),
              " differ in shape");
  const Layout s = layout_of(x_in);
  const std::int64_t M = s.M();
  const Tensor g_t = core::contiguous(grad_out_in);
  const Tensor x_t = core::contiguous(x_in);
  const float* g = g_t.data_ptr<float>();
  const float* xv = x_t.data_ptr<float>();
  const std::vector<float> mean = values_of(mean_t), invstd = values_of(invstd_t),
                           w = values_of(weight);
  // Per channel: sum g and sum g * xhat, in double, one channel per piece (Note [Batch
  // statistics order] in batch_norm.h).
  std::vector<double> sum_g(static_cast<std::size_t>(s.C), 0.0), sum_g_xhat(sum_g.size(), 0.0);
  const bool need_sums = need_weight || need_bias || (training && need_x);
  if (need_sums && x_t.numel() > 0) {
    parallel_for(0, s.C, 1, [&](std::int64_t c0, std::int64_t c1) {
      for (std::int64_t c = c0; c < c1; ++c) {
        const auto i = static_cast<std::size_t>(c);
        const double mu = mean[i], is = invstd[i];
        const std::array<double, 2> sums = channel_sums<2>(s, c, [&](std::int64_t k) {
          return std::array<double, 2>{g[k], static_cast<double>(g[k]) * ((xv[k] - mu) * is)};
        });
        sum_g[i] = sums[0];
        sum_g_xhat[i] = sums[1];
      }
    });
  }
  BatchNormGrads grads;
  if (need_bias) {
    grads.grad_bias = empty({s.C});
    float* p = grads.grad_bias.data_ptr<float>();
    for (std::size_t i = 0; i < sum_g.size(); ++i) p[i] = static_cast<float>(sum_g[i]);
  }
  if (need_weight) {
    grads.grad_weight = empty({s.C});
    float* p = grads.grad_weight.data_ptr<float>();
    for (std::size_t i = 0; i < sum_g.size(); ++i) p[i] = static_cast<float>(sum_g_xhat[i]);
  }
  if (need_x) {
    grads.grad_x = empty(x_t.sizes());
    float* gx = grads.grad_x.data_ptr<float>();
    const double inv_m = M > 0 ? 1.0 / static_cast<double>(M) : 0.0;
    parallel_for(0, s.N * s.C, row_grain(s.L), [&](std::int64_t r0, std::int64_t r1) {
      for (std::int64_t r = r0; r < r1; ++r) {
        const auto c = static_cast<std::size_t>(r % s.C);
        const double k = static_cast<double>(invstd[c]) * (w.empty() ? 1.0 : w[c]);
        const float* gr = g + r * s.L;
        const float* xr = xv + r * s.L;
        float* out = gx + r * s.L;
        if (training) {
          const double mg = sum_g[c] * inv_m, mgx = sum_g_xhat[c] * inv_m;
          for (std::int64_t l = 0; l < s.L; ++l) {
            const double xhat = (xr[l] - static_cast<double>(mean[c])) * invstd[c];
            out[l] = static_cast<float>(k * (gr[l] - mg - xhat * mgx));
          }
        } else {
          for (std::int64_t l = 0; l < s.L; ++l) out[l] = static_cast<float>(k * gr[l]);
        }
      }
    });
  }
  return grads;
}

}  // namespace ember::core
