/// \file
/// Custom autograd functions, as libtorch's torch::autograd::Function<T>: a user-defined op with
/// its own forward and backward.
///
/// \code
///   struct MyExp : ember::autograd::Function<MyExp> {
///     static Tensor forward(AutogradContext* ctx, const Tensor& x) {
///       Tensor y = x.exp();
///       ctx->save_for_backward({y});
///       return y;
///     }
///     static std::vector<Tensor> backward(AutogradContext* ctx, std::vector<Tensor> grad_out) {
///       Tensor y = ctx->get_saved_variables()[0];
///       return {grad_out[0] * y};  // d exp(x) / dx = exp(x)
///     }
///   };
///   Tensor y = MyExp::apply(x);
/// \endcode
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

/// What a Function's forward leaves for its backward, as torch::autograd::AutogradContext:
/// tensors (kept without their graph, and checked against in-place changes, as every op's saved
/// tensors) and plain numbers.
class AutogradContext {
 public:
  /// Saves `tensors` for backward (replacing any saved before), each as a SavedTensor.
  void save_for_backward(const std::vector<Tensor>& tensors) {
    saved_.clear();
    for (const Tensor& t : tensors) saved_.emplace_back(t);
  }
  /// The tensors given to save_for_backward, in order.
  /// \throws ember::Error if a saved tensor was changed in place after forward, or the graph was
  ///         freed by an earlier backward.
  std::vector<Tensor> get_saved_variables() const {
    std::vector<Tensor> out;
    for (const SavedTensor& s : saved_) out.push_back(s.get("custom function"));
    return out;
  }
  /// Plain numbers for backward: `ctx->saved_data["alpha"] = 0.5`.
  std::map<std::string, double> saved_data;

 private:
  std::vector<SavedTensor> saved_;
};

namespace detail {
std::string backward_name(const std::type_info& type);  // "MyExp" -> "MyExpBackward"
}

/// The base of a custom autograd function `T` (CRTP), as libtorch's torch::autograd::Function<T>.
///
/// Derive as `struct Op : Function<Op>` and define
///
///     static Tensor forward(AutogradContext* ctx, args...);  // any mix of Tensors and values
///     static std::vector<Tensor> backward(AutogradContext* ctx, std::vector<Tensor> grad_outputs);
///
/// backward returns one gradient per forward argument, in order (an undefined Tensor for an
/// argument that is not a tensor or needs no gradient). grad_outputs holds one gradient, of the
/// output's shape. The node is named after `T`: "OpBackward".
template <class T>
struct Function {
  /// Runs `T::forward(ctx, args...)` without recording its inner ops, then, when grad mode is on
  /// and a tensor argument requires grad, connects the output to the tensor arguments through one
  /// node that calls `T::backward`.
  /// \throws ember::Error when forward returns an undefined tensor, or (during backward) when
  ///         backward returns a number of gradients other than the number of forward arguments.
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
