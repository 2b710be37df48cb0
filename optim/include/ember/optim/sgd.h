/// \file
/// ember::optim::SGD: stochastic gradient descent with momentum, as torch.optim.SGD.
#pragma once

#include <cstddef>
#include <optional>
#include <utility>
#include <vector>

#include <ember/core/tensor.h>
#include <ember/optim/optimizer.h>

namespace ember::optim {

/// Hyperparameters of SGD, in two spellings that build the same options.
///
/// \code
///   SGD sgd(params, {.lr = 0.1, .momentum = 0.9});                  // designated initializers
///   SGD sgd(params, SGDOptions(0.1).momentum(0.9).nesterov(true));  // libtorch's builder
///   SGD sgd(params, 0.1);                                           // libtorch's lr-only form
/// \endcode
/// read with libtorch's getters (`options.lr()`) and changed with its setters, which is how a
/// learning-rate schedule works: `sgd.param_groups()[0].options.lr(0.01)`. lr defaults to 1e-3,
/// as torch.optim.SGD since PyTorch 2.2 (PyTorch 1.13 required it). SGD checks the values.
///
/// Note [SGDOptions: two spellings]
/// A designated initializer needs an aggregate whose public data members are named lr,
/// momentum, ...; libtorch's builder needs member functions with those same names, and a class
/// cannot have both. So the plain values live in the aggregate SGDOptions::Fields, and
/// SGDOptions wraps one Fields with a setter and a getter per value. A designated list never
/// reaches a converting constructor (C++20 [over.ics.list]: it converts only to an aggregate),
/// so SGD has one constructor taking SGDOptions and one taking Fields, and the braced form
/// picks the latter. Rejected: setters with other names (set_lr: not libtorch's spelling),
/// Fields as a base class (a designated initializer cannot name a base's members), option
/// members with an operator() (they would need their enclosing object's address).
class SGDOptions {
 public:
  /// The plain values: the aggregate that `{.lr = 0.1, .momentum = 0.9}` builds.
  struct Fields {
    double lr = 1e-3;           ///< Learning rate, finite and >= 0.
    double momentum = 0.0;      ///< Momentum factor, finite and >= 0 (0: plain SGD).
    double dampening = 0.0;     ///< Dampening of the momentum, finite.
    double weight_decay = 0.0;  ///< L2 penalty, finite and >= 0.
    bool nesterov = false;      ///< Nesterov momentum (needs momentum > 0, no dampening).
    bool maximize = false;      ///< Ascend the objective instead of descending it.
    /// Equal when every value is.
    bool operator==(const Fields&) const = default;
  };

  /// lr = `learning_rate`, the rest at their defaults. Implicit, as libtorch's, so that
  /// `SGD(params, 0.1)` works.
  SGDOptions(double learning_rate = 1e-3) : f_{.lr = learning_rate} {}
  /// The values of a designated initializer list, `SGDOptions(Fields{.lr = 0.1})`.
  SGDOptions(const Fields& values) : f_(values) {}

  // Setters, as libtorch's builder: each sets one value and returns *this, so calls chain:
  // SGDOptions(0.1).momentum(0.9).nesterov(true). Getters, as libtorch's: options.lr().
  /// Sets Fields::lr; returns `*this`.
  SGDOptions& lr(double v) {
    f_.lr = v;
    return *this;
  }
  /// Sets Fields::momentum; returns `*this`.
  SGDOptions& momentum(double v) {
    f_.momentum = v;
    return *this;
  }
  /// Sets Fields::dampening; returns `*this`.
  SGDOptions& dampening(double v) {
    f_.dampening = v;
    return *this;
  }
  /// Sets Fields::weight_decay; returns `*this`.
  SGDOptions& weight_decay(double v) {
    f_.weight_decay = v;
    return *this;
  }
  /// Sets Fields::nesterov; returns `*this`.
  SGDOptions& nesterov(bool v) {
    f_.nesterov = v;
    return *this;
  }
  /// Sets Fields::maximize; returns `*this`.
  SGDOptions& maximize(bool v) {
    f_.maximize = v;
    return *this;
  }

  double lr() const { return f_.lr; }                      ///< Fields::lr.
  double momentum() const { return f_.momentum; }          ///< Fields::momentum.
  double dampening() const { return f_.dampening; }        ///< Fields::dampening.
  double weight_decay() const { return f_.weight_decay; }  ///< Fields::weight_decay.
  bool nesterov() const { return f_.nesterov; }            ///< Fields::nesterov.
  bool maximize() const { return f_.maximize; }            ///< Fields::maximize.

  /// All the values at once.
  const Fields& fields() const { return f_; }
  /// Equal when every value is.
  bool operator==(const SGDOptions&) const = default;

 private:
  Fields f_;
};

/// Parameters with their own options; an option left empty takes the SGD's default.
///
/// \code
///   SGD sgd({{net.at<Linear>(0)->parameters(), 0.01}, {head.parameters()}}, {.lr = 0.1});
/// \endcode
struct ParamGroup {
  std::vector<Tensor> params{};          ///< float32 contiguous leaves.
  std::optional<double> lr{};            ///< SGDOptions::lr, or the default.
  std::optional<double> momentum{};      ///< SGDOptions::momentum, or the default.
  std::optional<double> dampening{};     ///< SGDOptions::dampening, or the default.
  std::optional<double> weight_decay{};  ///< SGDOptions::weight_decay, or the default.
  std::optional<bool> nesterov{};        ///< SGDOptions::nesterov, or the default.
  std::optional<bool> maximize{};        ///< SGDOptions::maximize, or the default.
};

/// A group as the optimizer holds it: every option resolved, and the per-parameter state.
///
/// Options may be changed between steps (a learning-rate schedule calls options.lr(0.01));
/// step() checks them again.
struct SGDParamGroup {
  std::vector<Tensor> params{};  ///< The group's parameters, in order.
  SGDOptions options;            ///< The group's options, defaults filled in.
  /// momentum_buffers[i] belongs to params[i]: float32 of its shape, undefined until the first
  /// step with momentum.
  std::vector<Tensor> momentum_buffers;
};

/// Stochastic gradient descent with momentum, weight decay and Nesterov momentum, as
/// torch.optim.SGD.
///
/// torch.optim.SGD's documented update, for each parameter p with gradient g (parameters
/// without a grad are skipped), all in float32:
/// \code{.unparsed}
///   d = maximize ? -g : g
///   if weight_decay != 0:  d = d + weight_decay * p
///   if momentum != 0:
///     buf = d                                      on the first step (no dampening)
///     buf = momentum * buf + (1 - dampening) * d   afterwards
///     d = nesterov ? d + momentum * buf : buf
///   p = p - lr * d
/// \endcode
/// Nesterov momentum follows Sutskever et al.\ 2013 ("On the importance of initialization and
/// momentum in deep learning"), as torch.optim.SGD's documentation cites; like PyTorch's, this
/// momentum differs subtly from the paper's (lr scales the whole step d, not the gradient inside
/// buf). Each step updates each parameter in one vectorized pass over its data, without
/// recording a graph.
///
/// The options are checked at construction (and at step() for options changed since): lr,
/// momentum and weight_decay must be finite and >= 0, dampening finite, each must fit in
/// float32, and nesterov needs a momentum > 0 and zero dampening. Every parameter must be a
/// float32 contiguous leaf, once in all groups.
class SGD : public Optimizer {
 public:
  /// One group of `params` with `options`.
  /// \throws ember::Error for invalid options, an empty parameter list, or a parameter that is
  ///   undefined, not float32, not a leaf, not contiguous or listed twice.
  SGD(std::vector<Tensor> params, SGDOptions options);
  /// \overload
  /// Several groups, each option left empty taking `defaults`.
  /// \throws ember::Error as above, also for an empty list of groups.
  SGD(std::vector<ParamGroup> groups, SGDOptions defaults);
  /// `SGD(params, {.lr = 0.1, .momentum = 0.9})`: see Note [SGDOptions: two spellings].
  SGD(std::vector<Tensor> params, const SGDOptions::Fields& options)
      : SGD(std::move(params), SGDOptions(options)) {}
  /// `SGD(groups, {.lr = 0.1})`: see Note [SGDOptions: two spellings].
  SGD(std::vector<ParamGroup> groups, const SGDOptions::Fields& defaults)
      : SGD(std::move(groups), SGDOptions(defaults)) {}

  /// Updates every parameter that has a grad (see the class documentation).
  ///
  /// Everything is checked before any parameter is touched.
  /// \throws ember::Error for options that became invalid, a parameter no longer a float32
  ///   contiguous leaf, or a grad (or momentum buffer) whose dtype or shape differs from its
  ///   parameter's.
  void step() override;
  /// Clears every parameter's grad: to none (default, as PyTorch 2) or to zeros.
  void zero_grad(bool set_to_none = true) override;

  /// param_groups().size(), for a scheduler (see Optimizer).
  std::size_t num_param_groups() const override { return groups_.size(); }
  /// param_groups()[group].options.lr().
  /// \throws ember::Error if there is no group `group`.
  double get_lr(std::size_t group) const override;
  /// param_groups()[group].options.lr(lr); checked at the next step().
  /// \throws ember::Error if there is no group `group`.
  void set_lr(std::size_t group, double lr) override;

  /// Adds parameters after construction (options left empty take the defaults).
  /// \throws ember::Error as the constructor, also for a parameter already in another group.
  void add_param_group(const ParamGroup& group);

  /// The options given at construction.
  const SGDOptions& defaults() const { return defaults_; }
  /// The groups, in order; their options may be changed between steps.
  std::vector<SGDParamGroup>& param_groups() { return groups_; }
  /// \overload
  const std::vector<SGDParamGroup>& param_groups() const { return groups_; }

 private:
  SGDOptions defaults_;
  std::vector<SGDParamGroup> groups_;
};

namespace detail {
// Throws ember::Error naming `where` if the options are invalid (see SGD).
void check_sgd_options(const SGDOptions& options, const char* where);
}  // namespace detail

}  // namespace ember::optim
