/// \file
/// ember::Tensor: an n-d array with shape and strides over shared storage, plus autograd data;
/// the tensor factories (zeros, tensor, rand, ...).
#pragma once

#include <cstddef>
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

/// The bytes shared by a tensor and all its views, 64-byte aligned for SIMD.
///
/// `version` counts in-place writes, so autograd can tell that a tensor it saved for backward has
/// since been modified (as PyTorch's version counter).
struct Storage {
  /// `nbytes` uninitialized bytes, 64-byte aligned.
  /// \throws ember::Error when `nbytes` does not fit in int64.
  explicit Storage(std::size_t nbytes);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  std::byte* data = nullptr;  ///< The first byte.
  std::size_t nbytes = 0;     ///< The size in bytes.
  std::uint64_t version = 0;  ///< Bumped by every in-place write.
};

struct TensorImpl;
class GradSlot;

/// An n-d array of float32, int64 or uint8 elements with sizes and strides over shared Storage,
/// plus the autograd data (requires_grad, grad, grad_fn).
///
/// A cheap handle: copies share data (like torch::Tensor). Views (reshape, view, flatten,
/// transpose, narrow, select, unsqueeze, squeeze, detach and basic indexing) share storage too.
/// A default-constructed Tensor is undefined: methods that read it then throw ember::Error. The
/// methods that record a graph for autograd (views, math, indexing) are declared here but defined
/// in ember::autograd (autograd/src/ops/), next to their backward: core never records (a program
/// that calls them links ember::autograd; core's graph-free spellings are in namespace
/// ember::core, see <ember/core/ops.h>). They record when a float32 input requires grad and grad
/// mode is on (see NoGradGuard). Dims are `std::int64_t`; a negative dim counts from the end, as in
/// PyTorch, and a dim out of range throws ember::Error naming the op, the dim and the rank.
class Tensor {
 public:
  /// An undefined tensor: defined() is false. It stands for "no tensor" (a missing grad, an
  /// unused gradient in a backward).
  Tensor() = default;
  /// \cond INTERNAL
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}
  /// \endcond

  /// \name Metadata
  /// \{

  /// False for a default-constructed (undefined) tensor.
  bool defined() const { return impl_ != nullptr; }
  /// The size of each dim, outermost first: `[N, D]` for a batch of N rows of D features.
  const Shape& sizes() const;
  /// The stride of each dim in elements (not bytes); a contiguous `[N, D]` has strides `[D, 1]`.
  const Shape& strides() const;
  /// The size of one dim; negative dims count from the end (`size(-1)` is the last).
  /// \throws ember::Error for a 0-d tensor or a dim out of range.
  std::int64_t size(std::int64_t dim) const;
  /// The number of dims (0 for a 0-d tensor).
  std::int64_t dim() const;
  /// The number of elements: the product of sizes() (1 for a 0-d tensor).
  std::int64_t numel() const;
  /// The element type.
  Dtype dtype() const;
  /// True when the elements lie in row-major order without gaps (size-1 dims may have any
  /// stride).
  bool is_contiguous() const;
  /// Where the first element sits in the storage, in elements.
  std::int64_t storage_offset() const;
  /// The storage shared with every view of this tensor.
  const std::shared_ptr<Storage>& storage() const;
  /// \}

  /// \name Element access
  /// Each checks that `T` matches the tensor's dtype (`float`, `std::int64_t`, `std::uint8_t`).
  /// \{

  /// A pointer to the first element (storage_offset() applied); walk it with strides().
  /// \throws ember::Error when the tensor is undefined or `T` is not its element type.
  template <class T>
  T* data_ptr();
  /// \overload
  template <class T>
  const T* data_ptr() const;
  /// data_ptr() for writing the elements outside any op (an optimizer step, a loader, a fill):
  /// bumps the version counter once, as an in-place op does, so a tensor saved for backward
  /// cannot be changed unnoticed. Get it once per write, not per element; `T = std::byte`
  /// gives the first element's bytes whatever the dtype. (PyTorch's mutable_data_ptr leaves
  /// the version alone; there only ops write.)
  /// \throws ember::Error when the tensor is undefined or `T` is not its element type.
  template <class T>
  T* mutable_data_ptr() const;
  /// The one element of a tensor with numel() == 1, as libtorch's item<T>(). item<double>()
  /// converts from any dtype; item<float>, item<std::int64_t>, item<std::uint8_t> need that
  /// dtype.
  /// \throws ember::Error when numel() != 1, or (but for item<double>) the dtype is not `T`'s.
  template <class T>
  T item() const;
  /// A row-major copy of the elements, for any strides.
  /// \throws ember::Error when `T` is not the element type.
  template <class T>
  std::vector<T> to_vector() const;
  /// One element: `t.at<float>({i, j})`.
  /// \throws ember::Error when the number of indices is not dim(), an index is negative or past
  ///         the end of its dim, or `T` is not the element type.
  template <class T>
  T at(std::initializer_list<std::int64_t> index) const;
  /// \}

  /// \name Views and copies
  /// Views share storage with this tensor; their gradient is the incoming gradient put back into
  /// this tensor's shape.
  /// \{

  /// The same elements in `shape`, one size of which may be -1 (inferred), as torch.reshape: a
  /// view when the strides allow, else a contiguous copy. `[N, C, H, W] -> [N, C * H * W]`.
  /// \throws ember::Error when the element counts differ, a size is below -1 or -1 appears twice.
  Tensor reshape(const Shape& shape) const;
  /// As reshape, but always a view, as torch.Tensor.view.
  /// \throws ember::Error as reshape, and when the strides do not allow a view (call
  ///         contiguous() first, or reshape).
  Tensor view(const Shape& shape) const;
  /// Dims `start_dim..end_dim` (inclusive) merged into one: `[N, C, H, W] -> [N, C * H * W]` for
  /// flatten(1). A view when the strides allow (see reshape); a 0-d tensor gives `[1]`.
  /// \throws ember::Error when a dim is out of range or start_dim comes after end_dim.
  Tensor flatten(std::int64_t start_dim = 0, std::int64_t end_dim = -1) const;
  /// A view with dims `dim0` and `dim1` swapped: `[N, D] -> [D, N]` for transpose(0, 1).
  /// \throws ember::Error when a dim is out of range.
  Tensor transpose(std::int64_t dim0, std::int64_t dim1) const;
  /// transpose(0, 1) of a 2-d tensor; a 0-d or 1-d tensor is returned as is.
  /// \throws ember::Error for more than 2 dims.
  Tensor t() const;
  /// A view with the dims reordered: out dim i is input dim `dims[i]`;
  /// `[N, H, W, C] -> [N, C, H, W]` for permute({0, 3, 1, 2}).
  /// \throws ember::Error when `dims` is not a permutation of the dims.
  Tensor permute(const Shape& dims) const;
  /// A view with a new dim of size 1 at `dim` (in `[-dim()-1, dim()]`): `[D] -> [1, D]` for
  /// unsqueeze(0).
  /// \throws ember::Error when `dim` is out of range.
  Tensor unsqueeze(std::int64_t dim) const;
  /// A view without dim `dim` if its size is 1, else this tensor: `[N, 1] -> [N]` for squeeze(1).
  /// \throws ember::Error when `dim` is out of range.
  Tensor squeeze(std::int64_t dim) const;
  /// A view of `length` entries of dim `dim` from `start` (a negative start counts from the end):
  /// `[N, D] -> [N, length]` for narrow(1, start, length).
  /// \throws ember::Error for a 0-d tensor or when the range does not fit in the dim.
  Tensor narrow(std::int64_t dim, std::int64_t start, std::int64_t length) const;
  /// A view of entry `index` of dim `dim` (negative counts from the end), which is dropped:
  /// `[N, D] -> [D]` for select(0, i).
  /// \throws ember::Error for a 0-d tensor or an index out of range.
  Tensor select(std::int64_t dim, std::int64_t index) const;
  /// This tensor if is_contiguous(), else a contiguous copy (clone()).
  Tensor contiguous() const;
  /// A contiguous copy with its own storage; differentiable (the gradient passes through).
  Tensor clone() const;
  /// A copy converted to `dtype` (this tensor itself when the dtype is the same).
  ///
  /// float32 <-> int64 <-> uint8; float to integer drops the fraction, toward zero, and int64 to
  /// uint8 wraps (mod 256), as PyTorch. A conversion cuts the graph (only float32 carries
  /// gradients), like PyTorch's integer casts.
  /// \throws ember::Error if a float32 value does not fit an integer target (NaN or 1e19 into
  ///         int64, 300 or -1 into uint8), as PyTorch's checked scalar conversion.
  Tensor to(Dtype dtype) const;
  /// \}

  /// \name Indexing
  /// As libtorch's; see <ember/autograd/indexing.h> for Slice, None, Ellipsis and the free
  /// functions, which these call with `*this` as `self`.
  /// \{

  /// `self[indices]`: ember::index(*this, indices).
  Tensor index(const std::vector<indexing::TensorIndex>& indices) const;
  /// `self[indices] = value` (or `+=`): ember::index_put_(*this, indices, value, accumulate).
  Tensor& index_put_(const std::vector<indexing::TensorIndex>& indices, const Tensor& value,
                     bool accumulate = false);
  /// A copy with `self[indices] = value` (or `+=`), differentiable:
  /// ember::index_put(*this, indices, value, accumulate), as torch.Tensor.index_put.
  Tensor index_put(const std::vector<indexing::TensorIndex>& indices, const Tensor& value,
                   bool accumulate = false) const;
  /// ember::gather(*this, dim, index), as torch.gather.
  Tensor gather(std::int64_t dim, const Tensor& index) const;
  /// ember::index_select(*this, dim, index), as torch.index_select.
  Tensor index_select(std::int64_t dim, const Tensor& index) const;
  /// ember::masked_fill(*this, mask, value), as torch.Tensor.masked_fill.
  Tensor masked_fill(const Tensor& mask, const Scalar& value) const;
  /// \}

  /// \name Math
  /// The free functions of <ember/autograd/ops.h> as methods, with `*this` as the first operand;
  /// each records a graph node when this float32 tensor requires grad.
  /// \{

  /// The sum of all elements, a 0-d tensor: ember::sum(*this).
  Tensor sum() const;
  /// The sum over `dim`: ember::sum(*this, dim, keepdim).
  Tensor sum(std::int64_t dim, bool keepdim = false) const;
  /// The mean of all elements (float32 only): ember::mean(*this).
  Tensor mean() const;
  /// The mean over `dim` (float32 only): ember::mean(*this, dim, keepdim).
  Tensor mean(std::int64_t dim, bool keepdim = false) const;
  /// The largest element, a 0-d tensor: ember::max(*this).
  Tensor max() const;
  /// (values, int64 indices) of the maxima over `dim`: ember::max(*this, dim, keepdim).
  std::tuple<Tensor, Tensor> max(std::int64_t dim, bool keepdim = false) const;
  /// The int64 index of the first maximum over `dim`: ember::argmax(*this, dim, keepdim).
  Tensor argmax(std::int64_t dim, bool keepdim = false) const;
  /// The smallest element, a 0-d tensor: ember::min(*this).
  Tensor min() const;
  /// (values, int64 indices) of the minima over `dim`: ember::min(*this, dim, keepdim).
  std::tuple<Tensor, Tensor> min(std::int64_t dim, bool keepdim = false) const;
  /// log(sum(exp(x))) over `dim`, computed stably: ember::logsumexp(*this, dim, keepdim).
  Tensor logsumexp(std::int64_t dim, bool keepdim = false) const;
  /// This tensor to the power `exponent`, elementwise: ember::pow(*this, exponent).
  Tensor pow(const Scalar& exponent) const;
  /// \overload
  Tensor pow(const Tensor& exponent) const;
  /// x * x, elementwise: ember::square(*this).
  Tensor square() const;
  /// The square root, elementwise, in float32: ember::sqrt(*this).
  Tensor sqrt() const;
  /// |x|, elementwise: ember::abs(*this).
  Tensor abs() const;
  /// min(max(x, min), max), elementwise: ember::clamp(*this, min, max).
  Tensor clamp(const std::optional<Scalar>& min, const std::optional<Scalar>& max) const;
  /// max(x, min), elementwise: ember::clamp_min(*this, min).
  Tensor clamp_min(const Scalar& min) const;
  /// min(x, max), elementwise: ember::clamp_max(*this, max).
  Tensor clamp_max(const Scalar& max) const;
  /// e^x, elementwise, in float32 (integers converted): ember::exp(*this).
  Tensor exp() const;
  /// The natural logarithm, elementwise, in float32 (integers converted): ember::log(*this).
  Tensor log() const;
  /// `*this == 0` as a uint8 mask: PyTorch's `~mask` (see ember::logical_not).
  Tensor logical_not() const;
  /// The matrix product `[N, K] @ [K, M] -> [N, M]` (float32): ember::matmul(*this, other).
  Tensor matmul(const Tensor& other) const;
  /// \}

  /// \name Activations
  /// The nn::functional activations as methods, as torch.Tensor has them. Declared here but
  /// defined in ember::nn (nn/src/tensor_methods.cpp): core never includes nn, and a program that
  /// calls them links ember::nn (ember::ember does). Each takes float32 of any shape and returns
  /// the same shape; see ember::nn::functional for the formulas and errors.
  /// \{

  /// 1 / (1 + e^-x), elementwise: nn::functional::sigmoid(*this).
  Tensor sigmoid() const;
  /// tanh(x), elementwise: nn::functional::tanh(*this).
  Tensor tanh() const;
  /// max(x, 0), elementwise: nn::functional::relu(*this).
  Tensor relu() const;
  /// e^x / sum(e^x) along `dim`: nn::functional::softmax(*this, dim).
  Tensor softmax(std::int64_t dim) const;
  /// x - logsumexp(x) along `dim`: nn::functional::log_softmax(*this, dim).
  Tensor log_softmax(std::int64_t dim) const;
  /// \}

  /// \name In place
  /// Each writes into this tensor's storage (and so into every view of it), bumps the version
  /// counter and returns `*this`. None records a graph, so each throws ember::Error when this
  /// tensor requires grad while grad mode is on (update parameters inside a NoGradGuard).
  /// \{

  /// Sets every element to 0.
  /// \throws ember::Error when the tensor is undefined or requires grad (see above).
  Tensor& zero_();
  /// Sets every element to `value`.
  /// \throws ember::Error when the tensor requires grad, or when `value` does not fit the dtype
  ///         (uint8 fill_(300) throws; see check_value_fits).
  Tensor& fill_(double value);
  /// Copies `src`, broadcast to this shape and converted to this dtype; `src` may overlap this
  /// tensor (`a.copy_(a.t())` gives the transpose).
  /// \throws ember::Error when `src` does not broadcast to this shape, a float32 value does not
  ///         fit an integer dtype (see to()), or this tensor requires grad.
  Tensor& copy_(const Tensor& src);
  /// `x += alpha * other`, other broadcast to this shape, as torch.Tensor.add_.
  /// \throws ember::Error when the result would be float in an integer tensor (a float `other`,
  ///         or a fractional alpha), when `other` would broadcast this tensor to a larger shape
  ///         (`zeros({3}).add_(ones({2, 3}))`), or when this tensor requires grad.
  Tensor& add_(const Tensor& other, double alpha = 1.0);
  /// `x *= factor`.
  /// \throws ember::Error on an integer tensor (a double factor makes the result float32, as in
  ///         PyTorch), or when this tensor requires grad.
  Tensor& mul_(double factor);
  /// `x -= alpha * other`, as `operator-=` in ops.h: promoted, written back.
  /// \throws ember::Error when a float result would go into an integer tensor, when `other`
  ///         would broadcast this tensor to a larger shape, or when this tensor (or `other`)
  ///         requires grad.
  Tensor& sub_(const Tensor& other, double alpha = 1.0);
  /// `x *= other`, as `operator*=` in ops.h; throws as sub_.
  Tensor& mul_(const Tensor& other);
  /// `x /= other`, as `operator/=` in ops.h (true division, so never on an integer tensor);
  /// throws as sub_.
  Tensor& div_(const Tensor& other);
  /// `x /= divisor` (true division, so never on an integer tensor); throws as sub_.
  Tensor& div_(double divisor);
  /// Fills with normal numbers of mean `mean` and standard deviation `std` from `gen` (the
  /// default generator when null), as torch.Tensor.normal_. float32 only.
  /// \throws ember::Error for a non-float32 tensor, `std < 0`, or a tensor that requires grad.
  Tensor& normal_(double mean = 0.0, double std = 1.0, Generator* gen = nullptr);
  /// Fills with uniform numbers in `[from, to)` from `gen` (the default generator when null), as
  /// torch.Tensor.uniform_. float32 only.
  /// \throws ember::Error for a non-float32 tensor, `from > to`, or a tensor that requires grad.
  Tensor& uniform_(double from = 0.0, double to = 1.0, Generator* gen = nullptr);
  /// \}

  /// \name Autograd
  /// \{

  /// True when gradients flow to this tensor: a leaf marked with requires_grad_(), or the output
  /// of an op recorded with such an input.
  bool requires_grad() const;
  /// Marks (or unmarks) a leaf as needing gradients; returns `*this`.
  /// \throws ember::Error for an op's output (use detach() for a new leaf), or when `on` and the
  ///         dtype is not float32.
  Tensor& requires_grad_(bool on = true);
  /// True when no op made this tensor (no grad_fn): user-made tensors and parameters.
  bool is_leaf() const;
  /// The gradient backward accumulated into this leaf, of its shape and dtype; undefined until
  /// a backward reaches it.
  const Tensor& grad() const;
  /// The grad as an assignable slot: `t.mutable_grad() = Tensor()` clears it.
  ///
  /// As PyTorch's `t.grad = g`, the assignment throws ember::Error unless g is undefined or has
  /// t's shape and dtype (and is not t itself).
  GradSlot mutable_grad();
  /// The node that made this tensor (e.g. "MulBackward"), or null for a leaf.
  const std::shared_ptr<autograd::Node>& grad_fn() const;
  /// Accumulates d(this)/d(leaf) into every leaf's grad(): autograd::backward({*this}, {grad}).
  ///
  /// Without `grad`, this must have one element (a loss); with it, `grad` has this tensor's shape
  /// and is float32. The graph's saved tensors are freed afterwards unless `retain_graph`.
  /// \throws ember::Error when this tensor does not require grad, has more than one element and
  ///         no `grad` is given, `grad`'s shape or dtype differs, or the graph was already freed
  ///         or changed in place (see autograd::backward).
  void backward(const Tensor& grad = Tensor(), bool retain_graph = false) const;
  /// A view of the same data that is not part of any graph (a leaf without requires_grad).
  Tensor detach() const;
  /// The storage's in-place write counter (see Storage::version).
  std::uint64_t version() const;
  /// \}

  /// \cond INTERNAL
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  /// \endcond

 private:
  std::shared_ptr<TensorImpl> impl_;
};

/// What Tensor::mutable_grad() returns: a tensor's grad, checked when assigned.
class GradSlot {
 public:
  /// Sets the grad to `grad`, or clears it with an undefined Tensor.
  /// \throws ember::Error when `grad` is defined and differs in shape or dtype from the tensor
  ///         whose grad this is, or is that tensor itself.
  GradSlot& operator=(const Tensor& grad);
  /// Assigns the other slot's grad, with the same checks.
  GradSlot& operator=(const GradSlot& other) { return *this = other.get(); }
  /// Another slot for the same grad.
  GradSlot(const GradSlot&) = default;
  /// The grad (undefined when there is none).
  const Tensor& get() const { return grad_; }
  /// The grad, so a slot reads like a Tensor.
  operator const Tensor&() const { return grad_; }
  /// Zeroes the grad in place (same shape, no check), as PyTorch's `w.grad.zero_()`.
  Tensor& zero_() { return grad_.zero_(); }

 private:
  friend class Tensor;
  GradSlot(const TensorImpl* owner, Tensor& grad) : owner_(owner), grad_(grad) {}
  const TensorImpl* owner_;  // the tensor whose grad this is
  Tensor& grad_;
};

/// \cond INTERNAL
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

// The data behind a Tensor handle: storage, offset, sizes, strides, dtype, autograd.
struct TensorImpl {
  std::shared_ptr<Storage> storage;
  std::int64_t offset = 0;  // in elements
  Shape sizes;
  Shape strides;  // in elements
  Dtype dtype = kFloat32;
  std::unique_ptr<AutogradMeta> autograd;  // null until the tensor takes part in autograd

  AutogradMeta& autograd_meta();
};
/// \endcond

/// \name Factories
/// float32 unless a dtype is given; every factory throws ember::Error when a size is negative or
/// the element count or byte count overflows int64.
/// \{

/// A tensor of `shape` with uninitialized elements, as torch.empty.
Tensor empty(const Shape& shape, Dtype dtype = kFloat32);
/// A tensor of `shape` filled with 0, as torch.zeros.
Tensor zeros(const Shape& shape, Dtype dtype = kFloat32);
/// A tensor of `shape` filled with 1, as torch.ones.
Tensor ones(const Shape& shape, Dtype dtype = kFloat32);
/// A tensor of `shape` filled with `value`, as torch.full.
/// \throws ember::Error also when `value` does not fit `dtype` (see check_value_fits).
Tensor full(const Shape& shape, double value, Dtype dtype = kFloat32);
/// `[end]`: 0, 1, ..., end-1, int64 by default, as torch.arange(end).
Tensor arange(std::int64_t end, Dtype dtype = kInt64);
/// start, start + step, ... up to (excluding) `end`, float32 by default: ceil((end - start) /
/// step) elements, as torch.arange.
/// \throws ember::Error when start or end is not finite, step is 0 or not finite, step points
///         away from end, or a value does not fit `dtype`.
Tensor arange(double start, double end, double step = 1.0, Dtype dtype = kFloat32);
/// \}

/// Nested braces of numbers, the argument of tensor(): `{{1, 2}, {3, 4}}`.
///
/// A number or a list of TensorData, so nested braces build it implicitly. The dtype is float32
/// if any number is floating, else int64 (bools alone: uint8); or the one given to tensor().
class TensorData {
 public:
  /// One number (a leaf of the nesting).
  template <class T>
  requires std::is_arithmetic_v<T> TensorData(T value)
      : value_(value) {}  // NOLINT(google-explicit-constructor)
  /// A list of numbers or of lists (one level of the nesting).
  TensorData(std::initializer_list<TensorData> list) : is_list_(true), list_(list) {}

  /// True for a list, false for a number.
  bool is_list() const { return is_list_; }
  /// The number (when !is_list()).
  const Scalar& value() const { return value_; }
  /// The entries (when is_list()).
  const std::vector<TensorData>& list() const { return list_; }

 private:
  bool is_list_ = false;
  Scalar value_ = 0;
  std::vector<TensorData> list_;
};
/// A tensor from nested braces with the shape inferred, as torch::tensor: tensor({1.f, 2.f}) is a
/// float32 `[2]`, tensor({{1, 2}, {3, 4}}) an int64 `[2, 2]`, tensor(3.5) a 0-d float32.
///
/// The dtype is float32 if any number is floating, else int64 (bools alone: uint8); or `dtype`
/// when given.
/// \throws ember::Error for ragged lists, naming the position, or a number that does not fit
///         an integer dtype (check_value_fits; as PyTorch, float32 rounds 1e39 to inf).
/// \{
Tensor tensor(const TensorData& data);
Tensor tensor(const TensorData& data, Dtype dtype);
/// \}

/// \name Random factories
/// From `gen`, or from default_generator() (reseed with ember::manual_seed); the same seed gives
/// the same numbers on every machine (see Generator).
/// \{

/// float32 of `shape`, uniform in `[0, 1)`, as torch.rand.
Tensor rand(const Shape& shape);
/// float32 of `shape`, standard normal (mean 0, std 1), as torch.randn.
Tensor randn(const Shape& shape);
/// int64 of `shape`, uniform in `[low, high)`, as torch.randint.
/// \throws ember::Error when `low >= high`.
Tensor randint(std::int64_t low, std::int64_t high, const Shape& shape);
/// rand(t.sizes()).
Tensor rand_like(const Tensor& t);
/// randn(t.sizes()).
Tensor randn_like(const Tensor& t);
/// float32 of `shape`, uniform in `[0, 1)`, from `gen`.
Tensor rand(const Shape& shape, Generator& gen);
/// float32 of `shape`, standard normal, from `gen`.
Tensor randn(const Shape& shape, Generator& gen);
/// int64 of `shape`, uniform in `[low, high)`, from `gen`.
/// \throws ember::Error when `low >= high`.
Tensor randint(std::int64_t low, std::int64_t high, const Shape& shape, Generator& gen);
/// \}

/// A contiguous tensor of `shape` holding a copy of `values` (float32, int64 or uint8, from the
/// vector's element type).
/// \throws ember::Error when `values.size()` is not the shape's element count.
/// \{
Tensor from_vector(const std::vector<float>& values, const Shape& shape);
Tensor from_vector(const std::vector<std::int64_t>& values, const Shape& shape);
Tensor from_vector(const std::vector<std::uint8_t>& values, const Shape& shape);
/// \}
/// A 0-d tensor holding `value`, as torch.scalar_tensor.
/// \throws ember::Error when `value` does not fit `dtype`.
Tensor scalar_tensor(double value, Dtype dtype = kFloat32);
/// empty(), zeros() or ones() with t's shape and dtype.
/// \{
Tensor empty_like(const Tensor& t);
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
/// \}

/// Prints like PyTorch: `tensor([[0.1000, 0.2000]])`, with requires_grad / grad_fn when set.
std::ostream& operator<<(std::ostream& out, const Tensor& t);

/// \cond INTERNAL
// --- template definitions ---
template <>
double Tensor::item<double>() const;

namespace detail {
void check_dtype(const Tensor& t, Dtype want, const char* what);

// Note [Opaque autograd slot]: core keeps a tensor's grad_fn as a pointer to autograd::Node, a
// type it only declares: it never records, walks or releases a graph. To print
// `grad_fn=<MulBackward>` (and name the node in requires_grad_'s error) it asks autograd for the
// name through this function pointer, which autograd::Node's constructor registers, as c10 reaches
// PyTorch's autograd through a factory that torch/csrc/autograd registers. No tensor has a
// grad_fn before a Node was constructed, so the pointer is set whenever there is a node to name.
using NodeNameFn = const std::string& (*)(const autograd::Node&);
void register_node_name(NodeNameFn fn);
// The name of `node` (e.g. "MulBackward"), through the registered NodeNameFn.
const std::string& node_name(const autograd::Node& node);
}  // namespace detail

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
template <class T>
T* Tensor::mutable_data_ptr() const {
  if constexpr (std::is_same_v<T, std::byte>) {
    EMBER_CHECK(defined(), "mutable_data_ptr: the tensor is undefined");
    ++impl_->storage->version;
    return impl_->storage->data +
           impl_->offset * static_cast<std::int64_t>(element_size(impl_->dtype));
  } else {
    detail::check_dtype(*this, dtype_of<T>(), "mutable_data_ptr");
    ++impl_->storage->version;
    return reinterpret_cast<T*>(impl_->storage->data) + impl_->offset;
  }
}
/// \endcond

}  // namespace ember
