// ember::nn::Conv2d. See conv.h.
#include <ember/nn/conv.h>

#include <cmath>

#include <ember/nn/functional/conv.h>
#include <ember/nn/init.h>

namespace ember::nn {

namespace {

std::string pair_string(const ExpandingArray<2>& a) {
  // Appended piece by piece: GCC 12's -Wrestrict misfires on "(" + std::to_string(...).
  std::string s = "(";
  s += std::to_string(a[0]);
  s += ", ";
  s += std::to_string(a[1]);
  s += ")";
  return s;
}

}  // namespace

Conv2d::Conv2d(const Conv2dOptions& options, Generator& gen) : Module("Conv2d"), options_(options) {
  const std::int64_t C = options.in_channels(), O = options.out_channels(), G = options.groups();
  const ExpandingArray<2>& k = options.kernel_size();
  EMBER_CHECK(C >= 1 && O >= 1, "Conv2d: in_channels and out_channels must be >= 1, got ", C,
              " and ", O);
  EMBER_CHECK(k[0] >= 1 && k[1] >= 1, "Conv2d: kernel_size must be >= 1, got ", pair_string(k));
  EMBER_CHECK(G >= 1, "Conv2d: groups must be >= 1, got ", G);
  EMBER_CHECK(C % G == 0 && O % G == 0, "Conv2d: in_channels ", C, " and out_channels ", O,
              " must both be divisible by groups=", G);
  // The remaining checks (stride, dilation, padding) are conv2d_geometry's, on a probe input
  // just large enough for the kernel.
  const std::int64_t probe_h = options.dilation()[0] * (k[0] - 1) + 1;
  const std::int64_t probe_w = options.dilation()[1] * (k[1] - 1) + 1;
  core::conv2d_geometry(
      {1, C, std::max<std::int64_t>(probe_h, 1), std::max<std::int64_t>(probe_w, 1)},
      {O, C / G, k[0], k[1]}, options.stride(), options.padding(), options.dilation(), G, "Conv2d");
  weight = register_parameter("weight", empty({O, C / G, k[0], k[1]}));
  if (options.bias()) bias = register_parameter("bias", empty({O}));
  reset_parameters(gen);
}

Conv2d::Conv2d(std::int64_t in_channels, std::int64_t out_channels, ExpandingArray<2> kernel_size,
               Generator& gen)
    : Conv2d(Conv2dOptions(in_channels, out_channels, kernel_size), gen) {}

void Conv2d::reset_parameters(Generator& gen) {
  // As torch.nn.Conv2d.reset_parameters (_ConvNd): kaiming_uniform_(a = sqrt(5)) gives
  // bound = 1/sqrt(fan_in), fan_in = C/G * KH * KW; the bias is drawn within the same bound.
  init::kaiming_uniform_(weight, std::sqrt(5.0), gen);
  if (bias.defined()) {
    const std::int64_t fan_in = init::calculate_fan_in_and_fan_out(weight).first;
    const double bound = fan_in > 0 ? 1.0 / std::sqrt(static_cast<double>(fan_in)) : 0.0;
    init::uniform_(bias, -bound, bound, gen);
  }
}

Tensor Conv2d::forward(const Tensor& x) {
  return ember::conv2d(x, weight, bias, options_.stride(), options_.padding(), options_.dilation(),
                       options_.groups());
}

std::string Conv2d::extra_repr() const {
  // torch.nn.Conv2d's repr: what is not a default is named.
  std::string s = std::to_string(options_.in_channels()) + ", " +
                  std::to_string(options_.out_channels()) +
                  ", kernel_size=" + pair_string(options_.kernel_size()) +
                  ", stride=" + pair_string(options_.stride());
  const Conv2dPadding& p = options_.padding();
  if (p.kind() != Conv2dPadding::Kind::Explicit || !(p.sizes() == ExpandingArray<2>(0)))
    s += ", padding=" + p.to_string();
  if (!(options_.dilation() == ExpandingArray<2>(1)))
    s += ", dilation=" + pair_string(options_.dilation());
  if (options_.groups() != 1) s += ", groups=" + std::to_string(options_.groups());
  if (!bias.defined()) s += ", bias=false";
  return s;
}

}  // namespace ember::nn
