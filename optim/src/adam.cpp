// ember::optim::Adam and AdamW. See adam.h.
#include <ember/optim/adam.h>

#include <charconv>
#include <cmath>
#include <set>
#include <string>
#include <utility>

#include <ember/core/checked.h>
#include <ember/core/error.h>

#include "kernels/adam_kernel.h"
#include "param_checks.h"

namespace ember::optim {

namespace {

using detail::check_param;

// A double as Python's repr prints it (shortest round trip, ".0" on integral values: 1.0,
// -1.0, 1e+300, nan, inf), so that the messages read as PyTorch's.
std::string python_float(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  std::string s(buf, ec == std::errc() ? end : buf);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

// The checks of torch.optim.Adam.__init__ (and AdamW's, the same), with its messages; ember
// also refuses values that are not finite or that the float32 update cannot hold.
template <class Options>
void check_options(const Options& options, const char* where) {
  const typename Options::Fields& o = options.fields();
  const auto [beta1, beta2] = o.betas;
  EMBER_CHECK(o.lr >= 0.0 && std::isfinite(o.lr), where,
              ": Invalid learning rate: ", python_float(o.lr));
  EMBER_CHECK(o.eps >= 0.0 && std::isfinite(o.eps), where,
              ": Invalid epsilon value: ", python_float(o.eps));
  EMBER_CHECK(beta1 >= 0.0 && beta1 < 1.0, where,
              ": Invalid beta parameter at index 0: ", python_float(beta1));
  EMBER_CHECK(beta2 >= 0.0 && beta2 < 1.0, where,
              ": Invalid beta parameter at index 1: ", python_float(beta2));
  EMBER_CHECK(o.weight_decay >= 0.0 && std::isfinite(o.weight_decay), where,
              ": Invalid weight_decay value: ", python_float(o.weight_decay));
  // As SGD's: the update runs in float32, and PyTorch's mul_/add_ refuse a scalar a float
  // cannot hold.
  for (const auto& [name, value] :
       {std::pair{"lr", o.lr}, std::pair{"eps", o.eps}, std::pair{"weight_decay", o.weight_decay},
        std::pair{"1 - lr * weight_decay", 1.0 - o.lr * o.weight_decay}})
    EMBER_CHECK(value_fits(value, kFloat32), where, ": ", name, "=", value,
                " cannot be converted to type float32 without overflow");
}

void check_state_tensor(const Tensor& t, const Tensor& p, std::size_t index, const char* what,
                        const char* where) {
  EMBER_CHECK(
      !t.defined() || (t.sizes() == p.sizes() && t.dtype() == kFloat32 && t.is_contiguous()), where,
      ": parameter ", index, " is ", to_string(p.sizes()), " but its ", what, " is ",
      dtype_name(t.dtype()), " ", to_string(t.sizes()));
}

// The scalars of the step that takes a parameter from `state.step` to `state.step + 1`, as
// _single_tensor_adam(w) computes them in Python floats (doubles), rounded to float where they
// meet a float32 tensor.
template <class Options>
kernels::AdamScalars step_scalars(const Options& options, std::int64_t step, bool decoupled,
                                  const char* where) {
  const typename Options::Fields& o = options.fields();
  const auto [beta1, beta2] = o.betas;
  const double t = static_cast<double>(step + 1);
  const double bias_correction1 = 1.0 - std::pow(beta1, t);
  const double bias_correction2 = 1.0 - std::pow(beta2, t);
  const double step_size = o.lr / bias_correction1;
  EMBER_CHECK(value_fits(step_size, kFloat32), where, ": step size lr / (1 - beta1^", t,
              ") = ", step_size, " cannot be converted to type float32 without overflow (lr=", o.lr,
              ", beta1=", beta1, ")");
  kernels::AdamScalars s;
  s.beta1 = static_cast<float>(beta1);
  s.one_minus_beta1 = static_cast<float>(1.0 - beta1);
  s.beta2 = static_cast<float>(beta2);
  s.one_minus_beta2 = static_cast<float>(1.0 - beta2);
  s.weight_decay = decoupled ? 0.0f : static_cast<float>(o.weight_decay);
  s.decay_factor = decoupled ? static_cast<float>(1.0 - o.lr * o.weight_decay) : 1.0f;
  s.bias_correction2_sqrt = static_cast<float>(std::sqrt(bias_correction2));
  s.eps = static_cast<float>(o.eps);
  s.neg_step_size = static_cast<float>(-step_size);
  s.amsgrad = o.amsgrad;
  s.maximize = o.maximize;
  return s;
}

}  // namespace

namespace detail {

template <bool kDecoupled>
void check_adam_options(const BasicAdamOptions<kDecoupled>& options, const char* where) {
  check_options(options, where);
}
template void check_adam_options(const AdamOptions&, const char*);
template void check_adam_options(const AdamWOptions&, const char*);

}  // namespace detail

template <class Options>
BasicAdam<Options>::BasicAdam(std::vector<Tensor> params, Options options)
    : BasicAdam(std::vector<AdamParamGroupOptions>{AdamParamGroupOptions{std::move(params)}},
                options) {}

template <class Options>
BasicAdam<Options>::BasicAdam(std::vector<AdamParamGroupOptions> groups, Options defaults)
    : defaults_(defaults) {
  check_options(defaults_, kName);
  EMBER_CHECK(!groups.empty(), kName, ": optimizer got an empty list of parameter groups");
  for (const AdamParamGroupOptions& group : groups) add_param_group(group);
}

template <class Options>
void BasicAdam<Options>::add_param_group(const AdamParamGroupOptions& group) {
  const typename Options::Fields& d = defaults_.fields();
  ParamGroup resolved;
  resolved.params = group.params;
  resolved.options = typename Options::Fields{
      group.lr.value_or(d.lr),           group.betas.value_or(d.betas),
      group.eps.value_or(d.eps),         group.weight_decay.value_or(d.weight_decay),
      group.amsgrad.value_or(d.amsgrad), group.maximize.value_or(d.maximize)};
  check_options(resolved.options, kName);
  EMBER_CHECK(!resolved.params.empty(), kName, ": optimizer got an empty parameter list (group ",
              groups_.size(), ")");
  std::set<const TensorImpl*> seen;
  for (const ParamGroup& g : groups_) {
    for (const Tensor& p : g.params) seen.insert(p.impl());
  }
  for (std::size_t i = 0; i < resolved.params.size(); ++i) {
    const Tensor& p = resolved.params[i];
    check_param(p, i, kName);
    EMBER_CHECK(seen.insert(p.impl()).second, kName, ": parameter ", i, " ", to_string(p.sizes()),
                " of group ", groups_.size(), " appears more than once in the parameter groups");
  }
  resolved.state.resize(resolved.params.size());
  groups_.push_back(std::move(resolved));
}

template <class Options>
void BasicAdam<Options>::step() {
  const std::string where = std::string(kName) + "::step";
  // Check everything, step sizes included, before touching any parameter.
  for (const ParamGroup& group : groups_) {
    check_options(group.options, where.c_str());
    EMBER_CHECK(group.state.size() == group.params.size(), where, ": a group has ",
                group.params.size(), " parameters but ", group.state.size(), " states");
    for (std::size_t i = 0; i < group.params.size(); ++i) {
      const Tensor& p = group.params[i];
      check_param(p, i, where.c_str());
      const Tensor& g = p.grad();
      if (!g.defined()) continue;
      EMBER_CHECK(g.dtype() == kFloat32 && g.sizes() == p.sizes(), where, ": parameter ", i, " is ",
                  to_string(p.sizes()), " but its grad is ", dtype_name(g.dtype()), " ",
                  to_string(g.sizes()));
      const AdamParamState& st = group.state[i];
      EMBER_CHECK(st.step >= 0 && st.step < std::int64_t{1} << 53, where, ": parameter ", i,
                  " has step ", st.step, " (must be in [0, 2^53))");
      check_state_tensor(st.exp_avg, p, i, "exp_avg", where.c_str());
      check_state_tensor(st.exp_avg_sq, p, i, "exp_avg_sq", where.c_str());
      check_state_tensor(st.max_exp_avg_sq, p, i, "max_exp_avg_sq", where.c_str());
      EMBER_CHECK(st.step == 0 || (st.exp_avg.defined() && st.exp_avg_sq.defined()), where,
                  ": parameter ", i, " has step ", st.step, " but no exp_avg or exp_avg_sq");
      step_scalars(group.options, st.step, kDecoupled, where.c_str());
    }
  }
  for (ParamGroup& group : groups_) {
    for (std::size_t i = 0; i < group.params.size(); ++i) {
      Tensor& p = group.params[i];
      if (!p.grad().defined()) continue;
      const Tensor g = p.grad().contiguous();
      AdamParamState& st = group.state[i];
      // PyTorch's lazy state initialization: zeros on the first step.
      if (st.step == 0) {
        st.exp_avg = zeros(p.sizes());
        st.exp_avg_sq = zeros(p.sizes());
      }
      if (group.options.amsgrad() && !st.max_exp_avg_sq.defined()) {
        st.max_exp_avg_sq = zeros(p.sizes());
      }
      const kernels::AdamScalars s =
          step_scalars(group.options, st.step, kDecoupled, where.c_str());
      ++st.step;
      // Raw in-place writes (no graph), so bump the versions as in-place ops would.
      float* p_data = reinterpret_cast<float*>(p.storage()->data) + p.storage_offset();
      float* max_data = s.amsgrad ? st.max_exp_avg_sq.data_ptr<float>() : nullptr;
      kernels::adam_update(p_data, g.data_ptr<float>(), st.exp_avg.data_ptr<float>(),
                           st.exp_avg_sq.data_ptr<float>(), max_data, p.numel(), s);
      ++p.storage()->version;
      ++st.exp_avg.storage()->version;
      ++st.exp_avg_sq.storage()->version;
      if (s.amsgrad) ++st.max_exp_avg_sq.storage()->version;
    }
  }
}

template <class Options>
void BasicAdam<Options>::zero_grad(bool set_to_none) {
  detail::zero_grads(groups_, set_to_none);
}

template <class Options>
double BasicAdam<Options>::get_lr(std::size_t group) const {
  EMBER_CHECK(group < groups_.size(), kName, "::get_lr: no parameter group ", group, " (there are ",
              groups_.size(), ")");
  return groups_[group].options.lr();
}

template <class Options>
void BasicAdam<Options>::set_lr(std::size_t group, double lr) {
  EMBER_CHECK(group < groups_.size(), kName, "::set_lr: no parameter group ", group, " (there are ",
              groups_.size(), ")");
  groups_[group].options.lr(lr);
}

template class BasicAdam<AdamOptions>;
template class BasicAdam<AdamWOptions>;

}  // namespace ember::optim
