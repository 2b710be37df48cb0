// Activations and the softmax family against PyTorch 1.13 (tests/data/golden/, FORMAT.md there):
// every case of every op, forward and backward, float32 file always and float64 file when the
// header says compare=any.
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

// Runs every case of `op`: y = fn(input, case), then y.backward(grad_output).
void run_unary_cases(const std::string& op,
                     const std::function<Tensor(const Tensor&, const GoldenCase&)>& fn) {
  const auto cases = ember::test::golden_cases(op);
  REQUIRE(!cases.empty());
  for (const std::string& name : cases) {
    INFO("case " << name);
    const GoldenCase f32 = ember::test::load_golden(name + ".f32.txt");
    const GoldenCase f64 = ember::test::load_golden(name + ".f64.txt");
    Tensor x = f32.at("input").as_float();
    if (f32.expects_error()) {
      CHECK_THROWS_AS(fn(x, f32), ember::Error);
      continue;
    }
    x.requires_grad_();
    const Tensor y = fn(x, f32);
    check_golden(y, f32, f64, "output");
    if (f32.has("grad_output")) {
      y.backward(f32.at("grad_output").as_float());
      REQUIRE(x.grad().defined());
      check_golden(x.grad(), f32, f64, "grad_input");
    }
  }
}

std::int64_t dim_of(const GoldenCase& c) {
  return static_cast<std::int64_t>(c.number("dim"));
}

}  // namespace

TEST_CASE("golden: elementwise activations match PyTorch", "[nn][activation][golden]") {
  SECTION("sigmoid") {
    run_unary_cases("sigmoid", [](const Tensor& x, const GoldenCase&) { return F::sigmoid(x); });
  }
  SECTION("tanh") {
    run_unary_cases("tanh", [](const Tensor& x, const GoldenCase&) { return F::tanh(x); });
  }
  SECTION("relu") {
    run_unary_cases("relu", [](const Tensor& x, const GoldenCase&) { return F::relu(x); });
  }
  SECTION("silu") {
    run_unary_cases("silu", [](const Tensor& x, const GoldenCase&) { return F::silu(x); });
  }
  SECTION("logsigmoid") {
    run_unary_cases("logsigmoid",
                    [](const Tensor& x, const GoldenCase&) { return F::logsigmoid(x); });
  }
}

TEST_CASE("golden: softmax family matches PyTorch", "[nn][softmax][golden]") {
  SECTION("softmax") {
    run_unary_cases("softmax",
                    [](const Tensor& x, const GoldenCase& c) { return F::softmax(x, dim_of(c)); });
  }
  SECTION("log_softmax") {
    run_unary_cases("log_softmax", [](const Tensor& x, const GoldenCase& c) {
      return F::log_softmax(x, dim_of(c));
    });
  }
  SECTION("softmin") {
    run_unary_cases("softmin",
                    [](const Tensor& x, const GoldenCase& c) { return F::softmin(x, dim_of(c)); });
  }
  SECTION("softmax2d") {
    run_unary_cases("softmax2d",
                    [](const Tensor& x, const GoldenCase&) { return F::softmax2d(x); });
  }
}
