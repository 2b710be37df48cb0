// Losses against PyTorch 1.13 (tests/data/golden/, FORMAT.md there): every case, forward and the
// gradients of input (and of target for bce_with_logits and mse_loss), including the error cases.
#include <catch2/catch.hpp>

#include <functional>
#include <string>

#include <ember/nn/functional.h>

#include "support/golden.h"

namespace F = ember::nn::functional;
using ember::Tensor;
using ember::test::check_golden;
using ember::test::GoldenCase;

namespace {

F::Reduction reduction_of(const GoldenCase& c) {
  const std::string r = c.params.at("reduction");
  if (r == "none") return F::Reduction::None;
  if (r == "sum") return F::Reduction::Sum;
  return F::Reduction::Mean;
}

Tensor optional_float(const GoldenCase& c, const std::string& name) {
  return c.has(name) ? c.at(name).as_float() : Tensor();
}

// For each case of `op`: builds input (requires grad) and target (requires grad when
// `target_grad`), runs `fn`, backward with grad_output, compares.
void run_loss_cases(
    const std::string& op, bool float_target, bool target_grad,
    const std::function<Tensor(const Tensor&, const Tensor&, const GoldenCase&)>& fn) {
  const auto cases = ember::test::golden_cases(op);
  REQUIRE(!cases.empty());
  for (const std::string& name : cases) {
    INFO("case " << name);
    const GoldenCase f32 = ember::test::load_golden(name + ".f32.txt");
    const GoldenCase f64 = ember::test::load_golden(name + ".f64.txt");
    Tensor x = f32.at("input").as_float();
    Tensor t = float_target ? f32.at("target").as_float() : f32.at("target").as_int64();
    if (f32.expects_error()) {
      CHECK_THROWS_AS(fn(x, t, f32), ember::Error);
      continue;
    }
    x.requires_grad_();
    if (target_grad) t.requires_grad_();
    const Tensor y = fn(x, t, f32);
    check_golden(y, f32, f64, "output");
    y.backward(f32.at("grad_output").as_float());
    check_golden(x.grad(), f32, f64, "grad_input");
    if (target_grad && f32.has("grad_target")) check_golden(t.grad(), f32, f64, "grad_target");
  }
}

}  // namespace

TEST_CASE("golden: cross_entropy matches PyTorch", "[nn][loss][golden]") {
  run_loss_cases("cross_entropy", false, false,
                 [](const Tensor& x, const Tensor& t, const GoldenCase& c) {
                   F::CrossEntropyOptions o;
                   o.weight = optional_float(c, "weight");
                   o.reduction = reduction_of(c);
                   o.ignore_index = static_cast<std::int64_t>(c.number("ignore_index"));
                   if (c.params.count("label_smoothing"))
                     o.label_smoothing = c.number("label_smoothing");
                   return F::cross_entropy(x, t, o);
                 });
}

TEST_CASE("golden: nll_loss matches PyTorch", "[nn][loss][golden]") {
  run_loss_cases("nll_loss", false, false,
                 [](const Tensor& x, const Tensor& t, const GoldenCase& c) {
                   F::NLLLossOptions o;
                   o.weight = optional_float(c, "weight");
                   o.reduction = reduction_of(c);
                   o.ignore_index = static_cast<std::int64_t>(c.number("ignore_index"));
                   return F::nll_loss(x, t, o);
                 });
}

TEST_CASE("golden: binary_cross_entropy_with_logits matches PyTorch", "[nn][loss][golden]") {
  run_loss_cases("bce_with_logits", true, true,
                 [](const Tensor& x, const Tensor& t, const GoldenCase& c) {
                   F::BCEWithLogitsOptions o;
                   o.weight = optional_float(c, "weight");
                   o.pos_weight = optional_float(c, "pos_weight");
                   o.reduction = reduction_of(c);
                   return F::binary_cross_entropy_with_logits(x, t, o);
                 });
}

TEST_CASE("golden: mse_loss matches PyTorch", "[nn][loss][golden]") {
  run_loss_cases("mse_loss", true, true, [](const Tensor& x, const Tensor& t, const GoldenCase& c) {
    return F::mse_loss(x, t, reduction_of(c));
  });
}
