/// \file
/// ember::nn::Sequential: runs its modules one after the other.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include <ember/core/error.h>
#include <ember/nn/module.h>

namespace ember::nn {

namespace detail {
template <class T>
struct IsSharedPtr : std::false_type {};
template <class T>
struct IsSharedPtr<std::shared_ptr<T>> : std::true_type {};
}  // namespace detail

/// A chain of modules, as torch.nn.Sequential: forward(x) = m_k(...m_1(m_0(x))).
///
/// Modules are named "0", "1", ... in order, so parameters are "0.weight", "1.bias", ...
/// \code
///   Sequential net(Flatten(), Linear(784, 10));     // modules by value (moved into shared_ptrs)
///   auto fc = std::make_shared<Linear>(784, 10);
///   Sequential net2(Flatten(), fc);                 // or shared, to keep a handle to a layer
///   net.push_back(ReLU());
/// \endcode
/// A single Sequential argument copies it (sharing its modules); to nest one Sequential in
/// another, pass a std::shared_ptr<Sequential>. An empty Sequential returns its input, as
/// PyTorch.
///
/// The order of the random draws: C++ constructs the arguments of one call in an order it leaves
/// unspecified (GCC: the last first), so in `Sequential(Linear(784, 256), Linear(256, 10))` the
/// second Linear may draw its default init before the first. Python's order, which PyTorch's
/// `torch.manual_seed(s)` numbers follow (Note [PyTorch's draws]), takes one push_back per
/// statement: `net.push_back(Linear(784, 256)); net.push_back(Linear(256, 10));`.
class Sequential : public Module {
 public:
  /// An empty chain.
  Sequential() : Module("Sequential") {}
  /// A chain of `modules`, each appended with push_back(module).
  template <class... M>
  requires(sizeof...(M) > 0 &&
           !(sizeof...(M) == 1 && (std::is_same_v<std::decay_t<M>, Sequential> &&
                                   ...))) explicit Sequential(M&&... modules)
      : Sequential() {
    (push_back(std::forward<M>(modules)), ...);
  }

  /// Appends a module (by value or as a std::shared_ptr to a Module subclass), named by its index.
  /// A type that is not a Module fails to compile.
  template <class M>
  void push_back(M&& module) {
    push_back(std::to_string(size()), std::forward<M>(module));
  }
  /// \overload
  /// Appends the module under a chosen name (no dots).
  /// \throws ember::Error for a name that is empty, holds a dot or is already taken.
  template <class M>
  void push_back(const std::string& name, M&& module) {
    using T = std::decay_t<M>;
    if constexpr (detail::IsSharedPtr<T>::value) {
      static_assert(std::is_base_of_v<Module, typename T::element_type>,
                    "Sequential::push_back: not a Module");
      register_module(name, std::static_pointer_cast<Module>(module));
    } else {
      static_assert(std::is_base_of_v<Module, T>, "Sequential::push_back: not a Module");
      register_module(
          name, std::static_pointer_cast<Module>(std::make_shared<T>(std::forward<M>(module))));
    }
  }

  std::size_t size() const { return named_children().size(); }  ///< The number of modules.
  bool empty() const { return size() == 0; }                    ///< True without modules.
  /// The i-th module.
  /// \throws ember::Error if i >= size().
  std::shared_ptr<Module> operator[](std::size_t i) const;
  /// The i-th module as an M (e.g. net.at<Linear>(1)->weight).
  /// \throws ember::Error if i >= size() or the module is not an M (naming its type).
  template <class M>
  std::shared_ptr<M> at(std::size_t i) const {
    auto typed = std::dynamic_pointer_cast<M>((*this)[i]);
    EMBER_CHECK(typed != nullptr, "Sequential::at: module ", i, " is a ", (*this)[i]->type_name(),
                ", not the type asked for");
    return typed;
  }

  /// Feeds x through every module in order; shapes and dtypes are the modules'. A Sigmoid
  /// directly followed by an AvgPool2d(2) runs as one functional::sigmoid_avg_pool2d (bitwise
  /// the same results and gradients, one graph node "SigmoidAvgPool2DBackward" for the two).
  /// \throws ember::Error (or anything else) as its modules throw.
  Tensor forward(const Tensor& x) override;
};

}  // namespace ember::nn
