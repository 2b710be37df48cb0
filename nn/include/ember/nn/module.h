/// \file
/// ember::nn::Module: the base of every layer, with named parameters and children.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <ember/core/ordered_dict.h>
#include <ember/core/tensor.h>

namespace ember::nn {

/// What Module::load_state_dict found besides the tensors it loaded, as PyTorch's
/// _IncompatibleKeys: names the module has but the dict lacks, and names only the dict has.
struct IncompatibleKeys {
  std::vector<std::string> missing_keys;     ///< In the module, not in the dict.
  std::vector<std::string> unexpected_keys;  ///< In the dict, not in the module.
};

/// A layer or a container of layers, as torch.nn.Module: parameters, buffers and children are
/// registered by name in order; named_parameters() joins names with dots ("0.weight").
///
/// Note [Modules are handles]: a Module is a handle to shared state, as libtorch's module holders
/// (torch::nn::Linear is a shared_ptr<LinearImpl>). Copying a module (`nn::Linear b = a;`) gives a
/// second handle to the SAME module: same parameters, buffers, children and training flag;
/// a.eval() is seen by b. For an independent copy with its own parameters use clone() where a
/// module offers it (Linear::clone()). This is what makes libtorch's holder form work:
///
/// \code
///   struct Net : nn::Module {
///     nn::Linear fc1{nullptr}, fc2{nullptr};  // empty holders
///     Net() {
///       fc1 = register_module("fc1", nn::Linear(784, 64));  // fc1 is now the registered module
///       fc2 = register_module("fc2", nn::Linear(64, 10));
///     }
///     Tensor forward(const Tensor& x) override { return fc2(fc1(x).relu()); }
///   };
/// \endcode
///
/// A layer held as a plain member WITHOUT register_module is not part of the module: its
/// parameters are missing from parameters() (and from the optimizer and checkpoints). Always
/// register; tests can check parameters().size().
///
/// On an empty holder (Module(std::nullptr_t)) every member that reaches the module's state
/// throws ember::Error saying so; assignment, is_empty() and type_name() do not.
class Module {
 public:
  /// A module whose type name is the class name ("Net" for `struct Net : nn::Module`).
  Module();
  /// A module with the given type name, as printed ("Linear").
  explicit Module(std::string type_name);
  /// An empty holder (libtorch's `Linear fc{nullptr}`): everything but assignment throws.
  explicit Module(std::nullptr_t);
  virtual ~Module() = default;
  /// A second handle to the same module (Note [Modules are handles]).
  Module(const Module&) = default;
  /// Makes this a handle to `other`'s module (Note [Modules are handles]).
  Module& operator=(const Module&) = default;
  /// Takes over the handle; the source is left empty.
  Module(Module&&) = default;
  /// Takes over the handle; the source is left empty.
  Module& operator=(Module&&) = default;

  /// Runs the module on one tensor.
  ///
  /// Modules that map one tensor to one tensor override this (Sequential chains them); shapes
  /// and dtypes are the overriding module's. Others, such as losses, offer
  /// forward(input, target) instead.
  /// \throws ember::Error when the module does not override it (naming the module's type).
  virtual Tensor forward(const Tensor& input);
  /// forward(input), so a module is called like a function: `y = net(x)`.
  Tensor operator()(const Tensor& input) { return forward(input); }

  /// True for a holder made from nullptr (Module(std::nullptr_t)).
  bool is_empty() const { return state_ == nullptr; }

  /// The parameters (float32 leaves) of this module and, with `recurse`, of every descendant,
  /// in registration order (pre-order), each tensor once.
  std::vector<Tensor> parameters(bool recurse = true) const;
  /// parameters() with their dotted names: "weight", "0.bias", "block.fc1.weight".
  std::vector<std::pair<std::string, Tensor>> named_parameters(bool recurse = true) const;
  /// The buffers: tensors that are part of the module's state but not trained (running
  /// statistics, masks); any dtype; saved in checkpoints with the parameters.
  std::vector<Tensor> buffers(bool recurse = true) const;
  /// buffers() with their dotted names, as named_parameters().
  std::vector<std::pair<std::string, Tensor>> named_buffers(bool recurse = true) const;
  /// The module's state, as torch.nn.Module.state_dict(): every parameter and buffer under its
  /// dotted name ("0.weight", "fc1.bias", "bn.running_mean", "bn.num_batches_tracked"), module by
  /// module in pre-order, each module's parameters before its buffers (PyTorch's order). The
  /// tensors are detached handles sharing the module's storage (PyTorch's keep_vars=False): write
  /// into a clone() to keep a snapshot. A module registered under two names appears under both.
  StateDict state_dict() const;
  /// Copies `dict`'s tensors into the parameters and buffers of the same names, as
  /// torch.nn.Module.load_state_dict, and returns the missing and unexpected keys.
  ///
  /// Everything is checked before anything is written, so a load that throws leaves the module
  /// unchanged (PyTorch may have copied some tensors by then). A tensor of another dtype is
  /// converted, as PyTorch's copy_ (a float64 or int64 tensor into a float32 parameter); one
  /// whose values do not fit the parameter's dtype (NaN into an int64 buffer) is an error.
  /// Without `strict`, missing and unexpected keys are returned instead of thrown; a size
  /// mismatch is an error either way (as PyTorch).
  /// \throws ember::Error with PyTorch's message, each problem on its own line:
  /// \code{.unparsed}
  ///   Error(s) in loading state_dict for Net:
  ///   	Missing key(s) in state_dict: "fc2.bias".
  ///   	Unexpected key(s) in state_dict: "fc3.weight".
  ///   	size mismatch for fc1.weight: copying a param with shape [256, 784] from checkpoint,
  ///   \ the shape in current model is [128, 784].
  /// \endcode
  /// (the size mismatch is one line, cut here at the backslash). PyTorch prints shapes as
  /// torch.Size([256, 784]), ember as [256, 784]; the words, order, tab indentation and the space
  /// after each key list's period are PyTorch 1.13's.
  IncompatibleKeys load_state_dict(const StateDict& dict, bool strict = true);

  /// The direct children, in registration order.
  std::vector<std::shared_ptr<Module>> children() const;
  /// The direct children with the names they were registered under.
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& named_children() const;
  /// This module and every descendant, pre-order, each once, with dotted names.
  ///
  /// This module comes first, named "" (a non-owning pointer valid while the module lives):
  /// "", "fc1", "block", "block.0", ...
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_modules() const;
  /// named_modules() without the names.
  std::vector<std::shared_ptr<Module>> modules() const;

  /// Sets training mode (`on`) or evaluation mode, recursively, as torch.nn.Module.train.
  void train(bool on = true);
  /// Evaluation mode: train(false).
  void eval() { train(false); }
  /// True in training mode (the default).
  bool is_training() const;
  /// Clears every parameter's grad: to none (the default, as PyTorch 2) or to zeros.
  void zero_grad(bool set_to_none = true);
  /// Calls fn on every child (recursively, depth first) and then on this module, as PyTorch.
  Module& apply(const std::function<void(Module&)>& fn);

  /// The name printed for this module: "Linear".
  const std::string& type_name() const;
  /// The text inside the parentheses when printed: "in_features=784, out_features=10, bias=true".
  virtual std::string extra_repr() const { return ""; }

  /// Registers a parameter and returns it.
  ///
  /// `value` must be float32; a non-leaf is detached first (it keeps its data only, as
  /// torch.nn.Parameter), and requires_grad is set to `requires_grad`.
  /// \throws ember::Error for a name that is empty, holds a dot, or is already a parameter or a
  ///   child, and for an undefined or non-float32 value.
  Tensor register_parameter(const std::string& name, Tensor value, bool requires_grad = true);
  /// Registers a buffer (any dtype, detached, never requiring grad) and returns it.
  /// \throws ember::Error for a name that is empty, holds a dot, or is already a buffer or a
  ///   parameter, and for an undefined value.
  Tensor register_buffer(const std::string& name, Tensor value);
  /// \name Registering children
  ///@{

  /// Registers the module `module` points to as the child `name` and returns `module`.
  /// \throws ember::Error for a name that is empty, holds a dot, or is already a child or a
  ///   parameter, for a null pointer, and for a module registered in itself.
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    add_child(name, module);
    return module;
  }
  /// \overload
  /// The module passed by value is moved (or copied: a second handle) into a new holder, which is
  /// registered; the return value is a handle to it, so `fc1 = register_module("fc1",
  /// nn::Linear(784, 64))` leaves fc1 pointing at the registered module.
  template <class M>
  requires std::is_base_of_v<Module, std::decay_t<M>> std::decay_t<M> register_module(
      const std::string& name, M&& module) {
    auto held = std::make_shared<std::decay_t<M>>(std::forward<M>(module));
    add_child(name, held);
    return *held;
  }
  ///@}

 private:
  struct State;
  void add_child(const std::string& name, std::shared_ptr<Module> module);
  State& state() const;

  std::shared_ptr<State> state_;
};

/// Prints the module tree as PyTorch does.
///
/// \code
/// Sequential(
///   (0): Flatten(start_dim=1, end_dim=-1)
///   (1): Linear(in_features=784, out_features=10, bias=true)
/// )
/// \endcode
std::ostream& operator<<(std::ostream& out, const Module& module);

}  // namespace ember::nn
