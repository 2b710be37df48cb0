// BatchNorm1d/2d against PyTorch 1.13 (tests/data/golden/batch_norm_*, FORMAT.md there): each
// case runs one module for several steps in train or eval mode, and every step's output, input,
// weight and bias gradients and running buffers are compared with both files.
#include <catch2/catch.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <ember/autograd/grad_mode.h>
#include <ember/nn/batchnorm.h>

#include "support/golden.h"

using namespace ember;
using ember::test::check_golden;
using ember::test::GoldenCase;

namespace {

std::unique_ptr<nn::BatchNormBase> make_module(const GoldenCase& c) {
  const std::string& momentum = c.params.at("momentum");
  nn::BatchNormOptions options =
      nn::BatchNormOptions(static_cast<std::int64_t>(c.number("num_features")))
          .eps(c.number("eps"))
          .momentum(momentum == "None" ? std::nullopt : std::optional<double>(std::stod(momentum)))
          .affine(c.params.at("affine") == "1")
          .track_running_stats(c.params.at("track_running_stats") == "1");
  if (c.params.at("module") == "BatchNorm1d") return std::make_unique<nn::BatchNorm1d>(options);
  REQUIRE(c.params.at("module") == "BatchNorm2d");
  return std::make_unique<nn::BatchNorm2d>(options);
}

// The input's values in the memory layout the case names (FORMAT.md: layout=).
Tensor laid_out(const Tensor& x, const std::string& layout) {
  if (layout == "contiguous") return x;
  REQUIRE(layout == "channels_last");
  const Tensor y = x.dim() == 2 ? x.t().contiguous().t()
                                : x.permute({0, 2, 3, 1}).contiguous().permute({0, 3, 1, 2});
  REQUIRE_FALSE(y.is_contiguous());
  return y;
}

// "output_2": a line of step k. (Appending, not at_step("output", step): GCC 12 warns falsely on
// that.)
std::string at_step(const char* name, std::size_t k) {
  std::string line = name;
  line += '_';
  line += std::to_string(k);
  return line;
}

void run_case(const std::string& name) {
  INFO("case " << name);
  const GoldenCase f32 = test::load_golden(name + ".f32.txt");
  const GoldenCase f64 = test::load_golden(name + ".f64.txt");
  std::unique_ptr<nn::BatchNormBase> bn = make_module(f32);
  {
    NoGradGuard no_grad;
    for (const char* initial : {"weight", "bias", "running_mean", "running_var"}) {
      if (!f32.has(initial)) continue;
      Tensor& t = std::string(initial) == "weight"         ? bn->weight
                  : std::string(initial) == "bias"         ? bn->bias
                  : std::string(initial) == "running_mean" ? bn->running_mean
                                                           : bn->running_var;
      REQUIRE(t.defined());
      t.copy_(f32.at(initial).as_float());
    }
  }
  const std::string& modes = f32.params.at("modes");
  for (std::size_t step = 1; step <= modes.size(); ++step) {
    INFO("step " << step << " in " << (modes[step - 1] == 't' ? "train" : "eval") << " mode");
    bn->train(modes[step - 1] == 't');
    bn->zero_grad();
    Tensor x = laid_out(f32.at(at_step("input", step)).as_float(), f32.params.at("layout"));
    x.requires_grad_();
    const Tensor y = (*bn)(x);
    check_golden(y, f32, f64, at_step("output", step));
    y.backward(f32.at(at_step("grad_output", step)).as_float());
    check_golden(x.grad(), f32, f64, at_step("grad_input", step));
    if (f32.has(at_step("grad_weight", step))) {
      check_golden(bn->weight.grad(), f32, f64, at_step("grad_weight", step));
      check_golden(bn->bias.grad(), f32, f64, at_step("grad_bias", step));
    } else {
      CHECK_FALSE(bn->weight.defined());
      CHECK_FALSE(bn->bias.defined());
    }
    if (f32.has(at_step("running_mean", step))) {
      check_golden(bn->running_mean, f32, f64, at_step("running_mean", step));
      check_golden(bn->running_var, f32, f64, at_step("running_var", step));
      REQUIRE(bn->num_batches_tracked.dtype() == kInt64);
      CHECK(bn->num_batches_tracked.item<std::int64_t>() ==
            static_cast<std::int64_t>(f32.at(at_step("num_batches_tracked", step)).values.at(0)));
    } else {
      CHECK(bn->buffers().empty());
    }
  }
}

}  // namespace

TEST_CASE("golden: BatchNorm1d and BatchNorm2d match PyTorch step by step",
          "[nn][batchnorm][golden]") {
  const auto cases = test::golden_cases("batch_norm");
  REQUIRE(cases.size() >= 10);
  for (const std::string& name : cases) run_case(name);
}
