// ember::nn::Module: the base of every layer, with named parameters and children.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <ember/core/tensor.h>

namespace ember::nn {

// A layer or a container of layers, as torch.nn.Module: parameters, buffers and children are
// registered by name in order; named_parameters() joins names with dots ("0.weight").
//
// Note [Modules are handles]: a Module is a handle to shared state, as libtorch's module holders
// (torch::nn::Linear is a shared_ptr<LinearImpl>). Copying a module (`nn::Linear b = a;`) gives a
// second handle to the SAME module: same parameters, buffers, children and training flag;
// a.eval() is seen by b. For an independent copy with its own parameters use clone() where a
// module offers it (Linear::clone()). This is what makes libtorch's holder form work:
//
//   struct Net : nn::Module {
//     nn::Linear fc1{nullptr}, fc2{nullptr};  // empty holders
//     Net() {
//       fc1 = register_module("fc1", nn::Linear(784, 64));  // fc1 is now the registered module
//       fc2 = register_module("fc2", nn::Linear(64, 10));
//     }
//     Tensor forward(const Tensor& x) override { return fc2(fc1(x).relu()); }
//   };
//
// A layer held as a plain member WITHOUT register_module is not part of the module: its
// parameters are missing from parameters() (and from the optimizer and checkpoints). Always
// register; tests can check parameters().size().
class Module {
 public:
  // The type name defaults to the class name ("Net" for `struct Net : nn::Module`).
  Module();
  explicit Module(std::string type_name);
  // An empty holder (libtorch's `Linear fc{nullptr}`): everything but assignment throws.
  explicit Module(std::nullptr_t);
  virtual ~Module() = default;
  Module(const Module&) = default;  // shares the module (Note [Modules are handles])
  Module& operator=(const Module&) = default;
  Module(Module&&) = default;
  Module& operator=(Module&&) = default;

  // Modules that map one tensor to one tensor override this (Sequential chains them). Others,
  // such as losses, offer forward(input, target) instead; calling this one on them throws.
  virtual Tensor forward(const Tensor& input);
  Tensor operator()(const Tensor& input) { return forward(input); }

  bool is_empty() const { return state_ == nullptr; }  // a holder made from nullptr

  std::vector<Tensor> parameters(bool recurse = true) const;
  std::vector<std::pair<std::string, Tensor>> named_parameters(bool recurse = true) const;
  // Buffers: tensors that are part of the module's state but not trained (running statistics,
  // masks); any dtype; saved in checkpoints with the parameters.
  std::vector<Tensor> buffers(bool recurse = true) const;
  std::vector<std::pair<std::string, Tensor>> named_buffers(bool recurse = true) const;
  std::vector<std::shared_ptr<Module>> children() const;
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& named_children() const;
  // This module (name "", a non-owning pointer valid while the module lives) and every
  // descendant, pre-order, each once: "", "fc1", "block", "block.0", ...
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_modules() const;
  std::vector<std::shared_ptr<Module>> modules() const;

  void train(bool on = true);  // recursively
  void eval() { train(false); }
  bool is_training() const;
  // Clears every parameter's grad: to none (the default, as PyTorch 2) or to zeros.
  void zero_grad(bool set_to_none = true);
  // Calls fn on every child (recursively, depth first) and then on this module, as PyTorch.
  Module& apply(const std::function<void(Module&)>& fn);

  const std::string& type_name() const;  // "Linear"
  // The text inside the parentheses when printed: "in_features=784, out_features=10, bias=true".
  virtual std::string extra_repr() const { return ""; }

  // Registers a parameter (a float32 leaf; requires_grad is set) and returns it.
  Tensor register_parameter(const std::string& name, Tensor value, bool requires_grad = true);
  // Registers a buffer (any dtype, never requiring grad) and returns it.
  Tensor register_buffer(const std::string& name, Tensor value);
  // Registers a child module and returns it: a shared_ptr as given, or for a module passed by
  // value a handle to the registered module (Note [Modules are handles]).
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    add_child(name, module);
    return module;
  }
  template <class M>
  requires std::is_base_of_v<Module, std::decay_t<M>> std::decay_t<M> register_module(
      const std::string& name, M&& module) {
    auto held = std::make_shared<std::decay_t<M>>(std::forward<M>(module));
    add_child(name, held);
    return *held;
  }

 private:
  struct State;
  void add_child(const std::string& name, std::shared_ptr<Module> module);
  State& state() const;

  std::shared_ptr<State> state_;
};

// Prints the module tree as PyTorch does:
// Sequential(
//   (0): Flatten(start_dim=1, end_dim=-1)
//   (1): Linear(in_features=784, out_features=10, bias=true)
// )
std::ostream& operator<<(std::ostream& out, const Module& module);

}  // namespace ember::nn
