// ember::nn::MaxPool2d, AvgPool2d, AdaptiveAvgPool2d. See pooling.h.
#include <ember/nn/pooling.h>

#include <ember/core/conv.h>

namespace ember::nn {

namespace {

std::string list_string(const ExpandingArray<2>& a) {
  // Appended piece by piece: GCC 12's -Wrestrict misfires on "[" + std::to_string(...).
  std::string s = "[";
  s += std::to_string(a[0]);
  s += ", ";
  s += std::to_string(a[1]);
  s += "]";
  return s;
}

// The options' checks that need no input: a probe image just large enough for the window.
void check_pool(const ExpandingArray<2>& k, const ExpandingArray<2>& s, const ExpandingArray<2>& p,
                const ExpandingArray<2>& d, const char* op) {
  EMBER_CHECK(k[0] >= 1 && k[1] >= 1, op, ": kernel_size must be >= 1, got ", list_string(k));
  EMBER_CHECK(d[0] >= 1 && d[1] >= 1, op, ": dilation must be >= 1, got ", list_string(d));
  EMBER_CHECK(k[0] < (std::int64_t{1} << 20) && k[1] < (std::int64_t{1} << 20) &&
                  d[0] < (std::int64_t{1} << 20) && d[1] < (std::int64_t{1} << 20),
              op, ": kernel_size ", list_string(k), " or dilation ", list_string(d), " too large");
  core::pool2d_geometry({1, 1, d[0] * (k[0] - 1) + 1, d[1] * (k[1] - 1) + 1}, k, s, p, d, false,
                        op);
}

}  // namespace

MaxPool2d::MaxPool2d(const MaxPool2dOptions& options) : Module("MaxPool2d"), options_(options) {
  check_pool(options.kernel_size(), options.stride(), options.padding(), options.dilation(),
             "MaxPool2d");
}

Tensor MaxPool2d::forward(const Tensor& x) {
  return functional::max_pool2d(x, options_);
}

std::string MaxPool2d::extra_repr() const {
  return "kernel_size=" + list_string(options_.kernel_size()) +
         ", stride=" + list_string(options_.stride()) +
         ", padding=" + list_string(options_.padding()) +
         ", dilation=" + list_string(options_.dilation()) +
         ", ceil_mode=" + (options_.ceil_mode() ? "true" : "false");
}

AvgPool2d::AvgPool2d(const AvgPool2dOptions& options) : Module("AvgPool2d"), options_(options) {
  check_pool(options.kernel_size(), options.stride(), options.padding(), 1, "AvgPool2d");
  EMBER_CHECK(options.divisor_override().value_or(1) != 0,
              "AvgPool2d: divisor_override must not be zero");
}

Tensor AvgPool2d::forward(const Tensor& x) {
  return functional::avg_pool2d(x, options_);
}

std::string AvgPool2d::extra_repr() const {
  return "kernel_size=" + list_string(options_.kernel_size()) +
         ", stride=" + list_string(options_.stride()) +
         ", padding=" + list_string(options_.padding());
}

AdaptiveAvgPool2d::AdaptiveAvgPool2d(const AdaptiveAvgPool2dOptions& options)
    : Module("AdaptiveAvgPool2d"), options_(options) {
  EMBER_CHECK(options.output_size()[0] >= 1 && options.output_size()[1] >= 1,
              "AdaptiveAvgPool2d: output_size must be >= 1, got ",
              list_string(options.output_size()));
}

Tensor AdaptiveAvgPool2d::forward(const Tensor& x) {
  return functional::adaptive_avg_pool2d(x, options_);
}

std::string AdaptiveAvgPool2d::extra_repr() const {
  return "output_size=" + list_string(options_.output_size());
}

}  // namespace ember::nn
