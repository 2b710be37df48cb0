// conv2d and 2-d pooling against PyTorch 1.13 (tests/data/golden/, FORMAT.md there): every case,
// forward and every gradient, once with contiguous inputs and once with non-contiguous views of
// the same values.
#include <catch2/catch.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <ember/core/indexing.h>
#include <ember/nn/functional.h>

#include "support/golden.h"

namespace F = ember::nn::functional;
using ember::ExpandingArray;
using ember::Tensor;
using ember::test::check_golden;
using ember::test::GoldenCase;

namespace {

// A size parameter of the header: "2" -> {2, 2}, "2,1" -> {2, 1}; `fallback` when absent.
ExpandingArray<2> pair_param(const GoldenCase& c, const std::string& key,
                             ExpandingArray<2> fallback) {
  const auto it = c.params.find(key);
  if (it == c.params.end()) return fallback;
  const std::string& v = it->second;
  const auto comma = v.find(',');
  if (comma == std::string::npos) return std::stoll(v);
  return {std::stoll(v.substr(0, comma)), std::stoll(v.substr(comma + 1))};
}

bool flag(const GoldenCase& c, const std::string& key, bool fallback) {
  const auto it = c.params.find(key);
  return it == c.params.end() ? fallback : it->second == "1";
}

// The same values as t, in a non-contiguous layout: every other element of a buffer twice as
// wide in the last dim.
Tensor non_contiguous(const Tensor& t) {
  using namespace ember::indexing;
  ember::Shape wide_shape = t.sizes();
  wide_shape.back() *= 2;
  Tensor wide = ember::zeros(wide_shape);
  wide.index_put_({Ellipsis, Slice(None, None, 2)}, t);
  return wide.index({Ellipsis, Slice(None, None, 2)});
}

using Op = std::function<Tensor(const std::vector<Tensor>&, const GoldenCase&)>;

// For each case of `op`: the inputs named in `names` (those present) require grad; runs `fn`,
// backward with grad_output, and compares the output and every gradient.
void run_cases(const std::string& op, const std::vector<std::string>& names, const Op& fn) {
  const auto cases = ember::test::golden_cases(op);
  REQUIRE(!cases.empty());
  for (const std::string& name : cases) {
    const GoldenCase f32 = ember::test::load_golden(name + ".f32.txt");
    const GoldenCase f64 = ember::test::load_golden(name + ".f64.txt");
    for (const bool strided : {false, true}) {
      INFO("case " << name << (strided ? " (non-contiguous inputs)" : ""));
      std::vector<Tensor> inputs;
      for (const std::string& n : names) {
        if (!f32.has(n)) {
          inputs.emplace_back();
          continue;
        }
        Tensor t = f32.at(n).as_float();
        if (strided) t = non_contiguous(t);
        if (strided && t.size(-1) > 1) CHECK_FALSE(t.is_contiguous());
        t.requires_grad_();
        inputs.push_back(t);
      }
      const Tensor y = fn(inputs, f32);
      check_golden(y, f32, f64, "output");
      y.backward(f32.at("grad_output").as_float());
      for (std::size_t i = 0; i < names.size(); ++i)
        if (inputs[i].defined()) check_golden(inputs[i].grad(), f32, f64, "grad_" + names[i]);
    }
  }
}

}  // namespace

TEST_CASE("golden: conv2d matches PyTorch", "[nn][conv][golden]") {
  run_cases("conv2d", {"input", "weight", "bias"},
            [](const std::vector<Tensor>& t, const GoldenCase& c) {
              const auto padding = c.params.count("padding") ? c.params.at("padding") : "0";
              ember::Conv2dPadding pad = padding == "same" || padding == "valid"
                                             ? ember::Conv2dPadding(padding)
                                             : ember::Conv2dPadding(pair_param(c, "padding", 0));
              return F::conv2d(
                  t[0], t[1],
                  F::Conv2dFuncOptions()
                      .bias(t[2])
                      .stride(pair_param(c, "stride", 1))
                      .padding(pad)
                      .dilation(pair_param(c, "dilation", 1))
                      .groups(c.params.count("groups") ? std::stoll(c.params.at("groups")) : 1));
            });
}

TEST_CASE("golden: max_pool2d matches PyTorch", "[nn][pool][golden]") {
  run_cases("max_pool2d", {"input"}, [](const std::vector<Tensor>& t, const GoldenCase& c) {
    const ExpandingArray<2> k = pair_param(c, "kernel_size", 1);
    return F::max_pool2d(t[0], F::MaxPool2dFuncOptions(k)
                                   .stride(pair_param(c, "stride", k))
                                   .padding(pair_param(c, "padding", 0))
                                   .dilation(pair_param(c, "dilation", 1))
                                   .ceil_mode(flag(c, "ceil_mode", false)));
  });
}

TEST_CASE("golden: avg_pool2d matches PyTorch", "[nn][pool][golden]") {
  run_cases("avg_pool2d", {"input"}, [](const std::vector<Tensor>& t, const GoldenCase& c) {
    const ExpandingArray<2> k = pair_param(c, "kernel_size", 1);
    std::optional<std::int64_t> divisor;
    if (c.params.count("divisor_override")) divisor = std::stoll(c.params.at("divisor_override"));
    return F::avg_pool2d(t[0], F::AvgPool2dFuncOptions(k)
                                   .stride(pair_param(c, "stride", k))
                                   .padding(pair_param(c, "padding", 0))
                                   .ceil_mode(flag(c, "ceil_mode", false))
                                   .count_include_pad(flag(c, "count_include_pad", true))
                                   .divisor_override(divisor));
  });
}

TEST_CASE("golden: adaptive_avg_pool2d matches PyTorch", "[nn][pool][golden]") {
  run_cases("adaptive_avg_pool2d", {"input"},
            [](const std::vector<Tensor>& t, const GoldenCase& c) {
              return F::adaptive_avg_pool2d(
                  t[0], F::AdaptiveAvgPool2dFuncOptions(pair_param(c, "output_size", 1)));
            });
}
