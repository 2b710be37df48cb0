// ember::nn::Module: registration, traversal and printing. See module.h.
#include <ember/nn/module.h>

#include <set>
#include <sstream>

#include <ember/core/error.h>

namespace ember::nn {

namespace {

// A name is one path component: "weight", "0". Dots would make dotted names ambiguous.
void check_name(const std::string& owner, const std::string& name, const char* what) {
  EMBER_CHECK(!name.empty(), owner, ": ", what, " name must not be empty");
  EMBER_CHECK(name.find('.') == std::string::npos, owner, ": ", what, " name '", name,
              "' must not contain '.'");
}

// Appends this module's parameters and (if recurse) its descendants', pre-order as PyTorch's
// named_parameters(), dropping tensors already seen (a module shared twice yields its
// parameters once, so an optimizer never updates one twice).
void collect(const Module& module, const std::string& prefix, bool recurse,
             std::set<const TensorImpl*>& seen, std::set<const Module*>& seen_modules,
             std::vector<std::pair<std::string, Tensor>>& out);

}  // namespace

Tensor Module::forward(const Tensor& /*input*/) {
  EMBER_CHECK(false, type_name_,
              ": forward(input) is not defined for this module (it takes other arguments)");
  return {};
}

Tensor Module::register_parameter(const std::string& name, Tensor value, bool requires_grad) {
  check_name(type_name_, name, "parameter");
  EMBER_CHECK(value.defined(), type_name_, ": register_parameter('", name,
              "'): the tensor is undefined");
  EMBER_CHECK(value.dtype() == kFloat32, type_name_, ": register_parameter('", name,
              "'): parameters must be float32, got ", dtype_name(value.dtype()));
  for (const auto& [existing, tensor] : parameters_) {
    EMBER_CHECK(existing != name, type_name_, ": parameter '", name, "' is already registered");
  }
  for (const auto& [existing, child] : children_) {
    EMBER_CHECK(existing != name, type_name_, ": '", name, "' is already a submodule");
  }
  // A parameter is a leaf, as torch.nn.Parameter: one computed by an op keeps its data only.
  if (!value.is_leaf()) value = value.detach();
  value.requires_grad_(requires_grad);
  parameters_.emplace_back(name, value);
  return value;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> module) {
  check_name(type_name_, name, "submodule");
  EMBER_CHECK(module != nullptr, type_name_, ": register_module('", name, "'): the module is null");
  EMBER_CHECK(module.get() != this, type_name_, ": register_module('", name,
              "'): a module cannot contain itself");
  for (const auto& [existing, child] : children_) {
    EMBER_CHECK(existing != name, type_name_, ": submodule '", name, "' is already registered");
  }
  for (const auto& [existing, tensor] : parameters_) {
    EMBER_CHECK(existing != name, type_name_, ": '", name, "' is already a parameter");
  }
  children_.emplace_back(name, std::move(module));
}

namespace {

void collect(const Module& module, const std::string& prefix, bool recurse,
             std::set<const TensorImpl*>& seen, std::set<const Module*>& seen_modules,
             std::vector<std::pair<std::string, Tensor>>& out) {
  if (!seen_modules.insert(&module).second) return;
  // Own parameters: Module keeps them private, so read them through a non-recursive view.
  for (auto& [name, tensor] : module.named_parameters(/*recurse=*/false)) {
    if (seen.insert(tensor.impl()).second) out.emplace_back(prefix + name, tensor);
  }
  if (!recurse) return;
  for (const auto& [name, child] : module.named_children()) {
    collect(*child, prefix + name + ".", true, seen, seen_modules, out);
  }
}

}  // namespace

std::vector<std::pair<std::string, Tensor>> Module::named_parameters(bool recurse) const {
  if (!recurse) return parameters_;
  std::vector<std::pair<std::string, Tensor>> out;
  std::set<const TensorImpl*> seen;
  std::set<const Module*> seen_modules;
  collect(*this, "", true, seen, seen_modules, out);
  return out;
}

std::vector<Tensor> Module::parameters(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [name, tensor] : named_parameters(recurse)) out.push_back(tensor);
  return out;
}

std::vector<std::shared_ptr<Module>> Module::children() const {
  std::vector<std::shared_ptr<Module>> out;
  for (const auto& [name, child] : children_) out.push_back(child);
  return out;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

void Module::zero_grad(bool set_to_none) {
  for (Tensor& p : parameters()) {
    if (!p.grad().defined()) continue;
    if (set_to_none) {
      p.mutable_grad() = Tensor();
    } else {
      p.mutable_grad() = p.grad().detach();  // drop any graph, as PyTorch's zero_grad
      Tensor(p.grad()).zero_();
    }
  }
}

Module& Module::apply(const std::function<void(Module&)>& fn) {
  for (auto& [name, child] : children_) child->apply(fn);
  fn(*this);
  return *this;
}

namespace {

// Indents every line after the first by two spaces, as PyTorch's _addindent.
std::string add_indent(const std::string& text) {
  std::string out;
  for (char c : text) {
    out += c;
    if (c == '\n') out += "  ";
  }
  return out;
}

std::string repr(const Module& module) {
  // As torch.nn.Module.__repr__: extra_repr's lines, then "(name): child" lines; a module with
  // one extra line and no children prints on one line.
  std::vector<std::string> lines;
  std::istringstream extra(module.extra_repr());
  for (std::string line; std::getline(extra, line);) lines.push_back(line);
  const std::size_t extra_lines = lines.size();
  for (const auto& [name, child] : module.named_children()) {
    lines.push_back("(" + name + "): " + add_indent(repr(*child)));
  }
  std::string out = module.type_name() + "(";
  if (extra_lines == 1 && lines.size() == 1) {
    out += lines[0];
  } else if (!lines.empty()) {
    out += "\n";
    for (const std::string& line : lines) out += "  " + line + "\n";
  }
  return out + ")";
}

}  // namespace

std::ostream& operator<<(std::ostream& out, const Module& module) {
  return out << repr(module);
}

}  // namespace ember::nn
