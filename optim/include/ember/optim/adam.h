/// \file
/// ember::optim::Adam and ember::optim::AdamW, as torch.optim.Adam and torch.optim.AdamW.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <ember/core/tensor.h>
#include <ember/optim/optimizer.h>

namespace ember::optim {

/// Hyperparameters of Adam (kDecoupled = false: AdamOptions, weight_decay 0) or AdamW (true:
/// AdamWOptions, weight_decay 1e-2), in the two spellings of SGDOptions (Note [SGDOptions: two
/// spellings] in sgd.h):
///
/// \code
///   Adam adam(params, {.lr = 1e-3, .betas = {0.9, 0.999}, .amsgrad = true});
///   Adam adam(params, AdamOptions(1e-3).betas({0.9, 0.999}).eps(1e-8).weight_decay(0));
///   AdamW adamw(params, AdamWOptions(1e-3));  // weight_decay 1e-2, as torch.optim.AdamW
/// \endcode
/// Read with libtorch's getters (`options.lr()`, `std::get<0>(options.betas())`), changed with
/// its setters between steps (`adam.param_groups()[0].options.lr(1e-4)`). Adam and AdamW check
/// the values, with PyTorch's messages.
// The parameter is a bool, not the default weight decay as a double: a floating-point template
// argument is C++20 that clang 14 (Debian's, which builds the fuzzers) does not implement.
template <bool kDecoupled>
class BasicAdamOptions {
 public:
  /// The plain values: the aggregate that `{.lr = 1e-3, .betas = {0.9, 0.99}}` builds.
  struct Fields {
    double lr = 1e-3;                               ///< Learning rate, >= 0.
    std::tuple<double, double> betas{0.9, 0.999};   ///< Moment decay rates, each in [0, 1).
    double eps = 1e-8;                              ///< Added to the denominator, >= 0.
    double weight_decay = kDecoupled ? 1e-2 : 0.0;  ///< >= 0 (AdamW: decoupled; Adam: L2).
    bool amsgrad = false;                           ///< Normalize by the running max of v.
    bool maximize = false;                          ///< Ascend the objective.
    /// Equal when every value is.
    bool operator==(const Fields&) const = default;
  };

  /// lr = `learning_rate`, the rest at their defaults. Implicit, as libtorch's, so that
  /// `Adam(params, 1e-3)` works.
  BasicAdamOptions(double learning_rate = 1e-3) : f_{.lr = learning_rate} {}
  /// The values of a designated initializer list, `AdamOptions(AdamOptions::Fields{.lr = 1})`.
  BasicAdamOptions(const Fields& values) : f_(values) {}

  /// Sets Fields::lr; returns `*this`.
  BasicAdamOptions& lr(double v) {
    f_.lr = v;
    return *this;
  }
  /// Sets Fields::betas; returns `*this`.
  BasicAdamOptions& betas(const std::tuple<double, double>& v) {
    f_.betas = v;
    return *this;
  }
  /// Sets Fields::eps; returns `*this`.
  BasicAdamOptions& eps(double v) {
    f_.eps = v;
    return *this;
  }
  /// Sets Fields::weight_decay; returns `*this`.
  BasicAdamOptions& weight_decay(double v) {
    f_.weight_decay = v;
    return *this;
  }
  /// Sets Fields::amsgrad; returns `*this`.
  BasicAdamOptions& amsgrad(bool v) {
    f_.amsgrad = v;
    return *this;
  }
  /// Sets Fields::maximize; returns `*this`.
  BasicAdamOptions& maximize(bool v) {
    f_.maximize = v;
    return *this;
  }

  double lr() const { return f_.lr; }                                   ///< Fields::lr.
  const std::tuple<double, double>& betas() const { return f_.betas; }  ///< Fields::betas.
  double eps() const { return f_.eps; }                                 ///< Fields::eps.
  double weight_decay() const { return f_.weight_decay; }               ///< Fields::weight_decay.
  bool amsgrad() const { return f_.amsgrad; }                           ///< Fields::amsgrad.
  bool maximize() const { return f_.maximize; }                         ///< Fields::maximize.

  /// All the values at once.
  const Fields& fields() const { return f_; }
  /// Equal when every value is.
  bool operator==(const BasicAdamOptions&) const = default;

 private:
  Fields f_;
};

/// torch.optim.Adam's options: weight_decay defaults to 0 (an L2 penalty added to the gradient).
using AdamOptions = BasicAdamOptions<false>;
/// torch.optim.AdamW's options: weight_decay defaults to 1e-2 (decoupled: p *= 1 - lr wd).
using AdamWOptions = BasicAdamOptions<true>;

/// Parameters with their own Adam/AdamW options; an option left empty takes the optimizer's
/// default (as ParamGroup for SGD).
///
/// \code
///   Adam adam({{encoder.parameters(), 1e-4}, {head.parameters()}}, {.lr = 1e-3});
/// \endcode
struct AdamParamGroupOptions {
  std::vector<Tensor> params{};                       ///< float32 contiguous leaves.
  std::optional<double> lr{};                         ///< Fields::lr, or the default.
  std::optional<std::tuple<double, double>> betas{};  ///< Fields::betas, or the default.
  std::optional<double> eps{};                        ///< Fields::eps, or the default.
  std::optional<double> weight_decay{};               ///< Fields::weight_decay, or the default.
  std::optional<bool> amsgrad{};                      ///< Fields::amsgrad, or the default.
  std::optional<bool> maximize{};                     ///< Fields::maximize, or the default.
};

/// One parameter's state, as torch.optim.Adam's `state[p]`.
///
/// Before the parameter's first step, step is 0 and the tensors are undefined; the first step
/// creates exp_avg and exp_avg_sq (and max_exp_avg_sq with amsgrad) as zeros of its shape.
/// step is an int64 here, where PyTorch 1.13 keeps a float32 tensor (which stops counting at
/// 2^24 steps); both give the same bias corrections below that.
struct AdamParamState {
  std::int64_t step = 0;  ///< Steps taken with a grad.
  Tensor exp_avg;         ///< m: running average of the gradient.
  Tensor exp_avg_sq;      ///< v: running average of the squared gradient.
  Tensor max_exp_avg_sq;  ///< max of v over the steps (amsgrad only).
};

/// A group as the optimizer holds it: every option resolved, and each parameter's state.
template <class Options>
struct BasicAdamParamGroup {
  std::vector<Tensor> params{};       ///< The group's parameters, in order.
  Options options;                    ///< The group's options, defaults filled in.
  std::vector<AdamParamState> state;  ///< state[i] belongs to params[i].
};

/// An Adam group (AdamOptions).
using AdamParamGroup = BasicAdamParamGroup<AdamOptions>;
/// An AdamW group (AdamWOptions).
using AdamWParamGroup = BasicAdamParamGroup<AdamWOptions>;

/// Adam (Kingma & Ba 2015, "Adam: A Method for Stochastic Optimization") or, with
/// AdamWOptions, AdamW (Loshchilov & Hutter 2019, "Decoupled Weight Decay Regularization"):
/// torch.optim.Adam and torch.optim.AdamW of PyTorch 1.13 (their single-tensor, foreach=False,
/// algorithm, operation for operation; Note [Adam operation order] in the kernel).
///
/// For each parameter p with gradient g (parameters without a grad are skipped and their step
/// does not advance), in float32, t the parameter's step count after increment:
/// \code{.unparsed}
///   g = maximize ? -g : g
///   Adam:   if weight_decay != 0:  g = g + weight_decay * p     (L2 penalty in the gradient)
///   AdamW:  p = p * (1 - lr * weight_decay)                     (decoupled decay)
///   m = beta1 * m + (1 - beta1) * g
///   v = beta2 * v + (1 - beta2) * g * g
///   if amsgrad:  v_max = max(v_max, v), and v_max replaces v below
///   denom = sqrt(v) / sqrt(1 - beta2^t) + eps
///   p = p - (lr / (1 - beta1^t)) * m / denom
/// \endcode
/// The bias corrections and step size are computed in double, as PyTorch's Python floats, and
/// rounded to float32 where PyTorch passes them to a float op. Each step updates each parameter
/// in one vectorized pass, without recording a graph; the result does not depend on the thread
/// count.
///
/// Options are checked at construction, at step() and at load, with PyTorch's messages ("Invalid
/// learning rate: -1"): lr, eps and weight_decay >= 0 (and not nan), each beta in [0, 1), and
/// every value (and each step size lr / (1 - beta1^t)) finite in float32. Every parameter must be
/// a float32 contiguous leaf, once in all groups.
template <class Options>
class BasicAdam : public Optimizer {
 public:
  /// "Adam" or "AdamW": the name in error messages.
  static constexpr const char* kName = std::is_same_v<Options, AdamOptions> ? "Adam" : "AdamW";
  /// True for AdamW: weight decay scales the parameter instead of adding to the gradient.
  static constexpr bool kDecoupled = !std::is_same_v<Options, AdamOptions>;
  /// The group type param_groups() holds.
  using ParamGroup = BasicAdamParamGroup<Options>;

  /// One group of `params` with `options`.
  /// \throws ember::Error for invalid options, an empty parameter list, or a parameter that is
  ///   undefined, not float32, not a leaf, not contiguous or listed twice.
  BasicAdam(std::vector<Tensor> params, Options options);
  /// \overload
  /// Several groups, each option left empty taking `defaults`.
  /// \throws ember::Error as above, also for an empty list of groups.
  BasicAdam(std::vector<AdamParamGroupOptions> groups, Options defaults);
  /// `Adam(params, {.lr = 1e-3, .amsgrad = true})`: see Note [SGDOptions: two spellings].
  BasicAdam(std::vector<Tensor> params, const typename Options::Fields& options)
      : BasicAdam(std::move(params), Options(options)) {}
  /// `Adam(groups, {.lr = 1e-3})`: see Note [SGDOptions: two spellings].
  BasicAdam(std::vector<AdamParamGroupOptions> groups, const typename Options::Fields& defaults)
      : BasicAdam(std::move(groups), Options(defaults)) {}

  /// Updates every parameter that has a grad (see the class documentation).
  ///
  /// Everything is checked before any parameter is touched.
  /// \throws ember::Error for options that became invalid, a step size that overflows float32,
  ///   a parameter no longer a float32 contiguous leaf, or state of another shape.
  void step() override;
  /// Clears every parameter's grad: to none (default, as PyTorch 2) or to zeros.
  void zero_grad(bool set_to_none = true) override;

  /// Adds parameters after construction (options left empty take the defaults).
  /// \throws ember::Error as the constructor, also for a parameter already in another group.
  void add_param_group(const AdamParamGroupOptions& group);

  /// The options given at construction.
  const Options& defaults() const { return defaults_; }
  /// The groups, in order; their options may be changed between steps.
  std::vector<ParamGroup>& param_groups() { return groups_; }
  /// \overload
  const std::vector<ParamGroup>& param_groups() const { return groups_; }

  /// param_groups().size(), for a scheduler (see Optimizer).
  std::size_t num_param_groups() const override { return groups_.size(); }
  /// param_groups()[group].options.lr().
  /// \throws ember::Error if there is no group `group`.
  double get_lr(std::size_t group) const override;
  /// param_groups()[group].options.lr(lr); checked at the next step().
  /// \throws ember::Error if there is no group `group`.
  void set_lr(std::size_t group, double lr) override;

 private:
  Options defaults_;
  std::vector<ParamGroup> groups_;
};

extern template class BasicAdam<AdamOptions>;
extern template class BasicAdam<AdamWOptions>;

/// torch.optim.Adam: see BasicAdam.
using Adam = BasicAdam<AdamOptions>;
/// torch.optim.AdamW: see BasicAdam.
using AdamW = BasicAdam<AdamWOptions>;

namespace detail {
// Throws ember::Error, prefixed with `where` ("Adam: "), if the options are invalid (see
// BasicAdam).
template <bool kDecoupled>
void check_adam_options(const BasicAdamOptions<kDecoupled>& options, const char* where);
}  // namespace detail

}  // namespace ember::optim
