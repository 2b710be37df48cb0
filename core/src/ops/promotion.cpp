// Type promotion (torch.result_type) and the ops with a plain number on one side.
//
// Note [Promotion tiers]: PyTorch ranks operands in three tiers: tensors with dims, 0-d tensors,
// and plain numbers ("wrapped numbers"). The dtype comes from the highest tier present; a lower
// tier changes it only when its category is higher (float above integer), and then its own dtype
// wins (a float number counts as the default dtype, float32). So int64 [3] * 0.5 -> float32,
// uint8 [3] + 0-d int64 -> uint8, 0-d int64 + 0-d uint8 -> int64, uint8 [3] + 300 -> uint8.
#include <optional>
#include <string_view>

#include <ember/core/checked.h>
#include <ember/core/grad_mode.h>
#include <ember/core/ops.h>

namespace ember {

bool is_floating_point(Dtype dtype) {
  return dtype == kFloat32;
}

Dtype promote_types(Dtype a, Dtype b) {
  if (a == kFloat32 || b == kFloat32) return kFloat32;
  if (a == kInt64 || b == kInt64) return kInt64;
  return kUInt8;
}

bool can_cast(Dtype from, Dtype to) {
  return !(is_floating_point(from) && !is_floating_point(to));
}

namespace {

using Tier = std::optional<Dtype>;  // empty: no operand in this tier (or only a bool number)

Tier join(Tier a, Dtype b) {
  return a ? promote_types(*a, b) : b;
}

// PyTorch's combine_categories: the higher tier wins unless the lower one is float and it isn't.
Tier combine(Tier higher, Tier lower) {
  if (!higher) return lower;
  if (!lower || is_floating_point(*higher) || !is_floating_point(*lower)) return higher;
  return promote_types(*higher, *lower);
}

void tier_of(const Tensor& t, Tier& dims, Tier& zero_dim) {
  Tier& tier = t.dim() > 0 ? dims : zero_dim;
  tier = join(tier, t.dtype());
}

// The dtype a plain number has as an operand: a bool never raises a tensor's category.
Tier number_dtype(const Scalar& s) {
  switch (s.kind()) {
    case Scalar::Kind::Float:
      return kFloat32;
    case Scalar::Kind::Int:
      return kInt64;
    case Scalar::Kind::Bool:
      break;
  }
  return {};
}

}  // namespace

namespace core {
// Integers keep every bit and wrap into uint8 (a well-defined conversion); the float case of
// uint8 is unreachable from arithmetic (a float number promotes to float32).
Tensor number_tensor(const Scalar& s, Dtype dtype) {
  Tensor t = empty({}, dtype);
  switch (dtype) {
    case kFloat32:
      *t.data_ptr<float>() = static_cast<float>(s.to_double());
      break;
    case kInt64:
      *t.data_ptr<std::int64_t>() = s.to_int64();
      break;
    case kUInt8:
      *t.data_ptr<std::uint8_t>() = static_cast<std::uint8_t>(s.to_int64());
      break;
  }
  return t;
}

Tensor fill_value(const Scalar& value, Dtype dtype, const char* op) {
  check_value_fits(value, dtype, op);
  return number_tensor(value, dtype);
}
}  // namespace core

Dtype result_type(const Tensor& a, const Tensor& b) {
  EMBER_CHECK(a.defined() && b.defined(), "result_type: an input is undefined");
  Tier dims, zero_dim;
  tier_of(a, dims, zero_dim);
  tier_of(b, dims, zero_dim);
  return *combine(dims, zero_dim);
}

Dtype result_type(const Tensor& a, const Scalar& b) {
  EMBER_CHECK(a.defined(), "result_type: the tensor is undefined");
  Tier dims, zero_dim;
  tier_of(a, dims, zero_dim);
  return *combine(dims, combine(zero_dim, number_dtype(b)));
}

std::ostream& operator<<(std::ostream& out, const Scalar& s) {
  switch (s.kind()) {
    case Scalar::Kind::Bool:
      return out << (s.to_int64() != 0 ? "true" : "false");
    case Scalar::Kind::Int:
      return out << s.to_int64();
    case Scalar::Kind::Float:
      break;
  }
  return out << s.to_double();
}

// --- A number on one side: the number becomes a 0-d tensor of the promoted dtype ---

namespace {
// PyTorch refuses `x - True` ("Subtraction, the `-` operator, with a bool tensor is not
// supported"); so do we, rather than pick a meaning.
void check_number(const Scalar& n, const char* op) {
  EMBER_CHECK(!(n.kind() == Scalar::Kind::Bool && std::string_view(op) == "sub"), op,
              ": subtraction with a bool number is not supported (use an int, or logical ops)");
}
// div is true division: integers go straight to float32, so the number is never wrapped into
// uint8 first (torch.tensor([3], dtype=torch.uint8) / 300 is 0.01, not 3 / 44).
Dtype number_op_type(const Tensor& t, const Scalar& n, const char* op) {
  const Dtype type = result_type(t, n);
  return std::string_view(op) == "div" ? kFloat32 : type;
}
}  // namespace

namespace core {
std::pair<Tensor, Tensor> number_operands(const Tensor& a, const Scalar& b, const char* op) {
  check_number(b, op);
  const Dtype type = number_op_type(a, b, op);
  return {a.to(type), core::number_tensor(b, type)};
}
std::pair<Tensor, Tensor> number_operands(const Scalar& a, const Tensor& b, const char* op) {
  check_number(a, op);
  const Dtype type = number_op_type(b, a, op);
  return {core::number_tensor(a, type), b.to(type)};
}
}  // namespace core

// Comparisons with a number: graph-free, so they live here with their ember:: spelling.
#define EMBER_NUMBER_OPS(name, sym)                         \
  Tensor operator sym(const Tensor& a, const Scalar& b) {   \
    const auto [x, y] = core::number_operands(a, b, #name); \
    return name(x, y);                                      \
  }                                                         \
  Tensor operator sym(const Scalar& a, const Tensor& b) {   \
    const auto [x, y] = core::number_operands(a, b, #name); \
    return name(x, y);                                      \
  }
EMBER_NUMBER_OPS(eq, ==)
EMBER_NUMBER_OPS(ne, !=)
EMBER_NUMBER_OPS(lt, <)
EMBER_NUMBER_OPS(le, <=)
EMBER_NUMBER_OPS(gt, >)
EMBER_NUMBER_OPS(ge, >=)
#undef EMBER_NUMBER_OPS

// Arithmetic with a number, graph-free (autograd/src/ops/elementwise.cpp has the differentiable
// operators).
namespace core {
#define EMBER_NUMBER_OPS(name)                        \
  Tensor name(const Tensor& a, const Scalar& b) {     \
    const auto [x, y] = number_operands(a, b, #name); \
    return name(x, y);                                \
  }                                                   \
  Tensor name(const Scalar& a, const Tensor& b) {     \
    const auto [x, y] = number_operands(a, b, #name); \
    return name(x, y);                                \
  }
EMBER_NUMBER_OPS(add)
EMBER_NUMBER_OPS(sub)
EMBER_NUMBER_OPS(mul)
EMBER_NUMBER_OPS(div)
#undef EMBER_NUMBER_OPS
}  // namespace core

// --- Compound assignment: compute out of place, check, write back ---

namespace {
// The check runs before the math, so a refused op computes nothing. ember records no graph for
// in-place ops: one whose result would need a gradient (x += w with w requiring grad) is refused
// rather than silently cutting the graph. The result is computed by core, which records nothing:
// it would require grad exactly when `other` (the operand besides self, which was checked) does.
template <class F>
Tensor& assign(Tensor& self, const char* op, const Tensor* other, F compute) {
  EMBER_CHECK(self.defined(), op, ": the tensor is undefined");
  EMBER_CHECK(!(autograd::grad_enabled() && self.requires_grad()), op,
              ": in-place change of a tensor that requires grad",
              self.is_leaf() ? " (a leaf: update it inside a NoGradGuard)"
                             : " (an op's output: use the out-of-place op)");
  const Tensor result = compute();
  EMBER_CHECK(!(autograd::grad_enabled() && other != nullptr && other->requires_grad()), op,
              ": the result requires grad but in-place ops record no graph (use the out-of-place "
              "op, or a NoGradGuard)");
  EMBER_CHECK(can_cast(result.dtype(), self.dtype()), op, ": result type ", result.dtype(),
              " can't be cast to the desired output type ", self.dtype(), " (shape ",
              to_string(self.sizes()), ")");
  EMBER_CHECK(result.sizes() == self.sizes(), op, ": the result has shape ",
              to_string(result.sizes()), ", which doesn't match the tensor's shape ",
              to_string(self.sizes()), " (in-place ops cannot broadcast their destination)");
  return self.copy_(result);
}
}  // namespace

#define EMBER_COMPOUND(sym, name, op)                                \
  Tensor& operator sym##=(Tensor& a, const Tensor& b) {              \
    return assign(a, op, &b, [&] { return core::name(a, b); });      \
  }                                                                  \
  Tensor& operator sym##=(Tensor& a, const Scalar& b) {              \
    return assign(a, op, nullptr, [&] { return core::name(a, b); }); \
  }
EMBER_COMPOUND(+, add, "add_")
EMBER_COMPOUND(-, sub, "sub_")
EMBER_COMPOUND(*, mul, "mul_")
EMBER_COMPOUND(/, div, "div_")
#undef EMBER_COMPOUND

// `other * alpha` would require grad when other does: the check of assign() sees other.
Tensor& Tensor::sub_(const Tensor& other, double alpha) {
  if (alpha == 1.0) return *this -= other;
  const Tensor scaled = core::mul(other, alpha);
  return assign(*this, "sub_", &other, [&] { return core::sub(*this, scaled); });
}
Tensor& Tensor::mul_(const Tensor& other) {
  return *this *= other;
}
Tensor& Tensor::div_(const Tensor& other) {
  return *this /= other;
}
Tensor& Tensor::div_(double divisor) {
  return *this /= divisor;
}

}  // namespace ember
