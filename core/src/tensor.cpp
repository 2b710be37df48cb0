#include <ember/core/tensor.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <span>

#include <ember/core/checked.h>
#include <ember/core/generator.h>

#include "allocator.h"
#include "ops/dispatch.h"
#include "ops/strided.h"

namespace ember {

// --- Storage ---

Storage::Storage(std::size_t bytes) : nbytes(bytes) {
  // Every byte offset into a storage is an int64 (and the allocator rounds sizes up).
  EMBER_CHECK(bytes <= static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max()),
              "Storage: cannot allocate ", bytes, " bytes (more than 2^63 - 1)");
  try {
    data = static_cast<std::byte*>(detail::allocate(bytes));
  } catch (const std::bad_alloc&) {
    throw Error("out of memory: cannot allocate " + std::to_string(bytes) + " bytes");
  }
}

Storage::~Storage() {
  detail::deallocate(data, nbytes);
}

AutogradMeta& TensorImpl::autograd_meta() {
  if (!autograd) autograd = std::make_unique<AutogradMeta>();
  return *autograd;
}

namespace detail {

namespace {
std::atomic<NodeNameFn> registered_node_name{nullptr};
}  // namespace

void register_node_name(NodeNameFn fn) {
  registered_node_name.store(fn, std::memory_order_release);
}

const std::string& node_name(const autograd::Node& node) {
  return registered_node_name.load(std::memory_order_acquire)(node);
}

void check_dtype(const Tensor& t, Dtype want, const char* what) {
  EMBER_CHECK(t.defined(), what, ": the tensor is undefined");
  EMBER_CHECK(t.dtype() == want, what, ": the tensor has dtype ", t.dtype(), ", not ", want);
}

Shape contiguous_strides(const Shape& sizes) {
  Shape strides(sizes.size());
  std::int64_t stride = 1;
  for (std::size_t i = sizes.size(); i-- > 0;) {
    strides[i] = stride;
    // Checked even though the bytes were: with a 0 among the sizes the strides still grow.
    if (i > 0) stride = checked_mul(stride, std::max<std::int64_t>(sizes[i], 1), "strides", sizes);
  }
  return strides;
}

Shape broadcast_strides(const Shape& sizes, const Shape& strides, const Shape& out_sizes) {
  Shape result(out_sizes.size(), 0);
  const std::size_t lead = out_sizes.size() - sizes.size();
  for (std::size_t i = 0; i < sizes.size(); ++i) result[lead + i] = sizes[i] == 1 ? 0 : strides[i];
  return result;
}

// A tensor sharing `base`'s storage with other sizes, strides and offset (no graph).
Tensor make_view(const Tensor& base, Shape sizes, Shape strides, std::int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = base.storage();
  impl->offset = offset;
  impl->sizes = std::move(sizes);
  impl->strides = std::move(strides);
  impl->dtype = base.dtype();
  return Tensor(std::move(impl));
}

}  // namespace detail

// --- Metadata ---

namespace {
const TensorImpl& checked(const std::shared_ptr<TensorImpl>& impl) {
  EMBER_CHECK(impl != nullptr, "the tensor is undefined (default-constructed)");
  return *impl;
}
}  // namespace

const Shape& Tensor::sizes() const {
  return checked(impl_).sizes;
}
const Shape& Tensor::strides() const {
  return checked(impl_).strides;
}
std::int64_t Tensor::size(std::int64_t d) const {
  EMBER_CHECK(dim() > 0, "size: dimension specified as ", d, " but tensor has no dimensions");
  return sizes()[static_cast<std::size_t>(wrap_dim(d, dim(), "size"))];
}
std::int64_t Tensor::dim() const {
  return static_cast<std::int64_t>(sizes().size());
}
std::int64_t Tensor::numel() const {
  return numel_of(sizes());
}
Dtype Tensor::dtype() const {
  return checked(impl_).dtype;
}
std::int64_t Tensor::storage_offset() const {
  return checked(impl_).offset;
}
const std::shared_ptr<Storage>& Tensor::storage() const {
  return checked(impl_).storage;
}

bool Tensor::is_contiguous() const {
  std::int64_t expected = 1;
  const auto& s = sizes();
  const auto& st = strides();
  for (std::size_t i = s.size(); i-- > 0;) {
    if (s[i] == 1) continue;
    if (s[i] == 0) return true;
    if (st[i] != expected) return false;
    expected *= s[i];
  }
  return true;
}

// --- Element access ---

template <class T>
T Tensor::item() const {
  EMBER_CHECK(numel() == 1, "item: expected a tensor with one element, got shape ",
              to_string(sizes()));
  return data_ptr<T>()[0];
}

template <class T>
std::vector<T> Tensor::to_vector() const {
  std::vector<T> out(static_cast<std::size_t>(numel()));
  const T* src = reinterpret_cast<const T*>(storage()->data);
  detail::check_dtype(*this, dtype_of<T>(), "to_vector");
  std::size_t i = 0;
  detail::for_each_row<1>(sizes(), {&strides()}, {storage_offset()},
                          [&](auto offset, std::int64_t length, auto inner) {
                            for (std::int64_t j = 0; j < length; ++j)
                              out[i++] = src[offset[0] + j * inner[0]];
                          });
  return out;
}

template <class T>
T Tensor::at(std::initializer_list<std::int64_t> index) const {
  EMBER_CHECK(static_cast<std::int64_t>(index.size()) == dim(), "at: ", index.size(),
              " indices for a tensor of shape ", to_string(sizes()));
  std::int64_t offset = storage_offset();
  std::size_t d = 0;
  for (std::int64_t i : index) {
    EMBER_CHECK(i >= 0 && i < sizes()[d], "at: index ", i, " is out of range for dim ", d,
                " of size ", sizes()[d]);
    offset += i * strides()[d++];
  }
  detail::check_dtype(*this, dtype_of<T>(), "at");
  return reinterpret_cast<const T*>(storage()->data)[offset];
}

template <>
double Tensor::item<double>() const {
  EMBER_CHECK(numel() == 1, "item: expected a tensor with one element, got shape ",
              to_string(sizes()));
  return detail::dispatch(dtype(), [&]<class T>() {
    return static_cast<double>(reinterpret_cast<const T*>(storage()->data)[storage_offset()]);
  });
}

#define EMBER_INSTANTIATE(T)                            \
  template T Tensor::item<T>() const;                   \
  template std::vector<T> Tensor::to_vector<T>() const; \
  template T Tensor::at<T>(std::initializer_list<std::int64_t>) const;
EMBER_INSTANTIATE(float)
EMBER_INSTANTIATE(std::int64_t)
EMBER_INSTANTIATE(std::uint8_t)
#undef EMBER_INSTANTIATE

// --- Factories ---

namespace {
// A new contiguous tensor; `op` names the factory in errors.
Tensor empty_for(const char* op, const Shape& shape, Dtype dtype) {
  const std::int64_t bytes = checked_nbytes(shape, dtype, op);
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(static_cast<std::size_t>(bytes));
  impl->sizes = shape;
  impl->strides = detail::contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

Tensor full_for(const char* op, const Shape& shape, double value, Dtype dtype) {
  check_value_fits(value, dtype, op);
  Tensor t = empty_for(op, shape, dtype);
  t.fill_(value);  // a new tensor: never requires grad
  return t;
}
}  // namespace

Tensor empty(const Shape& shape, Dtype dtype) {
  return empty_for("empty", shape, dtype);
}
Tensor full(const Shape& shape, double value, Dtype dtype) {
  return full_for("full", shape, value, dtype);
}
Tensor zeros(const Shape& shape, Dtype dtype) {
  return full_for("zeros", shape, 0.0, dtype);
}
Tensor ones(const Shape& shape, Dtype dtype) {
  return full_for("ones", shape, 1.0, dtype);
}
Tensor scalar_tensor(double value, Dtype dtype) {
  return full_for("scalar_tensor", {}, value, dtype);
}
Tensor empty_like(const Tensor& t) {
  return empty(t.sizes(), t.dtype());
}
Tensor zeros_like(const Tensor& t) {
  return zeros(t.sizes(), t.dtype());
}
Tensor ones_like(const Tensor& t) {
  return ones(t.sizes(), t.dtype());
}

Tensor arange(std::int64_t end, Dtype dtype) {
  return arange(0.0, static_cast<double>(end), 1.0, dtype);
}

// As torch.arange: the count is ceil((end - start) / step), computed in double; the bounds must
// be finite and every value must fit the dtype.
Tensor arange(double start, double end, double step, Dtype dtype) {
  EMBER_CHECK(std::isfinite(start) && std::isfinite(end), "arange: unsupported range: ", start,
              " -> ", end);
  EMBER_CHECK(std::isfinite(step) && step != 0, "arange: step must be nonzero and finite, got ",
              step);
  EMBER_CHECK((end - start) / step >= 0,
              "arange: upper bound and larger bound inconsistent with "
              "step sign: the range [",
              start, ", ", end, ") is empty or has the wrong sign for step ", step);
  const double count = std::ceil((end - start) / step);
  // 2^63 is the first double past INT64_MAX; (end - start) may also overflow to inf.
  EMBER_CHECK(count < 0x1p63, "arange: invalid size, possible overflow: [", start, ", ", end,
              ") in steps of ", step, " has ", count, " elements");
  const auto n = static_cast<std::int64_t>(count);
  Tensor t = empty_for("arange", {n}, dtype);
  if (n > 0) {
    check_value_fits(start, dtype, "arange");
    check_value_fits(start + static_cast<double>(n - 1) * step, dtype, "arange");
  }
  detail::dispatch(dtype, [&]<class T>() {
    T* out = t.data_ptr<T>();
    for (std::int64_t i = 0; i < n; ++i)
      out[i] = static_cast<T>(start + static_cast<double>(i) * step);
  });
  return t;
}

Tensor rand(const Shape& shape, Generator& gen) {
  Tensor t = empty(shape);
  for (float& v : std::span(t.data_ptr<float>(), static_cast<std::size_t>(t.numel())))
    v = gen.uniform();
  return t;
}

Tensor randn(const Shape& shape, Generator& gen) {
  Tensor t = empty(shape);
  for (float& v : std::span(t.data_ptr<float>(), static_cast<std::size_t>(t.numel())))
    v = gen.normal();
  return t;
}

Tensor randint(std::int64_t low, std::int64_t high, const Shape& shape, Generator& gen) {
  EMBER_CHECK(low < high, "randint: empty range [", low, ", ", high, ")");
  Tensor t = empty(shape, kInt64);
  for (auto& v : std::span(t.data_ptr<std::int64_t>(), static_cast<std::size_t>(t.numel())))
    v = gen.randint(low, high);
  return t;
}

namespace {
template <class T>
Tensor tensor_from(const std::vector<T>& values, const Shape& shape) {
  const std::int64_t n = checked_numel(shape, "from_vector");
  EMBER_CHECK(values.size() == static_cast<std::uint64_t>(n), "from_vector: ", values.size(),
              " values cannot fill shape ", to_string(shape), " (", n, " elements)");
  Tensor t = empty(shape, dtype_of<T>());
  if (!values.empty()) std::memcpy(t.data_ptr<T>(), values.data(), values.size() * sizeof(T));
  return t;
}
}  // namespace

Tensor from_vector(const std::vector<float>& v, const Shape& s) {
  return tensor_from(v, s);
}
Tensor from_vector(const std::vector<std::int64_t>& v, const Shape& s) {
  return tensor_from(v, s);
}
Tensor from_vector(const std::vector<std::uint8_t>& v, const Shape& s) {
  return tensor_from(v, s);
}

// --- Autograd accessors ---

bool Tensor::requires_grad() const {
  return impl_ && impl_->autograd && (impl_->autograd->requires_grad || impl_->autograd->grad_fn);
}

Tensor& Tensor::requires_grad_(bool on) {
  EMBER_CHECK(is_leaf(),
              "requires_grad_: only leaf tensors can change requires_grad; this one is "
              "the output of ",
              detail::node_name(*grad_fn()), " (use detach() for a new leaf)");
  EMBER_CHECK(!on || dtype() == kFloat32,
              "requires_grad_: only float32 tensors can require gradients, this one is ", dtype());
  checked(impl_);
  impl_->autograd_meta().requires_grad = on;
  return *this;
}

bool Tensor::is_leaf() const {
  return grad_fn() == nullptr;
}

const Tensor& Tensor::grad() const {
  static const Tensor undefined;
  checked(impl_);
  return impl_->autograd ? impl_->autograd->grad : undefined;
}

GradSlot Tensor::mutable_grad() {
  checked(impl_);
  return GradSlot(impl_.get(), impl_->autograd_meta().grad);
}

// The checks of PyTorch's THPVariable_set_grad: a grad that does not match its tensor would be
// read and written as if it did (by accumulation and by the optimizers).
GradSlot& GradSlot::operator=(const Tensor& grad) {
  if (grad.defined()) {
    EMBER_CHECK(grad.impl() != owner_, "grad: can't assign a tensor as its own grad");
    EMBER_CHECK(grad.dtype() == owner_->dtype,
                "grad: assigned grad has data of a different type: ", grad.dtype(),
                " for a tensor of dtype ", owner_->dtype);
    EMBER_CHECK(grad.sizes() == owner_->sizes,
                "grad: assigned grad has data of a different size: ", to_string(grad.sizes()),
                " for a tensor of shape ", to_string(owner_->sizes));
  }
  grad_ = grad;
  return *this;
}

const std::shared_ptr<autograd::Node>& Tensor::grad_fn() const {
  static const std::shared_ptr<autograd::Node> none;
  checked(impl_);
  return impl_->autograd ? impl_->autograd->grad_fn : none;
}

Tensor Tensor::detach() const {
  return detail::make_view(*this, sizes(), strides(), storage_offset());
}

std::uint64_t Tensor::version() const {
  return storage()->version;
}

}  // namespace ember
