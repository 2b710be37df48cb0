// Tensors from nested braces, random factories on the default generator, and random fills.
#include <cmath>
#include <limits>
#include <span>

#include <ember/core/checked.h>
#include <ember/core/generator.h>
#include <ember/core/grad_mode.h>
#include <ember/core/ops.h>

#include "ops/dispatch.h"

namespace ember {

namespace {

// The shape of a nested list: [len, shape of the first element...]; every element must have the
// same shape as the first (checked by flatten below, which knows the position).
Shape shape_of(const TensorData& data) {
  Shape shape;
  for (const TensorData* d = &data; d->is_list(); d = &d->list().front()) {
    shape.push_back(static_cast<std::int64_t>(d->list().size()));
    if (d->list().empty()) break;
  }
  return shape;
}

// Appends the numbers in row-major order, checking that each list at depth `depth` has
// shape[depth] elements. `where` is the index path so far, for the error message.
void flatten(const TensorData& data, const Shape& shape, std::size_t depth, Shape& where,
             std::vector<Scalar>& out) {
  const bool want_list = depth < shape.size();
  EMBER_CHECK(data.is_list() == want_list, "tensor: ragged nested list: at index ",
              to_string(where), " expected ",
              want_list ? "a list of " + std::to_string(shape[depth]) : std::string("a number"),
              ", got ", data.is_list() ? "a list" : "a number", " (inferred shape ",
              to_string(shape), ")");
  if (!want_list) {
    out.push_back(data.value());
    return;
  }
  const auto n = static_cast<std::int64_t>(data.list().size());
  EMBER_CHECK(n == shape[depth], "tensor: ragged nested list: at index ", to_string(where),
              " expected a list of ", shape[depth], ", got ", n, " elements (inferred shape ",
              to_string(shape), ")");
  where.push_back(0);
  for (const TensorData& child : data.list()) {
    flatten(child, shape, depth + 1, where, out);
    ++where.back();
  }
  where.pop_back();
}

}  // namespace

Tensor tensor(const TensorData& data, Dtype dtype) {
  const Shape shape = shape_of(data);
  std::vector<Scalar> values;
  Shape where;
  flatten(data, shape, 0, where, values);
  // An integer dtype takes only values it can hold, as torch.tensor([300], dtype=torch.uint8)
  // raises (NaN into int64 was undefined behaviour); float32 rounds 1e39 to inf, as PyTorch.
  if (dtype != kFloat32)
    for (const Scalar& v : values) check_value_fits(v, dtype, "tensor");
  Tensor t = empty(shape, dtype);
  detail::dispatch(dtype, [&]<class T>() {
    T* out = t.data_ptr<T>();
    for (std::size_t i = 0; i < values.size(); ++i)
      out[i] = values[i].is_floating_point() ? static_cast<T>(values[i].to_double())
                                             : static_cast<T>(values[i].to_int64());
  });
  return t;
}

Tensor tensor(const TensorData& data) {
  // float32 if any number is floating (as torch.tensor([1, 2.5])), else int64; bools: uint8.
  bool any_float = false, any_int = false;
  std::vector<const TensorData*> stack{&data};
  while (!stack.empty()) {
    const TensorData* d = stack.back();
    stack.pop_back();
    if (!d->is_list()) {
      any_float |= d->value().kind() == Scalar::Kind::Float;
      any_int |= d->value().kind() == Scalar::Kind::Int;
    }
    for (const TensorData& child : d->list()) stack.push_back(&child);
  }
  if (any_float) return tensor(data, kFloat32);
  if (any_int) return tensor(data, kInt64);
  // Only bools, or no numbers at all: torch.tensor([]) is float32, torch.tensor([True]) bool.
  return tensor(data, numel_of(shape_of(data)) == 0 ? kFloat32 : kUInt8);
}

Tensor rand(const Shape& shape) {
  return rand(shape, default_generator());
}
Tensor randn(const Shape& shape) {
  return randn(shape, default_generator());
}
Tensor randint(std::int64_t low, std::int64_t high, const Shape& shape) {
  return randint(low, high, shape, default_generator());
}
Tensor rand_like(const Tensor& t) {
  return rand(t.sizes());
}
Tensor randn_like(const Tensor& t) {
  return randn(t.sizes());
}

// In place, through a fresh contiguous sample copied in: any strides work, and the numbers come
// in the same row-major order as randn(sizes()).
Tensor& Tensor::normal_(double mean, double std, Generator* gen) {
  EMBER_CHECK(defined(), "normal_: the tensor is undefined");
  EMBER_CHECK(!(autograd::grad_enabled() && requires_grad()),
              "normal_: in-place change of a tensor that requires grad",
              is_leaf() ? " (a leaf: update it inside a NoGradGuard)"
                        : " (an op's output: use the out-of-place op)");
  EMBER_CHECK(dtype() == kFloat32, "normal_: expected a float32 tensor, got ", dtype(),
              " of shape ", to_string(sizes()));
  EMBER_CHECK(std >= 0.0, "normal_: std must be >= 0, got ", std);
  Tensor sample = randn(sizes(), gen ? *gen : default_generator());
  return copy_(core::add(core::mul(sample, std), mean));
}

Tensor& Tensor::uniform_(double from, double to, Generator* gen) {
  EMBER_CHECK(defined(), "uniform_: the tensor is undefined");
  EMBER_CHECK(!(autograd::grad_enabled() && requires_grad()),
              "uniform_: in-place change of a tensor that requires grad",
              is_leaf() ? " (a leaf: update it inside a NoGradGuard)"
                        : " (an op's output: use the out-of-place op)");
  EMBER_CHECK(dtype() == kFloat32, "uniform_: expected a float32 tensor, got ", dtype(),
              " of shape ", to_string(sizes()));
  EMBER_CHECK(from <= to, "uniform_: expects from <= to, got from=", from, " > to=", to);
  // As ATen: the bounds and their distance must be finite floats, and the numbers are drawn in
  // float32 between the rounded bounds (Generator::uniform(from, to)).
  EMBER_CHECK(std::isfinite(from) && std::isfinite(to) &&
                  to - from <= static_cast<double>(std::numeric_limits<float>::max()),
              "uniform_: expects to - from <= the largest float32 (",
              std::numeric_limits<float>::max(), "), but found from=", from, " and to=", to);
  Generator& g = gen ? *gen : default_generator();
  const float lo = static_cast<float>(from), hi = static_cast<float>(to);
  Tensor sample = empty(sizes());
  for (float& v : std::span(sample.data_ptr<float>(), static_cast<std::size_t>(sample.numel())))
    v = g.uniform(lo, hi);
  return copy_(sample);
}

}  // namespace ember
