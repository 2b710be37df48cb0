// ember::nn::Module: registration, traversal and printing. See module.h.
#include <ember/nn/module.h>

#include <cxxabi.h>

#include <cstdlib>
#include <set>
#include <sstream>
#include <typeinfo>

#include <ember/autograd/grad_mode.h>
#include <ember/core/error.h>

namespace ember::nn {

using detail::concat;

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

struct Module::State {
  std::string type_name;  // empty until first asked: then the class name (see type_name())
  bool training = true;
  std::vector<std::pair<std::string, Tensor>> parameters;
  std::vector<std::pair<std::string, Tensor>> buffers;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children;
};

Module::Module() : state_(std::make_shared<State>()) {}
Module::Module(std::string type_name) : state_(std::make_shared<State>()) {
  state_->type_name = std::move(type_name);
}
Module::Module(std::nullptr_t) {}

namespace {
// "ember::nn::Linear" or "(anonymous namespace)::Net" -> "Linear", "Net".
std::string class_name(const std::type_info& type) {
  int status = 0;
  char* demangled = abi::__cxa_demangle(type.name(), nullptr, nullptr, &status);
  std::string name = status == 0 && demangled ? demangled : type.name();
  std::free(demangled);  // NOLINT: allocated by __cxa_demangle with malloc
  const std::size_t template_start = name.find('<');
  const std::size_t colon = name.rfind("::", template_start);
  return colon == std::string::npos ? name : name.substr(colon + 2);
}
}  // namespace

const std::string& Module::type_name() const {
  if (!state_) {
    thread_local std::string name;
    name = class_name(typeid(*this));
    return name;
  }
  if (state_->type_name.empty()) state_->type_name = class_name(typeid(*this));
  return state_->type_name;
}

Module::State& Module::state() const {
  EMBER_CHECK(state_ != nullptr, type_name(),
              ": this module is an empty holder (made from nullptr); assign it first, e.g. "
              "fc = register_module(\"fc\", nn::Linear(784, 64))");
  return *state_;
}

bool Module::is_training() const {
  return state().training;
}

const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& Module::named_children() const {
  return state().children;
}

Tensor Module::register_buffer(const std::string& name, Tensor value) {
  check_name(type_name(), name, "buffer");
  EMBER_CHECK(value.defined(), type_name(), ": register_buffer('", name,
              "'): the tensor is undefined");
  for (const auto& [existing, tensor] : state().buffers)
    EMBER_CHECK(existing != name, type_name(), ": buffer '", name, "' is already registered");
  for (const auto& [existing, tensor] : state().parameters)
    EMBER_CHECK(existing != name, type_name(), ": '", name, "' is already a parameter");
  value = value.detach();
  state().buffers.emplace_back(name, value);
  return value;
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers(bool recurse) const {
  if (!recurse) return state().buffers;
  std::vector<std::pair<std::string, Tensor>> out;
  for (const auto& [prefix, module] : named_modules())
    for (const auto& [name, tensor] : module->state().buffers)
      out.emplace_back(prefix.empty() ? name : prefix + "." + name, tensor);
  return out;
}

std::vector<Tensor> Module::buffers(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [name, tensor] : named_buffers(recurse)) out.push_back(tensor);
  return out;
}

std::vector<std::pair<std::string, std::shared_ptr<Module>>> Module::named_modules() const {
  // Pre-order with an explicit stack; a module reachable twice is listed once (as PyTorch).
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> out;
  std::set<const State*> seen;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> stack{
      {"", std::shared_ptr<Module>(std::shared_ptr<Module>(), const_cast<Module*>(this))}};
  while (!stack.empty()) {
    auto [prefix, module] = std::move(stack.back());
    stack.pop_back();
    if (!seen.insert(module->state_.get()).second) continue;
    const auto& children = module->state().children;
    for (auto it = children.rbegin(); it != children.rend(); ++it)
      stack.emplace_back(prefix.empty() ? it->first : prefix + "." + it->first, it->second);
    out.emplace_back(std::move(prefix), std::move(module));
  }
  return out;
}

std::vector<std::shared_ptr<Module>> Module::modules() const {
  std::vector<std::shared_ptr<Module>> out;
  for (auto& [name, module] : named_modules()) out.push_back(module);
  return out;
}

Tensor Module::forward(const Tensor& /*input*/) {
  EMBER_CHECK(false, type_name(),
              ": forward(input) is not defined for this module (it takes other arguments)");
  return {};
}

Tensor Module::register_parameter(const std::string& name, Tensor value, bool requires_grad) {
  check_name(type_name(), name, "parameter");
  EMBER_CHECK(value.defined(), type_name(), ": register_parameter('", name,
              "'): the tensor is undefined");
  EMBER_CHECK(value.dtype() == kFloat32, type_name(), ": register_parameter('", name,
              "'): parameters must be float32, got ", dtype_name(value.dtype()));
  for (const auto& [existing, tensor] : state().parameters) {
    EMBER_CHECK(existing != name, type_name(), ": parameter '", name, "' is already registered");
  }
  for (const auto& [existing, child] : state().children) {
    EMBER_CHECK(existing != name, type_name(), ": '", name, "' is already a submodule");
  }
  // A parameter is a leaf, as torch.nn.Parameter: one computed by an op keeps its data only.
  if (!value.is_leaf()) value = value.detach();
  value.requires_grad_(requires_grad);
  state().parameters.emplace_back(name, value);
  return value;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> module) {
  check_name(type_name(), name, "submodule");
  EMBER_CHECK(module != nullptr, type_name(), ": register_module('", name,
              "'): the module is null");
  EMBER_CHECK(module.get() != this, type_name(), ": register_module('", name,
              "'): a module cannot contain itself");
  for (const auto& [existing, child] : state().children) {
    EMBER_CHECK(existing != name, type_name(), ": submodule '", name, "' is already registered");
  }
  for (const auto& [existing, tensor] : state().parameters) {
    EMBER_CHECK(existing != name, type_name(), ": '", name, "' is already a parameter");
  }
  state().children.emplace_back(name, std::move(module));
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
  if (!recurse) return state().parameters;
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

namespace {

// Calls fn(prefix, module) on `module` and every descendant, pre-order, following children as
// registered (a module registered twice is visited under both names, as PyTorch's state_dict and
// load_state_dict recursion); a module that contains itself further down is an error, not a hang.
void visit_with_prefix(const Module& module, const std::string& prefix,
                       std::vector<const Module*>& path,
                       const std::function<void(const std::string&, const Module&)>& fn) {
  for (const Module* ancestor : path)
    EMBER_CHECK(ancestor != &module, "state_dict: module '", prefix,
                "' contains itself (a cycle of submodules)");
  path.push_back(&module);
  fn(prefix, module);
  for (const auto& [name, child] : module.named_children())
    visit_with_prefix(*child, prefix + name + ".", path, fn);
  path.pop_back();
}

void visit_with_prefix(const Module& module,
                       const std::function<void(const std::string&, const Module&)>& fn) {
  std::vector<const Module*> path;
  visit_with_prefix(module, "", path, fn);
}

// "[256, 784]", for state-dict messages.
std::string shape_text(const Shape& shape) {
  std::ostringstream out;
  out << shape;
  return out.str();
}

// '"a", "b"', as PyTorch joins key lists.
std::string quoted_list(const std::vector<std::string>& keys) {
  std::string out;
  for (const std::string& key : keys) out += (out.empty() ? "\"" : ", \"") + key + "\"";
  return out;
}

}  // namespace

StateDict Module::state_dict() const {
  StateDict dict;
  visit_with_prefix(*this, [&](const std::string& prefix, const Module& module) {
    for (const auto& [name, tensor] : module.state().parameters)
      dict.insert(prefix + name, tensor.detach());
    for (const auto& [name, tensor] : module.state().buffers)
      dict.insert(prefix + name, tensor.detach());
  });
  return dict;
}

// PyTorch 1.13's Module.load_state_dict, module by module in pre-order: each of the module's
// parameters and buffers is looked up under prefix + name (absent: missing; another shape: a size
// mismatch), and each key of the dict under the module's prefix whose next name component is
// neither a local tensor nor a child is unexpected. Unlike PyTorch, nothing is copied until all
// of it has passed, conversions to the tensors' dtypes included.
// (PyTorch's BatchNorm also fills in a num_batches_tracked that a checkpoint older than PyTorch
// 0.4.1 lacks, judging by the version in the dict's metadata; a safetensors file has no such
// version and files written today hold the buffer, so ember reports it missing like any other.)
IncompatibleKeys Module::load_state_dict(const StateDict& dict, bool strict) {
  IncompatibleKeys result;
  std::vector<std::string> errors;
  std::vector<std::pair<Tensor, Tensor>> copies;  // (destination, source in its dtype)
  visit_with_prefix(*this, [&](const std::string& prefix, const Module& module) {
    std::set<std::string> local;
    auto check = [&](const std::string& name, const Tensor& destination) {
      local.insert(name);
      const std::string key = prefix + name;
      const Tensor* source = dict.find(key);
      if (source == nullptr) {
        result.missing_keys.push_back(key);
        return;
      }
      if (!source->defined()) {
        errors.push_back(concat("While copying the parameter named \"", key,
                                "\", expected a defined tensor from checkpoint"));
        return;
      }
      if (source->sizes() != destination.sizes()) {
        errors.push_back(concat("size mismatch for ", key, ": copying a param with shape ",
                                shape_text(source->sizes()),
                                " from checkpoint, the shape in current model is ",
                                shape_text(destination.sizes()), "."));
        return;
      }
      try {
        copies.emplace_back(destination, source->detach().to(destination.dtype()));
      } catch (const Error& e) {
        errors.push_back(concat(
            "While copying the parameter named \"", key, "\", whose dimensions in the model are ",
            shape_text(destination.sizes()), " and whose dimensions in the checkpoint are ",
            shape_text(source->sizes()), ", an exception occurred : ('", e.what(), "',)."));
      }
    };
    for (const auto& [name, tensor] : module.state().parameters) check(name, tensor);
    for (const auto& [name, tensor] : module.state().buffers) check(name, tensor);
    std::set<std::string> children;
    for (const auto& [name, child] : module.named_children()) children.insert(name);
    for (const auto& item : dict) {
      const std::string& key = item.key();
      if (key.compare(0, prefix.size(), prefix) != 0) continue;
      const std::string rest = key.substr(prefix.size());
      const std::string first = rest.substr(0, rest.find('.'));  // a tensor or child name
      if (children.count(first) == 0 && local.count(first) == 0)
        result.unexpected_keys.push_back(key);
    }
  });
  if (strict && !result.unexpected_keys.empty())
    errors.insert(
        errors.begin(),
        concat("Unexpected key(s) in state_dict: ", quoted_list(result.unexpected_keys), ". "));
  if (strict && !result.missing_keys.empty())
    errors.insert(errors.begin(),
                  concat("Missing key(s) in state_dict: ", quoted_list(result.missing_keys), ". "));
  if (!errors.empty()) {
    std::string message = concat("Error(s) in loading state_dict for ", type_name(), ":");
    for (const std::string& error : errors) message += "\n\t" + error;
    detail::throw_error(message);
  }
  NoGradGuard no_grad;
  for (auto& [destination, source] : copies) destination.copy_(source);
  return result;
}

std::vector<std::shared_ptr<Module>> Module::children() const {
  std::vector<std::shared_ptr<Module>> out;
  for (const auto& [name, child] : state().children) out.push_back(child);
  return out;
}

void Module::train(bool on) {
  state().training = on;
  for (auto& [name, child] : state().children) child->train(on);
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
  for (auto& [name, child] : state().children) child->apply(fn);
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
