// AdaptiveLogSoftmaxWithLoss: a head softmax over the shortlist plus one logit per cluster, and a
// small tail network per cluster, as torch.nn.AdaptiveLogSoftmaxWithLoss. The row bookkeeping
// (select the rows of a cluster, pick each row's target, scatter back, assemble the full
// log-probability matrix) is done by four small differentiable ops below.
#include <ember/nn/adaptive.h>

#include <algorithm>
#include <cmath>
#include <set>

#include <ember/autograd/grad_mode.h>
#include <ember/autograd/node.h>
#include <ember/autograd/ops.h>
#include <ember/nn/functional/activation.h>

namespace ember::nn {
namespace {

constexpr const char* kOp = "AdaptiveLogSoftmaxWithLoss";

// The container PyTorch calls ModuleList: children "0", "1", ... (printing only; never called).
class ModuleList : public Module {
 public:
  ModuleList() : Module("ModuleList") {}
  template <class M>
  void append(std::shared_ptr<M> module) {
    register_module(std::to_string(named_children().size()), std::move(module));
  }
};

Tensor zeros_of(const Shape& shape) {
  Tensor t = empty(shape);
  float* p = t.data_ptr<float>();
  std::fill(p, p + t.numel(), 0.0f);
  return t;
}

// [N, D] -> [M, D]: out[i] = x[rows[i]]. Backward: grad_x[rows[i]] += g[i].
Tensor index_rows(const Tensor& x, const std::vector<std::int64_t>& rows) {
  const Tensor xc = x.contiguous();
  const std::int64_t N = x.size(0), D = x.size(1), M = static_cast<std::int64_t>(rows.size());
  Tensor out = empty({M, D});
  for (std::int64_t i = 0; i < M; ++i) {
    std::copy_n(xc.data_ptr<float>() + rows[static_cast<std::size_t>(i)] * D, D,
                out.data_ptr<float>() + i * D);
  }
  if (autograd::needs_graph({&x})) {
    autograd::record("IndexSelectBackward", {x}, out,
                     [rows, N, D](const Tensor& grad_out, const std::vector<bool>&) {
                       const Tensor g = grad_out.contiguous();
                       Tensor grad_x = zeros_of({N, D});
                       for (std::size_t i = 0; i < rows.size(); ++i) {
                         float* dst = grad_x.data_ptr<float>() + rows[i] * D;
                         const float* src = g.data_ptr<float>() + static_cast<std::int64_t>(i) * D;
                         for (std::int64_t d = 0; d < D; ++d) dst[d] += src[d];
                       }
                       return std::vector<Tensor>{grad_x};
                     });
  }
  return out;
}

// [M, K] -> [M]: out[i] = x[i, cols[i]]. Backward: grad_x[i, cols[i]] = g[i], zeros elsewhere.
Tensor pick(const Tensor& x, const std::vector<std::int64_t>& cols) {
  const Tensor xc = x.contiguous();
  const std::int64_t M = x.size(0), K = x.size(1);
  Tensor out = empty({M});
  for (std::int64_t i = 0; i < M; ++i) {
    out.data_ptr<float>()[i] = xc.data_ptr<float>()[i * K + cols[static_cast<std::size_t>(i)]];
  }
  if (autograd::needs_graph({&x})) {
    autograd::record("GatherBackward", {x}, out,
                     [cols, M, K](const Tensor& grad_out, const std::vector<bool>&) {
                       const Tensor g = grad_out.contiguous();
                       Tensor grad_x = zeros_of({M, K});
                       for (std::int64_t i = 0; i < M; ++i) {
                         grad_x.data_ptr<float>()[i * K + cols[static_cast<std::size_t>(i)]] =
                             g.data_ptr<float>()[i];
                       }
                       return std::vector<Tensor>{grad_x};
                     });
  }
  return out;
}

// [M] -> [N]: out[rows[i]] = v[i], zeros elsewhere. Backward: grad_v[i] = g[rows[i]].
Tensor scatter_rows(const Tensor& v, const std::vector<std::int64_t>& rows, std::int64_t N) {
  const Tensor vc = v.contiguous();
  Tensor out = zeros_of({N});
  for (std::size_t i = 0; i < rows.size(); ++i) {
    out.data_ptr<float>()[rows[i]] = vc.data_ptr<float>()[i];
  }
  if (autograd::needs_graph({&v})) {
    autograd::record("IndexCopyBackward", {v}, out,
                     [rows](const Tensor& grad_out, const std::vector<bool>&) {
                       const Tensor g = grad_out.contiguous();
                       Tensor grad_v = empty({static_cast<std::int64_t>(rows.size())});
                       for (std::size_t i = 0; i < rows.size(); ++i) {
                         grad_v.data_ptr<float>()[i] = g.data_ptr<float>()[rows[i]];
                       }
                       return std::vector<Tensor>{grad_v};
                     });
  }
  return out;
}

// The full [N, n_classes] log-probabilities: out[:, :s] = head[:, :s] and, for cluster i spanning
// classes [c_i, c_{i+1}), out[:, c_i:c_{i+1}] = tail_i + head[:, s + i].
// Backward: grad_head[:, :s] = g[:, :s]; grad_head[:, s + i] = row sums of g over cluster i;
// grad_tail_i = g[:, c_i:c_{i+1}].
Tensor assemble(const Tensor& head_lp, const std::vector<Tensor>& tail_lps,
                const std::vector<std::int64_t>& cutoffs) {
  const std::int64_t N = head_lp.size(0), H = head_lp.size(1), C = cutoffs.back();
  const std::int64_t s = cutoffs[0];
  const Tensor hc = head_lp.contiguous();
  Tensor out = empty({N, C});
  float* o = out.data_ptr<float>();
  const float* h = hc.data_ptr<float>();
  for (std::int64_t n = 0; n < N; ++n) std::copy_n(h + n * H, s, o + n * C);
  for (std::size_t i = 0; i + 1 < cutoffs.size(); ++i) {
    const Tensor tc = tail_lps[i].contiguous();
    const std::int64_t start = cutoffs[i], width = cutoffs[i + 1] - start;
    for (std::int64_t n = 0; n < N; ++n) {
      const float base = h[n * H + s + static_cast<std::int64_t>(i)];
      for (std::int64_t k = 0; k < width; ++k) {
        o[n * C + start + k] = tc.data_ptr<float>()[n * width + k] + base;
      }
    }
  }
  std::vector<Tensor> inputs{head_lp};
  inputs.insert(inputs.end(), tail_lps.begin(), tail_lps.end());
  if (autograd::needs_graph(inputs)) {
    autograd::record("AdaptiveLogProbBackward", inputs, out,
                     [cutoffs, N, H, C, s](const Tensor& grad_out, const std::vector<bool>& needs) {
                       const Tensor g = grad_out.contiguous();
                       const float* gp = g.data_ptr<float>();
                       std::vector<Tensor> grads(cutoffs.size());  // head, then one per cluster
                       Tensor grad_head = zeros_of({N, H});
                       float* gh = grad_head.data_ptr<float>();
                       for (std::int64_t n = 0; n < N; ++n) std::copy_n(gp + n * C, s, gh + n * H);
                       for (std::size_t i = 0; i + 1 < cutoffs.size(); ++i) {
                         const std::int64_t start = cutoffs[i], width = cutoffs[i + 1] - start;
                         Tensor grad_tail = empty({N, width});
                         for (std::int64_t n = 0; n < N; ++n) {
                           double total = 0.0;
                           for (std::int64_t k = 0; k < width; ++k) {
                             const float v = gp[n * C + start + k];
                             grad_tail.data_ptr<float>()[n * width + k] = v;
                             total += v;
                           }
                           gh[n * H + s + static_cast<std::int64_t>(i)] = static_cast<float>(total);
                         }
                         if (needs[i + 1]) grads[i + 1] = grad_tail;
                       }
                       if (needs[0]) grads[0] = grad_head;
                       return grads;
                     });
  }
  return out;
}

}  // namespace

AdaptiveLogSoftmaxWithLoss::AdaptiveLogSoftmaxWithLoss(std::int64_t in_features,
                                                       std::int64_t n_classes,
                                                       std::vector<std::int64_t> cutoffs,
                                                       double div_value, bool head_bias)
    : Module("AdaptiveLogSoftmaxWithLoss"),
      in_features_(in_features),
      n_classes_(n_classes),
      cutoffs_(std::move(cutoffs)),
      div_value_(div_value) {
  EMBER_CHECK(in_features > 0 && n_classes > 0, kOp,
              ": in_features and n_classes must be positive, got ", in_features, " and ",
              n_classes);
  const bool sorted = std::is_sorted(cutoffs_.begin(), cutoffs_.end());
  const bool unique =
      std::set<std::int64_t>(cutoffs_.begin(), cutoffs_.end()).size() == cutoffs_.size();
  EMBER_CHECK(!cutoffs_.empty() && sorted && unique && cutoffs_.front() > 0 &&
                  cutoffs_.back() <= n_classes - 1,
              kOp,
              ": cutoffs should be a sequence of unique, positive integers sorted in an "
              "increasing order, where each value is between 1 and n_classes-1 (n_classes = ",
              n_classes, ")");
  // PyTorch checks nothing here and fails with a negative or infinite feature count.
  EMBER_CHECK(std::isfinite(div_value) && div_value > 0.0, kOp,
              ": div_value must be a positive finite number, got ", div_value);
  cutoffs_.push_back(n_classes);
  head = register_module("head", std::make_shared<Linear>(in_features, head_size(), head_bias));
  auto list = register_module("tail", std::make_shared<ModuleList>());
  for (std::int64_t i = 0; i < n_clusters(); ++i) {
    const double features = std::floor(static_cast<double>(in_features) /
                                       std::pow(div_value, static_cast<double>(i + 1)));
    // A div_value below 1 grows the clusters' hidden size geometrically.
    EMBER_CHECK(features < 0x1p63, kOp, ": the hidden size of cluster ", i,
                ", in_features / div_value^", i + 1, " = ", features, ", is too large (div_value ",
                div_value, ")");
    const auto hidden = static_cast<std::int64_t>(features);
    const std::int64_t size =
        cutoffs_[static_cast<std::size_t>(i) + 1] - cutoffs_[static_cast<std::size_t>(i)];
    auto projection = std::make_shared<Sequential>(Linear(in_features, hidden, false),
                                                   Linear(hidden, size, false));
    list->append(projection);
    tail.push_back(projection);
  }
}

ASMoutput AdaptiveLogSoftmaxWithLoss::forward(const Tensor& input_, const Tensor& target_) {
  EMBER_CHECK(input_.defined() && target_.defined(), kOp, ": input or target is undefined");
  EMBER_CHECK(target_.dtype() == kInt64, kOp, ": expected int64 targets, got ", target_.dtype());
  EMBER_CHECK(target_.dim() <= 1, kOp,
              ": 0-d or 1-d target tensor expected, multi-target not supported (got shape ",
              to_string(target_.sizes()), ")");
  const bool batched = target_.dim() == 1;
  if (batched) {
    EMBER_CHECK(input_.dim() == 2, kOp,
                ": 1-d target tensor expects 2-d input tensors, but found "
                "input of shape ",
                to_string(input_.sizes()));
    EMBER_CHECK(input_.size(0) == target_.size(0), kOp,
                ": input and target should have the same size in the batch dimension, got ",
                to_string(input_.sizes()), " and ", to_string(target_.sizes()));
  } else {
    EMBER_CHECK(input_.dim() == 1, kOp,
                ": 0-d target tensor expects 1-d input tensors, but "
                "found input of shape ",
                to_string(input_.sizes()));
  }
  const Tensor input = batched ? input_ : input_.reshape({1, input_.size(0)});
  EMBER_CHECK(input.size(1) == in_features_, kOp, ": expected inputs with ", in_features_,
              " features, got shape ", to_string(input_.sizes()));
  const std::vector<std::int64_t> t = target_.reshape({-1}).to_vector<std::int64_t>();
  const std::int64_t N = static_cast<std::int64_t>(t.size());
  if (N > 0) {
    const auto [lo, hi] = std::minmax_element(t.begin(), t.end());
    EMBER_CHECK(*lo >= 0 && *hi < n_classes_, kOp, ": target values should be in [0, ",
                n_classes_ - 1, "], but values in range [", *lo, ", ", *hi, "] were found");
  }

  // Each row's head column (its class, or its cluster's logit) and, per cluster, its rows.
  const std::int64_t shortlist = shortlist_size();
  std::vector<std::int64_t> head_cols(t.size());
  std::vector<std::vector<std::int64_t>> rows(static_cast<std::size_t>(n_clusters()));
  std::vector<std::vector<std::int64_t>> local(static_cast<std::size_t>(n_clusters()));
  for (std::int64_t i = 0; i < N; ++i) {
    const std::int64_t c = t[static_cast<std::size_t>(i)];
    if (c < shortlist) {
      head_cols[static_cast<std::size_t>(i)] = c;
      continue;
    }
    const auto cluster = static_cast<std::size_t>(
        std::upper_bound(cutoffs_.begin(), cutoffs_.end(), c) - cutoffs_.begin() - 1);
    head_cols[static_cast<std::size_t>(i)] = shortlist + static_cast<std::int64_t>(cluster);
    rows[cluster].push_back(i);
    local[cluster].push_back(c - cutoffs_[cluster]);
  }

  const Tensor head_lp = functional::log_softmax(head->forward(input), 1);
  Tensor output = pick(head_lp, head_cols);
  for (std::size_t c = 0; c < rows.size(); ++c) {
    if (rows[c].empty()) continue;
    const Tensor cluster_lp =
        functional::log_softmax(tail[c]->forward(index_rows(input, rows[c])), 1);
    output = output + scatter_rows(pick(cluster_lp, local[c]), rows[c], N);
  }
  const Tensor loss = (-output).mean();
  if (!batched) output = output.reshape({});
  return {output, loss};
}

Tensor AdaptiveLogSoftmaxWithLoss::log_prob(const Tensor& input) {
  EMBER_CHECK(input.defined() && input.dim() == 2 && input.size(1) == in_features_, kOp,
              ": log_prob expects input of shape [N, ", in_features_, "], got ",
              input.defined() ? to_string(input.sizes()) : std::string("undefined"));
  const Tensor head_lp = functional::log_softmax(head->forward(input), 1);
  std::vector<Tensor> tail_lps;
  for (const auto& projection : tail) {
    tail_lps.push_back(functional::log_softmax(projection->forward(input), 1));
  }
  return assemble(head_lp, tail_lps, cutoffs_);
}

Tensor AdaptiveLogSoftmaxWithLoss::predict(const Tensor& input) {
  NoGradGuard no_grad;
  return log_prob(input).argmax(1);
}

}  // namespace ember::nn
