// Custom autograd functions, as libtorch's torch::autograd::Function<T>: a user-defined op with
// its own forward and backward.
//
//   struct MyExp : ember::autograd::Function<MyExp> {
//     static Tensor forward(AutogradContext* ctx, const Tensor& x) {
//       Tensor y = x.exp();
//       ctx->save_for_backward({y});
//       return y;
//     }
//     static std::vector<Tensor> backward(AutogradContext* ctx, std::vector<Tensor> grad_out) {
//       Tensor y = ctx->get_saved_variables()[0];
//       return {grad_out[0] * y};  // d exp(x) / dx = exp(x)
//     }
//   };
//   Tensor y = MyExp::apply(x);
#pragma once

#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include <ember/autograd/grad_mode.h>
#include <ember/autograd/node.h>
#include <ember/core/error.h>
#include <ember/core/tensor.h>

namespace ember::autograd {

// What forward leaves for backward: tensors (kept without their graph, and checked against
// in-place changes, as every op's saved tensors) and plain numbers.
class AutogradContext {
 public:
  void save_for_backward(const std::vector<Tensor>& tensors) {
    saved_.clear();
    for (const Tensor& t : tensors) saved_.emplace_back(t);
  }
  // Throws if a saved tensor was changed in place after forward.
  std::vector<Tensor> get_saved_variables() const {
    std::vector<Tensor> out;
    for (const SavedTensor& s : saved_) out.push_back(s.get("custom function"));
    return out;
  }
  std::map<std::string, double> saved_data;  // e.g. ctx->saved_data["alpha"] = 0.5

 private:
  std::vector<SavedTensor> saved_;
};

namespace detail {
std::string backward_name(const std::type_info& type);  // "MyExp" -> "MyExpBackward"
}

// Derive as `struct Op : Function<Op>` and define
//   static Tensor forward(AutogradContext* ctx, args...);  // any mix of Tensors and other values
//   static std::vector<Tensor> backward(AutogradContext* ctx, std::vector<Tensor> grad_outputs);
// backward returns one gradient per forward argument, in order (an undefined Tensor for an
// argument that is not a tensor or needs no gradient). apply() runs forward without recording
// its inner ops, then connects the output to the tensor arguments through one node.
template <class T>
struct Function {
  template <class... Args>
  static Tensor apply(Args&&... args) {
    auto ctx = std::make_shared<AutogradContext>();
    std::vector<Tensor> inputs;         // the tensor arguments, in order
    std::vector<std::size_t> position;  // the argument index of each
    std::size_t index = 0;
    (
        [&](const auto& arg) {
          if constexpr (std::is_same_v<std::decay_t<decltype(arg)>, Tensor>) {
            inputs.push_back(arg);
            position.push_back(index);
          }
          ++index;
        }(args),
        ...);
    const std::size_t arg_count = index;
    Tensor out;
    {
      NoGradGuard guard;
      out = T::forward(ctx.get(), std::forward<Args>(args)...);
    }
    EMBER_CHECK(out.defined(), detail::backward_name(typeid(T)),
                ": forward returned an undefined tensor");
    if (!needs_graph(inputs)) return out;
    out = out.detach();  // a fresh output for the new node (forward may return an input)
    static const std::string name = detail::backward_name(typeid(T));
    record(name.c_str(), inputs, out,
           [ctx, position, arg_count](const Tensor& grad_out, const std::vector<bool>& needs) {
             std::vector<Tensor> grads = T::backward(ctx.get(), {grad_out});
             EMBER_CHECK(grads.size() == arg_count, name, ": backward returned ", grads.size(),
                         " gradients, expected ", arg_count, " (one per forward argument)");
             std::vector<Tensor> out_grads;
             for (std::size_t i = 0; i < position.size(); ++i) {
               Tensor g = needs[i] ? grads[position[i]] : Tensor();
               out_grads.push_back(g);
             }
             return out_grads;
           });
    return out;
  }
};

}  // namespace ember::autograd
