// ember::nn::Module: the base of every layer, with named parameters and children.
#pragma once

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include <ember/core/tensor.h>

namespace ember::nn {

// A layer or a container of layers, as torch.nn.Module: parameters and children are registered
// by name in order; named_parameters() joins names with dots ("0.weight").
class Module {
 public:
  explicit Module(std::string type_name) : type_name_(std::move(type_name)) {}
  virtual ~Module() = default;
  Module(const Module&) = default;
  Module& operator=(const Module&) = default;
  Module(Module&&) = default;
  Module& operator=(Module&&) = default;

  // Modules that map one tensor to one tensor override this (Sequential chains them). Others,
  // such as losses, offer forward(input, target) instead; calling this one on them throws.
  virtual Tensor forward(const Tensor& input);
  Tensor operator()(const Tensor& input) { return forward(input); }

  std::vector<Tensor> parameters(bool recurse = true) const;
  std::vector<std::pair<std::string, Tensor>> named_parameters(bool recurse = true) const;
  std::vector<std::shared_ptr<Module>> children() const;
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& named_children() const {
    return children_;
  }

  void train(bool on = true);  // recursively
  void eval() { train(false); }
  bool is_training() const { return training_; }
  // Clears every parameter's grad: to none (the default, as PyTorch 2) or to zeros.
  void zero_grad(bool set_to_none = true);
  // Calls fn on every child (recursively, depth first) and then on this module, as PyTorch.
  Module& apply(const std::function<void(Module&)>& fn);

  const std::string& type_name() const { return type_name_; }  // "Linear"
  // The text inside the parentheses when printed: "in_features=784, out_features=10, bias=true".
  virtual std::string extra_repr() const { return ""; }

 protected:
  // Registers a parameter (a float32 leaf; requires_grad is set) and returns it.
  Tensor register_parameter(const std::string& name, Tensor value, bool requires_grad = true);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    add_child(name, module);
    return module;
  }

 private:
  void add_child(const std::string& name, std::shared_ptr<Module> module);

  std::string type_name_;
  bool training_ = true;
  std::vector<std::pair<std::string, Tensor>> parameters_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
};

// Prints the module tree as PyTorch does:
// Sequential(
//   (0): Flatten(start_dim=1, end_dim=-1)
//   (1): Linear(in_features=784, out_features=10, bias=true)
// )
std::ostream& operator<<(std::ostream& out, const Module& module);

}  // namespace ember::nn
