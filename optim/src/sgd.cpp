// ember::optim::SGD. See sgd.h.
#include <ember/optim/sgd.h>

#include <cmath>
#include <set>
#include <utility>

#include <ember/core/checked.h>
#include <ember/core/error.h>

#include "kernels/sgd_kernel.h"
#include "param_checks.h"

namespace ember::optim {

namespace detail {

// As torch.optim.SGD.__init__'s checks.
void check_sgd_options(const SGDOptions& options, const char* where) {
  const SGDOptions::Fields& o = options.fields();
  EMBER_CHECK(std::isfinite(o.lr) && o.lr >= 0.0, where, ": invalid learning rate lr=", o.lr,
              " (must be finite and >= 0)");
  EMBER_CHECK(std::isfinite(o.momentum) && o.momentum >= 0.0, where, ": invalid momentum value ",
              o.momentum, " (must be finite and >= 0)");
  EMBER_CHECK(std::isfinite(o.dampening), where, ": invalid dampening value ", o.dampening);
  EMBER_CHECK(std::isfinite(o.weight_decay) && o.weight_decay >= 0.0, where,
              ": invalid weight_decay value ", o.weight_decay, " (must be finite and >= 0)");
  // The update runs in float32 (as PyTorch's, whose add_/mul_ refuse an alpha a float cannot
  // hold): lr = 1e300 would become inf.
  for (const auto& [name, value] :
       {std::pair{"lr", o.lr}, std::pair{"momentum", o.momentum},
        std::pair{"1 - dampening", 1.0 - o.dampening}, std::pair{"weight_decay", o.weight_decay}})
    EMBER_CHECK(value_fits(value, kFloat32), where, ": ", name, "=", value,
                " cannot be converted to type float32 without overflow");
  EMBER_CHECK(!o.nesterov || (o.momentum > 0.0 && o.dampening == 0.0), where,
              ": nesterov momentum requires a momentum > 0 and zero dampening (got momentum=",
              o.momentum, ", dampening=", o.dampening, ")");
}

}  // namespace detail

using detail::check_param;
using detail::check_sgd_options;

SGD::SGD(std::vector<Tensor> params, SGDOptions options)
    : SGD(std::vector<ParamGroup>{ParamGroup{std::move(params)}}, options) {}

SGD::SGD(std::vector<ParamGroup> groups, SGDOptions defaults) : defaults_(defaults) {
  check_sgd_options(defaults_, "SGD");
  EMBER_CHECK(!groups.empty(), "SGD: optimizer got an empty list of parameter groups");
  for (const ParamGroup& group : groups) add_param_group(group);
}

void SGD::add_param_group(const ParamGroup& group) {
  SGDParamGroup resolved;
  resolved.params = group.params;
  resolved.options = SGDOptions::Fields{group.lr.value_or(defaults_.lr()),
                                        group.momentum.value_or(defaults_.momentum()),
                                        group.dampening.value_or(defaults_.dampening()),
                                        group.weight_decay.value_or(defaults_.weight_decay()),
                                        group.nesterov.value_or(defaults_.nesterov()),
                                        group.maximize.value_or(defaults_.maximize())};
  check_sgd_options(resolved.options, "SGD");
  EMBER_CHECK(!resolved.params.empty(), "SGD: optimizer got an empty parameter list (group ",
              groups_.size(), ")");
  std::set<const TensorImpl*> seen;
  for (const SGDParamGroup& g : groups_) {
    for (const Tensor& p : g.params) seen.insert(p.impl());
  }
  for (std::size_t i = 0; i < resolved.params.size(); ++i) {
    const Tensor& p = resolved.params[i];
    check_param(p, i, "SGD");
    EMBER_CHECK(seen.insert(p.impl()).second, "SGD: parameter ", i, " ", to_string(p.sizes()),
                " of group ", groups_.size(), " appears more than once in the parameter groups");
  }
  resolved.momentum_buffers.resize(resolved.params.size());
  groups_.push_back(std::move(resolved));
}

void SGD::step() {
  // Check everything before touching any parameter.
  for (const SGDParamGroup& group : groups_) {
    check_sgd_options(group.options, "SGD::step");
    EMBER_CHECK(group.momentum_buffers.size() == group.params.size(), "SGD::step: a group has ",
                group.params.size(), " parameters but ", group.momentum_buffers.size(),
                " momentum buffers");
    for (std::size_t i = 0; i < group.params.size(); ++i) {
      const Tensor& p = group.params[i];
      check_param(p, i, "SGD::step");
      const Tensor& g = p.grad();
      if (!g.defined()) continue;
      EMBER_CHECK(g.dtype() == kFloat32 && g.sizes() == p.sizes(), "SGD::step: parameter ", i,
                  " is ", to_string(p.sizes()), " but its grad is ", dtype_name(g.dtype()), " ",
                  to_string(g.sizes()));
      const Tensor& buf = group.momentum_buffers[i];
      EMBER_CHECK(!buf.defined() ||
                      (buf.sizes() == p.sizes() && buf.dtype() == kFloat32 && buf.is_contiguous()),
                  "SGD::step: parameter ", i, " is ", to_string(p.sizes()),
                  " but its momentum buffer is ", to_string(buf.sizes()));
    }
  }
  for (SGDParamGroup& group : groups_) {
    const SGDOptions::Fields& o = group.options.fields();
    kernels::SgdScalars s;
    // PyTorch passes these as the `alpha` of add_/mul_ on float tensors: rounded to float.
    s.lr = static_cast<float>(o.lr);
    s.momentum = static_cast<float>(o.momentum);
    s.one_minus_dampening = static_cast<float>(1.0 - o.dampening);
    s.weight_decay = static_cast<float>(o.weight_decay);
    s.nesterov = o.nesterov;
    s.maximize = o.maximize;
    for (std::size_t i = 0; i < group.params.size(); ++i) {
      Tensor& p = group.params[i];
      if (!p.grad().defined()) continue;
      const Tensor g = p.grad().contiguous();
      Tensor& buf = group.momentum_buffers[i];
      float* buf_data = nullptr;
      s.first_step = false;
      if (o.momentum != 0.0) {
        // The buffer starts as the first (decayed) gradient: PyTorch's torch.clone(d_p).
        if (!buf.defined()) {
          buf = empty(p.sizes());
          s.first_step = true;
        }
        buf_data = buf.mutable_data_ptr<float>();
      }
      // Raw in-place writes (no graph): mutable_data_ptr bumps each version as an in-place op.
      float* p_data = p.mutable_data_ptr<float>();
      kernels::sgd_update(p_data, g.data_ptr<float>(), buf_data, p.numel(), s);
    }
  }
}

void SGD::zero_grad(bool set_to_none) {
  detail::zero_grads(groups_, set_to_none);
}

double SGD::get_lr(std::size_t group) const {
  EMBER_CHECK(group < groups_.size(), "SGD::get_lr: no parameter group ", group, " (there are ",
              groups_.size(), ")");
  return groups_[group].options.lr();
}

void SGD::set_lr(std::size_t group, double lr) {
  EMBER_CHECK(group < groups_.size(), "SGD::set_lr: no parameter group ", group, " (there are ",
              groups_.size(), ")");
  groups_[group].options.lr(lr);
}

}  // namespace ember::optim
