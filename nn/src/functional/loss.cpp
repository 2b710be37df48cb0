// Losses. cross_entropy is one fused kernel each way (nn/src/kernels/nn_cross_entropy.cpp); the
// others are short loops. cross_entropy and nll_loss work on rows [N, K] and bring PyTorch's
// other layouts to rows first (Note [loss layouts]). Every reduction sums in float64 in row order,
// so results do not depend on the thread count.
#include <ember/nn/functional/loss.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include <ember/autograd/grad_mode.h>
#include <ember/autograd/node.h>
#include <ember/autograd/ops.h>

#include "kernels/nn_cross_entropy.h"

namespace ember::nn::functional {
namespace {

using autograd::SavedTensor;

void check_float_input(const Tensor& t, const char* op, const char* what) {
  EMBER_CHECK(t.defined(), op, ": ", what, " is an undefined tensor");
  EMBER_CHECK(t.dtype() == kFloat32, op, ": expected a float32 ", what, ", got ", t.dtype(),
              " of shape ", to_string(t.sizes()));
}

// Note [loss layouts]
// cross_entropy and nll_loss accept PyTorch's three layouts, with K classes:
//   one sample   input [K]                  class-index target []
//   a batch      input [N, K]               class-index target [N]
//   K-dim        input [N, K, d1, ..., dm]  class-index target [N, d1, ..., dm]
// (probability targets have the input's shape). The kernels know only rows of K logits, so the
// other layouts are brought to rows with views and copies that autograd already differentiates:
// [K] is unsqueezed to [1, K]; for K-dim the class dim is moved last (transposes, then one
// contiguous copy) and the rest flattened, so row r is the element at flat position r of the
// target. Mean then divides by the same sum PyTorch uses (sum of w[t] over every element not
// ignored, or the number of elements for probability targets), and Reduction::None reshapes the
// per-row losses back to the target's shape. An [N, K] input takes none of these steps.

// The class dim: 0 for one sample [K], else 1.
std::int64_t class_dim(const Tensor& input) {
  return input.dim() == 1 ? 0 : 1;
}

// The input's shape without its class dim: that of class-index targets and of the losses kept by
// Reduction::None.
Shape element_shape(const Tensor& input) {
  Shape shape = input.sizes();
  shape.erase(shape.begin() + class_dim(input));
  return shape;
}

// input [K], [N, K] or [N, K, d1, ..., dm] float32; returns K.
std::int64_t check_logits(const Tensor& input, const char* op) {
  check_float_input(input, op, "input");
  EMBER_CHECK(input.dim() >= 1, op,
              ": expected an input [K], [N, K] or [N, K, d1, ..., dm], got a 0-d tensor");
  return input.size(class_dim(input));
}

// [K] -> [1, K]; [N, K] as is; [N, K, d1, ..., dm] -> [N d1 ... dm, K] (Note [loss layouts]).
Tensor to_rows(const Tensor& t) {
  if (t.dim() == 2) return t;
  if (t.dim() == 1) return t.unsqueeze(0);
  Tensor moved = t;
  for (std::int64_t d = 1; d + 1 < t.dim(); ++d) moved = moved.transpose(d, d + 1);
  return moved.contiguous().reshape({numel_of(element_shape(t)), t.size(1)});
}

// The losses of the rows back in the target's shape for Reduction::None (a 0-d tensor for one
// sample); a reduced loss is already 0-d.
Tensor from_rows(const Tensor& loss, const Tensor& input, Reduction reduction) {
  if (reduction != Reduction::None || input.dim() == 2) return loss;
  return loss.reshape(element_shape(input));
}

// "position 7" in a 1-d target; the multi-index "index [1, 0, 2] (flat position 5)" otherwise.
std::string position_text(std::int64_t flat, const Shape& shape) {
  if (shape.size() == 1) return detail::concat("position ", flat);
  Shape index(shape.size());
  std::int64_t rest = flat;
  for (std::size_t d = shape.size(); d-- > 0;) {
    index[d] = rest % shape[d];
    rest /= shape[d];
  }
  return detail::concat("index ", to_string(index), " (flat position ", flat, ")");
}

// Class weights: undefined, or a float32 [K]; returned contiguous.
Tensor check_weight(const Tensor& weight, std::int64_t K, const char* op) {
  if (!weight.defined()) return weight;
  check_float_input(weight, op, "weight");
  EMBER_CHECK(weight.dim() == 1 && weight.size(0) == K, op,
              ": weight must be a 1-d tensor of one value per class [", K, "], got shape ",
              to_string(weight.sizes()));
  return weight.contiguous();
}

// Class-index targets: int64 of the input's shape without the class dim, each in [0, K) or equal
// to ignore_index. Checked here, before any kernel runs, so no kernel ever indexes out of bounds.
// Returned contiguous, in its own shape.
Tensor check_class_targets(const Tensor& target, const Tensor& input, std::int64_t ignore_index,
                           const char* op) {
  EMBER_CHECK(target.defined(), op, ": target is an undefined tensor");
  const std::int64_t K = input.size(class_dim(input));
  EMBER_CHECK(target.dtype() == kInt64, op, ": expected int64 class-index targets, got ",
              target.dtype(), " of shape ", to_string(target.sizes()));
  const Shape expected = element_shape(input);
  EMBER_CHECK(target.sizes() == expected, op, ": target shape ", to_string(target.sizes()),
              " does not match input shape ", to_string(input.sizes()), " (expected ",
              to_string(expected), ")");
  Tensor tc = target.contiguous();
  const std::int64_t* t = tc.data_ptr<std::int64_t>();
  const std::int64_t n = tc.numel();
  for (std::int64_t i = 0; i < n; ++i) {
    EMBER_CHECK(t[i] == ignore_index || (t[i] >= 0 && t[i] < K), op, ": target ", t[i], " at ",
                position_text(i, expected), " is out of bounds for ", K,
                " classes (expected 0 <= target < ", K, " or ignore_index ", ignore_index, ")");
  }
  return tc;
}

// Class-index targets as one index per row: [] -> [1], [N, d1, ..., dm] -> [N d1 ... dm].
Tensor target_rows(const Tensor& tc) {
  return tc.dim() == 1 ? tc : tc.reshape({tc.numel()});
}

// A 0-d float32 tensor (written directly rather than through ember::scalar_tensor, which
// currently recurses through fill_).
Tensor scalar(double value) {
  Tensor t = empty({});
  t.data_ptr<float>()[0] = static_cast<float>(value);
  return t;
}

// The loss as returned: per row for Reduction::None, else the float64 sum in row order (divided
// by `denom` for Mean) as a 0-d tensor.
Tensor reduce(const Tensor& losses, Reduction reduction, double denom) {
  if (reduction == Reduction::None) return losses;
  const float* l = losses.data_ptr<float>();
  double total = 0.0;
  const std::int64_t n = losses.numel();
  for (std::int64_t i = 0; i < n; ++i) total += l[i];
  return scalar(reduction == Reduction::Mean ? total / denom : total);
}

// The upstream gradient of each element: grad_out itself for None (stride 1), else one number
// (stride 0), divided by `denom` for Mean.
struct Scale {
  Tensor values;
  std::int64_t stride = 0;
};
Scale upstream_scale(const Tensor& grad_out, Reduction reduction, double denom) {
  if (reduction == Reduction::None) return {grad_out.contiguous(), 1};
  const double g = grad_out.item<float>();
  return {scalar(reduction == Reduction::Mean ? g / denom : g), 0};
}

// A float32 copy of `t` broadcast to `shape` (weight and pos_weight of the BCE loss, and the
// operands of mse_loss).
Tensor expand_to(const Tensor& t, const Shape& shape, const char* op, const char* what) {
  check_float_input(t, op, what);
  EMBER_CHECK(broadcast_shapes(t.sizes(), shape, op) == shape, op, ": ", what, " of shape ",
              to_string(t.sizes()), " cannot be broadcast to shape ", to_string(shape));
  const Tensor tc = t.contiguous();
  if (tc.sizes() == shape) return tc;
  const std::size_t rank = shape.size();
  const std::size_t offset = rank - tc.sizes().size();
  std::vector<std::int64_t> stride(rank, 0);
  std::int64_t s = 1;
  for (std::size_t d = tc.sizes().size(); d-- > 0;) {
    stride[d + offset] = tc.sizes()[d] == 1 ? 0 : s;
    s *= tc.sizes()[d];
  }
  Tensor out = empty(shape);
  float* o = out.data_ptr<float>();
  const float* src = tc.data_ptr<float>();
  std::vector<std::int64_t> index(rank, 0);
  std::int64_t pos = 0;
  const std::int64_t n = out.numel();
  for (std::int64_t i = 0; i < n; ++i) {
    o[i] = src[pos];
    for (std::size_t d = rank; d-- > 0;) {  // odometer step
      pos += stride[d];
      if (++index[d] < shape[d]) break;
      pos -= stride[d] * shape[d];
      index[d] = 0;
    }
  }
  return out;
}

kernels::CrossEntropyArgs ce_args(const Tensor& x, const Tensor& target, const Tensor& weight,
                                  std::int64_t ignore_index, double label_smoothing) {
  kernels::CrossEntropyArgs a;
  a.x = x.data_ptr<float>();
  a.target = target.dtype() == kInt64 ? target.data_ptr<std::int64_t>() : nullptr;
  a.weight = weight.defined() ? weight.data_ptr<float>() : nullptr;
  a.N = x.size(0);
  a.C = x.size(1);
  a.ignore_index = ignore_index;
  a.label_smoothing = static_cast<float>(label_smoothing);
  return a;
}

// cross_entropy with probability targets, on rows: input and target [N, K].
Tensor cross_entropy_probs(const Tensor& input, const Tensor& target, const Tensor& weight,
                           const CrossEntropyOptions& options) {
  const Tensor xc = input.contiguous();
  const Tensor qc = target.contiguous();
  const std::int64_t N = input.size(0);
  Tensor losses = empty({N});
  Tensor stats = empty({2, N});  // row max, row sum of exponentials
  const auto args = ce_args(xc, qc, weight, options.ignore_index, options.label_smoothing);
  kernels::cross_entropy_prob_forward(args, qc.data_ptr<float>(), losses.data_ptr<float>(),
                                      stats.data_ptr<float>(), stats.data_ptr<float>() + N);
  const double denom = static_cast<double>(N);
  Tensor out = reduce(losses, options.reduction, denom);
  if (autograd::needs_graph({&input, &target})) {
    // loss_i = -sum_k w_k q'_ik log p_ik with q' = (1 - eps) q + eps / K:
    //   d/dx_ic = p_ic sum_k w_k q'_ik - w_c q'_ic   (d log p_ik / dx_ic = [k == c] - p_ic)
    //   d/dq_ic = -w_c (1 - eps) log p_ic            (computed only when q requires grad)
    autograd::record(
        "CrossEntropyBackward", {input, target}, out,
        [sx = SavedTensor(xc), sq = SavedTensor(qc), sstats = SavedTensor(stats),
         sw = weight.defined() ? SavedTensor(weight) : SavedTensor(), has_weight = weight.defined(),
         options, denom](const Tensor& grad_out, const std::vector<bool>& needs) {
          const Tensor x = sx.get("cross_entropy");
          const Tensor q = sq.get("cross_entropy");
          const Tensor st = sstats.get("cross_entropy");
          const Tensor w = has_weight ? sw.get("cross_entropy") : Tensor();
          const Scale scale = upstream_scale(grad_out, options.reduction, denom);
          Tensor grad_x = needs[0] ? empty(x.sizes()) : Tensor();
          Tensor grad_q = needs[1] ? empty(x.sizes()) : Tensor();
          const std::int64_t n = x.size(0);
          kernels::cross_entropy_prob_backward(
              ce_args(x, q, w, options.ignore_index, options.label_smoothing), q.data_ptr<float>(),
              st.data_ptr<float>(), st.data_ptr<float>() + n, scale.values.data_ptr<float>(),
              scale.stride, needs[0] ? grad_x.data_ptr<float>() : nullptr,
              needs[1] ? grad_q.data_ptr<float>() : nullptr);
          return std::vector<Tensor>{grad_x, grad_q};
        });
  }
  return out;
}

// cross_entropy with class-index targets, on rows: input [N, K], target [N] checked.
Tensor cross_entropy_classes(const Tensor& input, const Tensor& tc, const Tensor& weight,
                             const CrossEntropyOptions& options) {
  const Tensor xc = input.contiguous();
  const std::int64_t N = input.size(0);
  Tensor losses = empty({N});
  Tensor stats = empty({2, N});  // row max, row sum of exponentials
  const auto args = ce_args(xc, tc, weight, options.ignore_index, options.label_smoothing);
  kernels::cross_entropy_forward(args, losses.data_ptr<float>(), stats.data_ptr<float>(),
                                 stats.data_ptr<float>() + N);
  // Mean divides by the total weight of the rows that count (N when unweighted, no ignores).
  // Unweighted, that is their number, counted in an integer: the same value as a double sum of
  // ones, but without its chain of dependent adds, which the SSE2 build ran 5x slower than an
  // AVX-512 one (cross_entropy at 256x10: 3.4 vs 2.9 us).
  double denom = 0.0;
  const std::int64_t* t = tc.data_ptr<std::int64_t>();
  if (weight.defined()) {
    for (std::int64_t i = 0; i < N; ++i) {
      if (t[i] != options.ignore_index) denom += args.weight[t[i]];
    }
  } else {
    std::int64_t counted = 0;
    for (std::int64_t i = 0; i < N; ++i) counted += t[i] != options.ignore_index ? 1 : 0;
    denom = static_cast<double>(counted);
  }
  Tensor out = reduce(losses, options.reduction, denom);
  if (autograd::needs_graph({&input})) {
    // loss_i = (1-eps) w_t (lse - x_t) + (eps/K) sum_c w_c (lse - x_c), d lse/dx_c = p_c:
    // d/dx_c = ((1-eps) w_t + (eps/K) W) p_c - (eps/K) w_c - (1-eps) w_t [c == t], written in
    // one sweep from the saved logits and row max/sum (softmax is never stored).
    autograd::record(
        "CrossEntropyBackward", {input}, out,
        [sx = SavedTensor(xc), st = SavedTensor(tc), sstats = SavedTensor(stats),
         sw = weight.defined() ? SavedTensor(weight) : SavedTensor(), has_weight = weight.defined(),
         options, denom](const Tensor& grad_out, const std::vector<bool>&) {
          const Tensor x = sx.get("cross_entropy");
          const Tensor tt = st.get("cross_entropy");
          const Tensor stats_ = sstats.get("cross_entropy");
          const Tensor w = has_weight ? sw.get("cross_entropy") : Tensor();
          const Scale scale = upstream_scale(grad_out, options.reduction, denom);
          Tensor grad_x = empty(x.sizes());
          const std::int64_t n = x.size(0);
          kernels::cross_entropy_backward(
              ce_args(x, tt, w, options.ignore_index, options.label_smoothing),
              stats_.data_ptr<float>(), stats_.data_ptr<float>() + n,
              scale.values.data_ptr<float>(), scale.stride, grad_x.data_ptr<float>());
          return std::vector<Tensor>{grad_x};
        });
  }
  return out;
}

// nll_loss on rows: input [N, K], target [N] checked.
Tensor nll_loss_rows(const Tensor& input, const Tensor& tc, const Tensor& weight,
                     const NLLLossOptions& options) {
  const Tensor xc = input.contiguous();
  const std::int64_t N = input.size(0);
  const std::int64_t K = input.size(1);
  const float* x = xc.data_ptr<float>();
  const std::int64_t* t = tc.data_ptr<std::int64_t>();
  const float* w = weight.defined() ? weight.data_ptr<float>() : nullptr;
  Tensor losses = empty({N});
  float* l = losses.data_ptr<float>();
  double denom = 0.0;
  for (std::int64_t i = 0; i < N; ++i) {
    const bool ignored = t[i] == options.ignore_index;
    const float w_t = ignored ? 0.0f : (w ? w[t[i]] : 1.0f);
    l[i] = ignored ? 0.0f : -w_t * x[i * K + t[i]];
    denom += w_t;
  }
  Tensor out = reduce(losses, options.reduction, denom);
  if (autograd::needs_graph({&input})) {
    // loss_i = -w_t x[i, t]:  d/dx[i, c] = -w_t [c == t] (0 for ignored rows)
    autograd::record(
        "NllLossBackward", {input}, out,
        [st = SavedTensor(tc), sw = weight.defined() ? SavedTensor(weight) : SavedTensor(),
         has_weight = weight.defined(), options, denom, N,
         K](const Tensor& grad_out, const std::vector<bool>&) {
          const Tensor tt = st.get("nll_loss");
          const Tensor wt = has_weight ? sw.get("nll_loss") : Tensor();
          const std::int64_t* tp = tt.data_ptr<std::int64_t>();
          const float* wp = has_weight ? wt.data_ptr<float>() : nullptr;
          const Scale scale = upstream_scale(grad_out, options.reduction, denom);
          const float* s = scale.values.data_ptr<float>();
          Tensor grad_x = empty({N, K});
          float* gx = grad_x.data_ptr<float>();
          std::fill(gx, gx + N * K, 0.0f);
          for (std::int64_t i = 0; i < N; ++i) {
            if (tp[i] == options.ignore_index) continue;
            gx[i * K + tp[i]] = -(wp ? wp[tp[i]] : 1.0f) * s[i * scale.stride];
          }
          return std::vector<Tensor>{grad_x};
        });
  }
  return out;
}

}  // namespace

Tensor cross_entropy(const Tensor& input, const Tensor& target,
                     const CrossEntropyOptions& options) {
  const char* op = "cross_entropy";
  const std::int64_t K = check_logits(input, op);
  EMBER_CHECK(options.label_smoothing >= 0.0 && options.label_smoothing <= 1.0, op,
              ": label_smoothing must be in [0, 1], got ", options.label_smoothing);
  const Tensor weight = check_weight(options.weight, K, op);
  EMBER_CHECK(target.defined(), op, ": target is an undefined tensor");
  if (target.dtype() == kFloat32) {
    EMBER_CHECK(target.sizes() == input.sizes(), op,
                ": float32 targets are class probabilities and must have the input's shape ",
                to_string(input.sizes()), ", got ", to_string(target.sizes()),
                " (class indices are int64 of shape ", to_string(element_shape(input)), ")");
    const Tensor loss = cross_entropy_probs(to_rows(input), to_rows(target), weight, options);
    return from_rows(loss, input, options.reduction);
  }
  const Tensor tc = check_class_targets(target, input, options.ignore_index, op);
  const Tensor loss = cross_entropy_classes(to_rows(input), target_rows(tc), weight, options);
  return from_rows(loss, input, options.reduction);
}

Tensor nll_loss(const Tensor& input, const Tensor& target, const NLLLossOptions& options) {
  const std::int64_t K = check_logits(input, "nll_loss");
  const Tensor weight = check_weight(options.weight, K, "nll_loss");
  const Tensor tc = check_class_targets(target, input, options.ignore_index, "nll_loss");
  const Tensor loss = nll_loss_rows(to_rows(input), target_rows(tc), weight, options);
  return from_rows(loss, input, options.reduction);
}

Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                        const BCEWithLogitsOptions& options) {
  const char* op = "binary_cross_entropy_with_logits";
  check_float_input(input, op, "input");
  check_float_input(target, op, "target");
  EMBER_CHECK(target.sizes() == input.sizes(), op, ": target size ", to_string(target.sizes()),
              " must be the same as input size ", to_string(input.sizes()));
  // As in PyTorch 1.13, the loss is not differentiable in weight and pos_weight: refuse them
  // requiring grad rather than silently giving them no gradient.
  for (const auto& [t, name] :
       {std::pair{&options.weight, "weight"}, {&options.pos_weight, "pos_weight"}}) {
    EMBER_CHECK(!(t->defined() && t->requires_grad() && autograd::grad_enabled()), op,
                ": not differentiable with respect to ", name,
                ", which cannot require grad here (detach() it, or compute under NoGradGuard)");
  }
  const Shape& shape = input.sizes();
  const Tensor xc = input.contiguous();
  const Tensor yc = target.contiguous();
  const Tensor wc =
      options.weight.defined() ? expand_to(options.weight, shape, op, "weight") : Tensor();
  const Tensor pc = options.pos_weight.defined()
                        ? expand_to(options.pos_weight, shape, op, "pos_weight")
                        : Tensor();
  const std::int64_t n = input.numel();
  const float* x = xc.data_ptr<float>();
  const float* y = yc.data_ptr<float>();
  const float* w = wc.defined() ? wc.data_ptr<float>() : nullptr;
  const float* pw = pc.defined() ? pc.data_ptr<float>() : nullptr;
  Tensor losses = empty(shape);
  float* l = losses.data_ptr<float>();
  for (std::int64_t i = 0; i < n; ++i) {
    // -[pw y log s(x) + (1-y) log(1 - s(x))] = (1-y) x + (1 + (pw-1) y) softplus(-x), with
    // softplus(-x) = log1p(exp(-|x|)) + max(-x, 0) (never overflows).
    const float lw = pw ? 1.0f + (pw[i] - 1.0f) * y[i] : 1.0f;
    const float softplus = std::log1p(std::exp(-std::fabs(x[i]))) + std::max(-x[i], 0.0f);
    const float v = (1.0f - y[i]) * x[i] + lw * softplus;
    l[i] = w ? v * w[i] : v;
  }
  const double denom = static_cast<double>(n);
  Tensor out = reduce(losses, options.reduction, denom);
  if (autograd::needs_graph({&input, &target})) {
    // d/dx = ((pw y + 1 - y) s(x) - pw y) w  (= (s(x) - y) w without pos_weight);
    // d/dy = (log(1 - s(x)) - pw log s(x)) w = (logsigmoid(-x) - pw logsigmoid(x)) w.
    autograd::record(
        "BinaryCrossEntropyWithLogitsBackward", {input, target}, out,
        [sx = SavedTensor(xc), sy = SavedTensor(yc),
         sw = wc.defined() ? SavedTensor(wc) : SavedTensor(),
         sp = pc.defined() ? SavedTensor(pc) : SavedTensor(), has_w = wc.defined(),
         has_pw = pc.defined(), reduction = options.reduction, denom,
         n](const Tensor& grad_out, const std::vector<bool>& needs) {
          const Tensor xt = sx.get("binary_cross_entropy_with_logits");
          const Tensor yt = sy.get("binary_cross_entropy_with_logits");
          const Tensor wt = has_w ? sw.get("binary_cross_entropy_with_logits") : Tensor();
          const Tensor pt = has_pw ? sp.get("binary_cross_entropy_with_logits") : Tensor();
          const float* xv = xt.data_ptr<float>();
          const float* yv = yt.data_ptr<float>();
          const float* wv = has_w ? wt.data_ptr<float>() : nullptr;
          const float* pv = has_pw ? pt.data_ptr<float>() : nullptr;
          const Scale scale = upstream_scale(grad_out, reduction, denom);
          const float* s = scale.values.data_ptr<float>();
          Tensor grad_x = needs[0] ? empty(xt.sizes()) : Tensor();
          Tensor grad_y = needs[1] ? empty(xt.sizes()) : Tensor();
          for (std::int64_t i = 0; i < n; ++i) {
            const double xd = xv[i];
            const float g = s[i * scale.stride] * (wv ? wv[i] : 1.0f);
            if (needs[0]) {
              const float sig = static_cast<float>(1.0 / (1.0 + std::exp(-xd)));
              const float d =
                  pv ? (pv[i] * yv[i] + 1.0f - yv[i]) * sig - pv[i] * yv[i] : sig - yv[i];
              grad_x.data_ptr<float>()[i] = d * g;
            }
            if (needs[1]) {
              // logsigmoid(z) = min(z, 0) - log1p(exp(-|z|))
              const double lp = std::log1p(std::exp(-std::fabs(xd)));
              const double log_s = std::min(xd, 0.0) - lp;
              const double log_1ms = std::min(-xd, 0.0) - lp;
              const double d = pv ? log_1ms - pv[i] * log_s : -xd;
              grad_y.data_ptr<float>()[i] = static_cast<float>(d * g);
            }
          }
          return std::vector<Tensor>{grad_x, grad_y};
        });
  }
  return out;
}

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  const char* op = "mse_loss";
  check_float_input(input, op, "input");
  check_float_input(target, op, "target");
  const Shape shape = broadcast_shapes(input.sizes(), target.sizes(), op);
  const Tensor xc = expand_to(input, shape, op, "input");
  const Tensor yc = expand_to(target, shape, op, "target");
  const std::int64_t n = numel_of(shape);
  const float* x = xc.data_ptr<float>();
  const float* y = yc.data_ptr<float>();
  Tensor losses = empty(shape);
  float* l = losses.data_ptr<float>();
  for (std::int64_t i = 0; i < n; ++i) l[i] = (x[i] - y[i]) * (x[i] - y[i]);
  const double denom = static_cast<double>(n);
  Tensor out = reduce(losses, reduction, denom);
  if (autograd::needs_graph({&input, &target})) {
    // loss = (x - y)^2:  d/dx = 2 (x - y),  d/dy = -2 (x - y); broadcast operands sum back.
    autograd::record("MseLossBackward", {input, target}, out,
                     [sx = SavedTensor(xc), sy = SavedTensor(yc), reduction, denom, n,
                      input_shape = input.sizes(), target_shape = target.sizes()](
                         const Tensor& grad_out, const std::vector<bool>& needs) {
                       const Tensor xt = sx.get("mse_loss");
                       const Tensor yt = sy.get("mse_loss");
                       const float* xv = xt.data_ptr<float>();
                       const float* yv = yt.data_ptr<float>();
                       const Scale scale = upstream_scale(grad_out, reduction, denom);
                       const float* s = scale.values.data_ptr<float>();
                       Tensor grad = empty(xt.sizes());
                       float* gv = grad.data_ptr<float>();
                       for (std::int64_t i = 0; i < n; ++i)
                         gv[i] = 2.0f * (xv[i] - yv[i]) * s[i * scale.stride];
                       Tensor grad_x, grad_y;
                       if (needs[0]) grad_x = autograd::sum_to(grad, input_shape);
                       if (needs[1]) {
                         Tensor neg = empty(xt.sizes());
                         float* nv = neg.data_ptr<float>();
                         for (std::int64_t i = 0; i < n; ++i) nv[i] = -gv[i];
                         grad_y = autograd::sum_to(neg, target_shape);
                       }
                       return std::vector<Tensor>{grad_x, grad_y};
                     });
  }
  return out;
}

}  // namespace ember::nn::functional
