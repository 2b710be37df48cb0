// Elementwise ops with broadcasting, differentiable: each computes with its ember::core function
// (core/src/ops/elementwise.cpp) and records its backward right below. And the copies that keep
// the graph: clone and contiguous.
#include <ember/autograd/node.h>
#include <ember/autograd/ops.h>

namespace ember {

using autograd::Grads;
using autograd::SavedTensor;

// d(a+b) = da + db; each gradient summed back over the dims it was broadcast along.
Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = core::add(a, b);
  if (autograd::needs_graph({&a, &b})) {
    autograd::record(
        "AddBackward", {a, b}, out,
        [sa = a.sizes(), sb = b.sizes()](const Tensor& g, const std::vector<bool>& needs) {
          return Grads{needs[0] ? autograd::sum_to(g, sa) : Tensor(),
                       needs[1] ? autograd::sum_to(g, sb) : Tensor()};
        });
  }
  return out;
}

// d(a-b) = da - db.
Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = core::sub(a, b);
  if (autograd::needs_graph({&a, &b})) {
    autograd::record(
        "SubBackward", {a, b}, out,
        [sa = a.sizes(), sb = b.sizes()](const Tensor& g, const std::vector<bool>& needs) {
          return Grads{needs[0] ? autograd::sum_to(g, sa) : Tensor(),
                       needs[1] ? neg(autograd::sum_to(g, sb)) : Tensor()};
        });
  }
  return out;
}

// d(a*b) = b da + a db.
Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = core::mul(a, b);
  if (autograd::needs_graph({&a, &b})) {
    autograd::record("MulBackward", {a, b}, out,
                     [sa = SavedTensor(a), sb = SavedTensor(b)](const Tensor& g,
                                                                const std::vector<bool>& needs) {
                       Tensor av = sa.get("mul"), bv = sb.get("mul");
                       return Grads{needs[0] ? autograd::sum_to(g * bv, av.sizes()) : Tensor(),
                                    needs[1] ? autograd::sum_to(g * av, bv.sizes()) : Tensor()};
                     });
  }
  return out;
}

// d(a/b) = da / b - (a / b^2) db. True division, as PyTorch: integers are divided as float32.
Tensor div(const Tensor& a, const Tensor& b) {
  Tensor out = core::div(a, b);
  if (autograd::needs_graph({&a, &b})) {
    autograd::record(
        "DivBackward", {a, b}, out,
        [sa = SavedTensor(a), sb = SavedTensor(b)](const Tensor& g,
                                                   const std::vector<bool>& needs) {
          Tensor av = sa.get("div"), bv = sb.get("div");
          return Grads{needs[0] ? autograd::sum_to(g / bv, av.sizes()) : Tensor(),
                       needs[1] ? autograd::sum_to(neg(g * av / (bv * bv)), bv.sizes()) : Tensor()};
        });
  }
  return out;
}

// d(-a) = -da.
Tensor neg(const Tensor& a) {
  Tensor out = core::neg(a);
  if (autograd::needs_graph({&a})) {
    autograd::record("NegBackward", {a}, out,
                     [](const Tensor& g, const std::vector<bool>&) { return Grads{neg(g)}; });
  }
  return out;
}

// d exp(a) = exp(a) da: the output is saved, not the input.
Tensor exp(const Tensor& a) {
  Tensor out = core::exp(a);
  if (autograd::needs_graph({&a})) {
    autograd::record("ExpBackward", {a}, out,
                     [saved = SavedTensor(out)](const Tensor& g, const std::vector<bool>&) {
                       return Grads{g * saved.get("exp")};
                     });
  }
  return out;
}

// d log(a) = da / a.
Tensor log(const Tensor& a) {
  Tensor out = core::log(a);
  if (autograd::needs_graph({&a})) {
    autograd::record("LogBackward", {a}, out,
                     [saved = SavedTensor(a)](const Tensor& g, const std::vector<bool>&) {
                       return Grads{g / saved.get("log")};
                     });
  }
  return out;
}

Tensor Tensor::exp() const {
  return ember::exp(*this);
}
Tensor Tensor::log() const {
  return ember::log(*this);
}

Tensor operator+(const Tensor& a, const Tensor& b) {
  return add(a, b);
}
Tensor operator-(const Tensor& a, const Tensor& b) {
  return sub(a, b);
}
Tensor operator*(const Tensor& a, const Tensor& b) {
  return mul(a, b);
}
Tensor operator/(const Tensor& a, const Tensor& b) {
  return div(a, b);
}
Tensor operator-(const Tensor& a) {
  return neg(a);
}

// A number on one side becomes a 0-d tensor of the promoted dtype (core::number_operands), which
// takes no gradient.
#define EMBER_NUMBER_OPS(name, sym)                         \
  Tensor operator sym(const Tensor& a, const Scalar& b) {   \
    const auto [x, y] = core::number_operands(a, b, #name); \
    return name(x, y);                                      \
  }                                                         \
  Tensor operator sym(const Scalar& a, const Tensor& b) {   \
    const auto [x, y] = core::number_operands(a, b, #name); \
    return name(x, y);                                      \
  }                                                         \
  Tensor name(const Tensor& a, const Scalar& b) {           \
    return a sym b;                                         \
  }
EMBER_NUMBER_OPS(add, +)
EMBER_NUMBER_OPS(sub, -)
EMBER_NUMBER_OPS(mul, *)
EMBER_NUMBER_OPS(div, /)
#undef EMBER_NUMBER_OPS

// --- Copies ---

// Gradient of a copy is the gradient itself.
Tensor Tensor::clone() const {
  Tensor out = core::clone(*this);
  if (autograd::needs_graph({this})) {
    autograd::record("CloneBackward", {*this}, out,
                     [](const Tensor& g, const std::vector<bool>&) { return Grads{g}; });
  }
  return out;
}

Tensor Tensor::contiguous() const {
  return is_contiguous() ? *this : clone();
}

}  // namespace ember
