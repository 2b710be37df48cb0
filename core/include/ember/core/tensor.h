// ember::Tensor: an n-d array with shape and strides over shared storage, plus autograd data.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include <ember/core/dtype.h>
#include <ember/core/error.h>
#include <ember/core/scalar.h>

namespace ember {

namespace autograd {
class Node;
}
namespace indexing {
class TensorIndex;
}
class Generator;

// Bytes shared by a tensor and all its views, 64-byte aligned for SIMD. `version` counts in-place
// writes, so autograd can tell that a tensor it saved for backward has since been modified.
struct Storage {
  explicit Storage(std::size_t nbytes);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  std::byte* data = nullptr;
  std::size_t nbytes = 0;
  std::uint64_t version = 0;
};

struct TensorImpl;
class GradSlot;

// A cheap handle: copies share data (like torch::Tensor). Views (reshape, view, flatten,
// transpose, narrow, select, unsqueeze) share storage too. Ops that record a graph for autograd
// are defined next to their backward in core/src/ops/.
class Tensor {
 public:
  Tensor() = default;  // undefined: defined() is false
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // --- Metadata ---
  bool defined() const { return impl_ != nullptr; }
  const Shape& sizes() const;
  const Shape& strides() const;
  std::int64_t size(std::int64_t dim) const;  // negative dims count from the end
  std::int64_t dim() const;
  std::int64_t numel() const;
  Dtype dtype() const;
  bool is_contiguous() const;
  std::int64_t storage_offset() const;  // in elements
  const std::shared_ptr<Storage>& storage() const;

  // --- Element access (checks the dtype) ---
  template <class T>
  T* data_ptr();
  template <class T>
  const T* data_ptr() const;
  // The one element of a tensor with numel() == 1. item<double>() converts from any dtype (as
  // libtorch's item<double>()); item<float>, item<std::int64_t>, item<std::uint8_t> need that
  // dtype.
  template <class T>
  T item() const;
  template <class T>
  std::vector<T> to_vector() const;  // row-major copy, for any strides
  template <class T>
  T at(std::initializer_list<std::int64_t> index) const;  // one element, bounds-checked

  // --- Views and copies ---
  Tensor reshape(const Shape& shape) const;  // a view when strides allow, else a copy; one -1
  Tensor view(const Shape& shape) const;     // always a view; throws if strides don't allow
  Tensor flatten(std::int64_t start_dim = 0, std::int64_t end_dim = -1) const;
  Tensor transpose(std::int64_t dim0, std::int64_t dim1) const;
  Tensor t() const;                         // transpose(0, 1) of a 2-d tensor
  Tensor permute(const Shape& dims) const;  // dims reordered: out dim i is input dim dims[i]

  // --- Indexing (see <ember/core/indexing.h>: Slice, None, Ellipsis) ---
  Tensor index(const std::vector<indexing::TensorIndex>& indices) const;
  Tensor& index_put_(const std::vector<indexing::TensorIndex>& indices, const Tensor& value,
                     bool accumulate = false);
  Tensor index_put(const std::vector<indexing::TensorIndex>& indices, const Tensor& value,
                   bool accumulate = false) const;
  Tensor gather(std::int64_t dim, const Tensor& index) const;
  Tensor index_select(std::int64_t dim, const Tensor& index) const;
  Tensor masked_fill(const Tensor& mask, const Scalar& value) const;
  Tensor unsqueeze(std::int64_t dim) const;
  Tensor squeeze(std::int64_t dim) const;
  Tensor narrow(std::int64_t dim, std::int64_t start,
                std::int64_t length) const;                   // start < 0: from the end
  Tensor select(std::int64_t dim, std::int64_t index) const;  // drops dim
  Tensor contiguous() const;                                  // *this if already contiguous
  Tensor clone() const;
  // float32 <-> int64 <-> uint8 conversion (copy); throws if a value does not fit the target
  // (NaN or 1e19 into int64, 300 or -1 into uint8), as PyTorch's checked scalar conversion.
  Tensor to(Dtype dtype) const;

  // --- Math (each records a graph node when a float input requires grad) ---
  Tensor sum() const;
  Tensor sum(std::int64_t dim, bool keepdim = false) const;
  Tensor mean() const;
  Tensor mean(std::int64_t dim, bool keepdim = false) const;
  Tensor max() const;
  std::tuple<Tensor, Tensor> max(std::int64_t dim, bool keepdim = false) const;  // values, indices
  Tensor argmax(std::int64_t dim, bool keepdim = false) const;
  Tensor min() const;
  std::tuple<Tensor, Tensor> min(std::int64_t dim, bool keepdim = false) const;  // values, indices
  Tensor logsumexp(std::int64_t dim, bool keepdim = false) const;
  Tensor pow(const Scalar& exponent) const;
  Tensor pow(const Tensor& exponent) const;
  Tensor square() const;
  Tensor sqrt() const;
  Tensor abs() const;
  Tensor clamp(const std::optional<Scalar>& min, const std::optional<Scalar>& max) const;
  Tensor clamp_min(const Scalar& min) const;
  Tensor clamp_max(const Scalar& max) const;
  Tensor exp() const;
  Tensor log() const;
  Tensor matmul(const Tensor& other) const;
  // The nn::functional activations as methods, as torch.Tensor has them. Declared here but
  // defined in ember::nn (nn/src/tensor_methods.cpp): core never includes nn, and a program
  // that calls them links ember::nn (ember::ember does).
  Tensor sigmoid() const;
  Tensor tanh() const;
  Tensor relu() const;
  Tensor softmax(std::int64_t dim) const;
  Tensor log_softmax(std::int64_t dim) const;

  // --- In-place (bump the version counter; refused on leaves that require grad) ---
  Tensor& zero_();
  // Every number must fit this tensor's dtype (uint8 fill_(300) throws), and every broadcast
  // result must have this tensor's shape (zeros({3}).add_(ones({2, 3})) throws).
  Tensor& fill_(double value);
  // src broadcast to this shape and converted to this dtype; src may overlap this tensor
  // (a.copy_(a.t()) gives the transpose).
  Tensor& copy_(const Tensor& src);
  Tensor& add_(const Tensor& other, double alpha = 1.0);
  Tensor& mul_(double factor);
  // As x -= alpha * other, x *= other, x /= other (see the compound assignments in ops.h):
  // promoted, refused when a float result would go into an integer tensor or when `other`
  // would broadcast this tensor to a larger shape.
  Tensor& sub_(const Tensor& other, double alpha = 1.0);
  Tensor& mul_(const Tensor& other);
  Tensor& div_(const Tensor& other);
  Tensor& div_(double divisor);
  // Fill with random numbers from `gen` (the default generator when null), float32 only.
  Tensor& normal_(double mean = 0.0, double std = 1.0, Generator* gen = nullptr);
  Tensor& uniform_(double from = 0.0, double to = 1.0, Generator* gen = nullptr);

  // --- Autograd ---
  bool requires_grad() const;
  Tensor& requires_grad_(bool on = true);  // leaves of dtype float32 only
  bool is_leaf() const;
  const Tensor& grad() const;  // undefined until a backward reaches this leaf
  // Assign to it to set or clear the grad: t.mutable_grad() = Tensor(). As PyTorch's
  // `t.grad = g`, the assignment throws unless g is undefined or has t's shape and dtype.
  GradSlot mutable_grad();
  const std::shared_ptr<autograd::Node>& grad_fn() const;
  // Accumulates d(this)/d(leaf) into every leaf's grad(). Without `grad`, this must have one
  // element. The graph's saved tensors are freed afterwards unless retain_graph.
  void backward(const Tensor& grad = Tensor(), bool retain_graph = false) const;
  Tensor detach() const;  // same data, no graph
  std::uint64_t version() const;

  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

 private:
  std::shared_ptr<TensorImpl> impl_;
};

// What Tensor::mutable_grad() returns: a tensor's grad, checked when assigned.
class GradSlot {
 public:
  GradSlot& operator=(const Tensor& grad);  // throws on a shape or dtype mismatch
  GradSlot& operator=(const GradSlot& other) { return *this = other.get(); }
  GradSlot(const GradSlot&) = default;
  const Tensor& get() const { return grad_; }
  operator const Tensor&() const { return grad_; }
  Tensor& zero_() { return grad_.zero_(); }  // PyTorch's `w.grad.zero_()`: same shape, no check

 private:
  friend class Tensor;
  GradSlot(const TensorImpl* owner, Tensor& grad) : owner_(owner), grad_(grad) {}
  const TensorImpl* owner_;  // the tensor whose grad this is
  Tensor& grad_;
};

// What a tensor is beyond its data: autograd's part. Lives in the impl so that views, copies
// of the handle and the graph all see the same grad.
struct AutogradMeta {
  bool requires_grad = false;
  Tensor grad;
  std::shared_ptr<autograd::Node> grad_fn;         // set on op outputs
  std::weak_ptr<autograd::Node> grad_accumulator;  // a leaf's AccumulateGrad node, made lazily
  // Called in registration order after backward accumulated into this leaf's grad (see
  // autograd::register_post_accumulate_grad_hook); the id removes one.
  std::vector<std::pair<std::uint64_t, std::function<void(const Tensor&)>>>
      post_accumulate_grad_hooks;
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  std::int64_t offset = 0;  // in elements
  Shape sizes;
  Shape strides;  // in elements
  Dtype dtype = kFloat32;
  std::unique_ptr<AutogradMeta> autograd;  // null until the tensor takes part in autograd

  AutogradMeta& autograd_meta();
};

// --- Factories (float32 unless a dtype is given) ---
Tensor empty(const Shape& shape, Dtype dtype = kFloat32);  // uninitialized
Tensor zeros(const Shape& shape, Dtype dtype = kFloat32);
Tensor ones(const Shape& shape, Dtype dtype = kFloat32);
Tensor full(const Shape& shape, double value, Dtype dtype = kFloat32);
Tensor arange(std::int64_t end, Dtype dtype = kInt64);  // 0, 1, ..., end-1
Tensor arange(double start, double end, double step = 1.0, Dtype dtype = kFloat32);
// Nested braces of numbers with the shape inferred, as torch::tensor: tensor({1.f, 2.f}) is a
// float32 [2], tensor({{1, 2}, {3, 4}}) an int64 [2, 2], tensor(3.5) a 0-d float32. The dtype is
// float32 if any number is floating, else int64 (bools alone: uint8); or the one given. Ragged
// lists throw naming the position.
class TensorData {
 public:
  template <class T>
  requires std::is_arithmetic_v<T> TensorData(T value)
      : value_(value) {}  // NOLINT(google-explicit-constructor)
  TensorData(std::initializer_list<TensorData> list) : is_list_(true), list_(list) {}

  bool is_list() const { return is_list_; }
  const Scalar& value() const { return value_; }
  const std::vector<TensorData>& list() const { return list_; }

 private:
  bool is_list_ = false;
  Scalar value_ = 0;
  std::vector<TensorData> list_;
};
Tensor tensor(const TensorData& data);
Tensor tensor(const TensorData& data, Dtype dtype);

// Random factories: from `gen`, or from default_generator() (reseed with ember::manual_seed).
Tensor rand(const Shape& shape);                                          // uniform [0, 1)
Tensor randn(const Shape& shape);                                         // standard normal
Tensor randint(std::int64_t low, std::int64_t high, const Shape& shape);  // int64 in [low, high)
Tensor rand_like(const Tensor& t);
Tensor randn_like(const Tensor& t);
Tensor rand(const Shape& shape, Generator& gen);   // uniform [0, 1)
Tensor randn(const Shape& shape, Generator& gen);  // standard normal
Tensor randint(std::int64_t low, std::int64_t high, const Shape& shape, Generator& gen);  // int64
Tensor from_vector(const std::vector<float>& values, const Shape& shape);
Tensor from_vector(const std::vector<std::int64_t>& values, const Shape& shape);
Tensor from_vector(const std::vector<std::uint8_t>& values, const Shape& shape);
Tensor scalar_tensor(double value, Dtype dtype = kFloat32);  // 0-d
Tensor empty_like(const Tensor& t);
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);

// Prints like PyTorch: tensor([[0.1000, 0.2000]]), with requires_grad / grad_fn when set.
std::ostream& operator<<(std::ostream& out, const Tensor& t);

// --- template definitions ---
template <>
double Tensor::item<double>() const;

namespace detail {
void check_dtype(const Tensor& t, Dtype want, const char* what);
}

template <class T>
T* Tensor::data_ptr() {
  detail::check_dtype(*this, dtype_of<T>(), "data_ptr");
  return reinterpret_cast<T*>(impl_->storage->data) + impl_->offset;
}
template <class T>
const T* Tensor::data_ptr() const {
  detail::check_dtype(*this, dtype_of<T>(), "data_ptr");
  return reinterpret_cast<const T*>(impl_->storage->data) + impl_->offset;
}

}  // namespace ember
