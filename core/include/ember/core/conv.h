/// \file
/// Graph-free 2-d convolution and pooling (ember::core): forward and every backward, computed on
/// raw float32 buffers. The differentiable spellings users call (ember::conv2d, ember::max_pool2d,
/// ...) live in autograd (<ember/autograd/conv.h>) and record their nodes around these.
///
/// Shape letters: N batch, C in-channels, O out-channels, G groups, H x W the input image,
/// KH x KW the kernel, OH x OW the output image. Every tensor here is 4-d [N, C, H, W]; the
/// autograd layer adds the unbatched [C, H, W] form.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include <ember/core/error.h>
#include <ember/core/tensor.h>

namespace ember {

/// D sizes given as one number (used for every dim) or as D numbers, as libtorch's
/// torch::ExpandingArray<D>: `ExpandingArray<2>(3)` is {3, 3}, `ExpandingArray<2>({3, 5})` is
/// {3, 5}.
template <std::size_t D>
class ExpandingArray {
 public:
  /// Every dim `value`.
  ExpandingArray(std::int64_t value) {  // NOLINT: implicit, as libtorch's
    values_.fill(value);
  }
  /// One value per dim, `{h, w}`; or `{v}`, the same as `v` (so that a braced `{1}` means 1).
  /// \throws ember::Error unless the list holds D values or one.
  ExpandingArray(std::initializer_list<std::int64_t> values) {
    EMBER_CHECK(values.size() == D || values.size() == 1, "expected ", D,
                " values (one per dim) or one, got ", values.size());
    if (values.size() == 1) {
      values_.fill(*values.begin());
    } else {
      std::size_t i = 0;
      for (const std::int64_t v : values) values_[i++] = v;
    }
  }
  /// One value per dim.
  ExpandingArray(const std::array<std::int64_t, D>& values) : values_(values) {}  // NOLINT
  /// The value of dim `i`.
  std::int64_t operator[](std::size_t i) const { return values_[i]; }
  /// All D values.
  const std::array<std::int64_t, D>& values() const { return values_; }
  /// Equal when every value is.
  bool operator==(const ExpandingArray&) const = default;

 private:
  std::array<std::int64_t, D> values_{};
};

/// The padding of a convolution: explicit sizes (a number or {h, w}), or "same" / "valid" as
/// torch.nn.Conv2d's padding strings. "valid" is no padding; "same" pads so that the output has
/// the input's size (stride 1 only), dilation * (K - 1) in all, half before, and the odd one
/// after (right / bottom), as PyTorch.
class Conv2dPadding {
 public:
  /// What the padding is.
  enum class Kind { Explicit, Same, Valid };
  /// Every side `value`.
  Conv2dPadding(std::int64_t value) : sizes_(value) {}  // NOLINT: implicit, as libtorch's
  /// {h, w}: h rows above and below, w columns left and right.
  Conv2dPadding(std::initializer_list<std::int64_t> values) : sizes_(values) {}
  /// \overload
  Conv2dPadding(const ExpandingArray<2>& sizes) : sizes_(sizes) {}  // NOLINT
  /// "same" or "valid".
  /// \throws ember::Error for any other string.
  Conv2dPadding(std::string_view mode);  // NOLINT
  /// \overload
  /// A string literal (a reference to an array, so that the number 0 is never taken for a null
  /// `const char*`).
  template <std::size_t N>
  Conv2dPadding(const char (&mode)[N]) : Conv2dPadding(std::string_view(mode)) {}  // NOLINT
  /// \overload
  Conv2dPadding(const std::string& mode) : Conv2dPadding(std::string_view(mode)) {}  // NOLINT

  Kind kind() const { return kind_; }                        ///< Explicit, Same or Valid.
  const ExpandingArray<2>& sizes() const { return sizes_; }  ///< For Explicit: {h, w}.
  /// "same", "valid", or "(h, w)" as PyTorch prints a module's padding.
  std::string to_string() const;

 private:
  ExpandingArray<2> sizes_ = 0;
  Kind kind_ = Kind::Explicit;
};

/// The stride of a pooling: a number or {h, w}, or none (the default, `{}` or std::nullopt),
/// which means the kernel size, as torch.nn.functional.max_pool2d's stride=None.
class PoolStride {
 public:
  /// None: the kernel size.
  PoolStride() = default;
  /// \overload
  PoolStride(std::nullopt_t) {}  // NOLINT: implicit
  /// Every dim `value`.
  PoolStride(std::int64_t value) : value_(ExpandingArray<2>(value)) {}  // NOLINT: implicit
  /// {h, w}.
  PoolStride(std::initializer_list<std::int64_t> values) : value_(ExpandingArray<2>(values)) {}
  /// \overload
  PoolStride(const ExpandingArray<2>& values) : value_(values) {}  // NOLINT: implicit
  /// The stride, or `kernel_size` when none was given.
  ExpandingArray<2> value_or(const ExpandingArray<2>& kernel_size) const {
    return value_.has_value() ? *value_ : kernel_size;
  }

 private:
  std::optional<ExpandingArray<2>> value_;
};

namespace core {

/// The resolved geometry of one 2-d convolution: every size the kernels need.
///
/// pad_top/pad_left are the zero rows/columns before the image, pad_bottom/pad_right after it
/// (they differ only for an even kernel with padding "same").
struct Conv2dGeometry {
  std::int64_t N = 0;           ///< batch size (1 for an unbatched input)
  std::int64_t C = 0;           ///< input channels
  std::int64_t H = 0;           ///< input height
  std::int64_t W = 0;           ///< input width
  std::int64_t O = 0;           ///< output channels (weight [O, C / groups, KH, KW])
  std::int64_t KH = 0;          ///< kernel height
  std::int64_t KW = 0;          ///< kernel width
  std::int64_t OH = 0;          ///< output height (output [N, O, OH, OW])
  std::int64_t OW = 0;          ///< output width
  std::int64_t groups = 1;      ///< channel groups (C and O divisible by it)
  std::int64_t stride_h = 1;    ///< vertical stride
  std::int64_t stride_w = 1;    ///< horizontal stride
  std::int64_t pad_top = 0;     ///< zero rows above the image
  std::int64_t pad_bottom = 0;  ///< zero rows below the image
  std::int64_t pad_left = 0;    ///< zero columns left of the image
  std::int64_t pad_right = 0;   ///< zero columns right of the image
  std::int64_t dilation_h = 1;  ///< vertical spacing of the kernel's taps
  std::int64_t dilation_w = 1;  ///< horizontal spacing of the kernel's taps
};

/// Checks a convolution's arguments and works out its geometry, as torch.nn.functional.conv2d.
///
/// input [N, C, H, W] and weight [O, C / groups, KH, KW], float32; stride and dilation >= 1;
/// explicit padding >= 0; "same" only with stride 1.
/// \throws ember::Error naming `op` and the shapes when: a tensor is undefined, not float32 or
///   not 4-d; groups < 1, or C or O not divisible by groups; the weight's channels times groups
///   differ from C; stride or dilation < 1; padding < 0; the dilated kernel is larger than the
///   padded input; the output would be empty; a size product overflows int64.
Conv2dGeometry conv2d_geometry(const Shape& input, const Shape& weight,
                               const ExpandingArray<2>& stride, const Conv2dPadding& padding,
                               const ExpandingArray<2>& dilation, std::int64_t groups,
                               const char* op = "conv2d");

/// y[n, o] = b[o] + sum_{c in o's group, kh, kw} w[o, c, kh, kw] x[n, c, oh*s + kh*d - p, ...]
/// (cross-correlation, as PyTorch; zero padding). x [N, C, H, W], w [O, C/G, KH, KW], bias [O]
/// or undefined -> y [N, O, OH, OW]. Any strides (copied to contiguous when needed).
/// Arguments are checked by conv2d_geometry() beforehand (bias: [O] float32).
Tensor conv2d_forward(const Tensor& x, const Tensor& weight, const Tensor& bias,
                      const Conv2dGeometry& g);
/// grad_x = col2im(w^T grad_out): [N, O, OH, OW] -> [N, C, H, W].
Tensor conv2d_backward_input(const Tensor& grad_out, const Tensor& weight, const Conv2dGeometry& g);
/// grad_w = grad_out col(x)^T summed over the batch: -> [O, C/G, KH, KW]. With grad_bias, also
/// *grad_bias = conv2d_backward_bias(grad_out, g) (equal within rounding: short patches sum it in
/// the weight gradient's pass over grad_out, in another order).
Tensor conv2d_backward_weight(const Tensor& grad_out, const Tensor& x, const Conv2dGeometry& g,
                              Tensor* grad_bias = nullptr);
/// grad_b[o] = sum over n, oh, ow of grad_out: -> [O].
Tensor conv2d_backward_bias(const Tensor& grad_out, const Conv2dGeometry& g);

/// The resolved geometry of one 2-d pooling window sweep.
struct Pool2dGeometry {
  std::int64_t N = 0;           ///< batch size (1 for an unbatched input)
  std::int64_t C = 0;           ///< channels
  std::int64_t H = 0;           ///< input height
  std::int64_t W = 0;           ///< input width
  std::int64_t OH = 0;          ///< output height (output [N, C, OH, OW])
  std::int64_t OW = 0;          ///< output width
  std::int64_t KH = 1;          ///< window height
  std::int64_t KW = 1;          ///< window width
  std::int64_t stride_h = 1;    ///< vertical stride
  std::int64_t stride_w = 1;    ///< horizontal stride
  std::int64_t pad_h = 0;       ///< implicit padding above and below
  std::int64_t pad_w = 0;       ///< implicit padding left and right
  std::int64_t dilation_h = 1;  ///< vertical spacing of the window's taps
  std::int64_t dilation_w = 1;  ///< horizontal spacing of the window's taps
};

/// Checks a pooling's arguments and works out its geometry, as PyTorch's pool2d_shape_check and
/// pooling_output_shape: OH = floor_or_ceil((H + 2 p - d (K - 1) - 1) / s) + 1, and with
/// ceil_mode a last window that would start in the bottom padding is dropped.
/// \throws ember::Error naming `op` and the shape when: input is undefined, not float32 or not
///   4-d; kernel, stride or dilation < 1; padding < 0 or more than half the kernel; the output
///   would be empty; a size product overflows.
Pool2dGeometry pool2d_geometry(const Shape& input, const ExpandingArray<2>& kernel,
                               const ExpandingArray<2>& stride, const ExpandingArray<2>& padding,
                               const ExpandingArray<2>& dilation, bool ceil_mode, const char* op);

/// Max over each window (padding counts as -inf; nan wins). Returns y [N, C, OH, OW] and the
/// int64 flat index (ih * W + iw) of each window's maximum, the first one on ties, as PyTorch.
std::pair<Tensor, Tensor> max_pool2d_forward(const Tensor& x, const Pool2dGeometry& g);
/// grad_x[n, c, indices] += grad_out: -> [N, C, H, W].
Tensor max_pool2d_backward(const Tensor& grad_out, const Tensor& indices, const Pool2dGeometry& g);

/// What an average pool divides each window's sum by.
struct AvgPoolDivisor {
  bool count_include_pad = true;      ///< Count padding cells (not the part beyond it).
  std::int64_t divisor_override = 0;  ///< If nonzero (may be negative), divide by this instead.
};
/// Mean over each window as torch's avg_pool2d (dilation 1): y [N, C, OH, OW].
Tensor avg_pool2d_forward(const Tensor& x, const Pool2dGeometry& g, AvgPoolDivisor divisor);
/// Each window's grad_out / divisor spread over its cells: -> [N, C, H, W].
Tensor avg_pool2d_backward(const Tensor& grad_out, const Pool2dGeometry& g, AvgPoolDivisor divisor);

/// Mean over the windows [floor(i H / OH), ceil((i + 1) H / OH)) x (the same for W), as
/// torch's adaptive_avg_pool2d: x [N, C, H, W] -> [N, C, OH, OW].
Tensor adaptive_avg_pool2d_forward(const Tensor& x, std::int64_t OH, std::int64_t OW);
/// Each window's grad_out / its size spread over its cells: -> [N, C, H, W].
Tensor adaptive_avg_pool2d_backward(const Tensor& grad_out, std::int64_t H, std::int64_t W);

}  // namespace core
}  // namespace ember
