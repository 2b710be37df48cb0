// pow, square, sqrt, abs, clamp, minimum, maximum, min, logsumexp, cat and stack: values and
// gradients against PyTorch (NaN and infinities included), gradchecks on broadcast and
// non-contiguous inputs, and the errors.
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <map>

#include "support/gradcheck.h"

#include <ember/core/generator.h>
#include <ember/core/ops.h>

using namespace ember;
using Ts = std::vector<Tensor>;

namespace {

struct MathCase {
  const char* name;
  Shape shape;
  std::vector<double> values;
  std::vector<std::vector<double>> grads;
};

// PyTorch 1.13 (/usr/bin/python3) for this snippet: out = f(inputs), then
// (out * (1, 2, 3, ... shaped like out)).sum().backward(), giving out and each input's grad:
//   import torch, math
//   nan, inf = float('nan'), float('inf')
//   def fmt(v):
//       if math.isnan(v): return 'NAN'
//       if math.isinf(v): return '-INFINITY' if v < 0 else 'INFINITY'
//       return repr(float(v)) + ''
//   def show(name, f, *inputs):
//       xs = [torch.tensor(x, requires_grad=True) for x in inputs]
//       out = f(*xs)
//       w = torch.arange(1., out.numel() + 1).reshape(out.shape)
//       (out * w).sum().backward()
//       fl = lambda t: ', '.join(fmt(v) for v in t.flatten().tolist())
//       grads = ', '.join('{%s}' % fl(x.grad) for x in xs)
//       print('  {"%s", {%s}, {%s}, {%s}},' % (name, ', '.join(map(str, out.shape)),
//       fl(out.detach()), grads))
//   a = [[0.5, -2.0, 0.0], [3.0, nan, -inf]]
//   p = [[0.5, 2.0, 1.5], [3.0, 0.25, 4.0]]
//   show("pow(p, 2)", lambda x: x.pow(2), p)
//   show("pow(p, 0.5)", lambda x: x.pow(0.5), p)
//   show("pow(p, 0)", lambda x: x.pow(0), p)
//   show("pow(p, -1.5)", lambda x: x.pow(-1.5), p)
//   show("pow(p, e)", lambda x, e: x.pow(e), p, [0.5, -1.0, 2.0])
//   show("pow(2, e)", lambda e: torch.pow(2, e), [0.5, -1.0, 2.0])
//   show("square(a)", lambda x: x.square(), a)
//   show("sqrt(p)", lambda x: x.sqrt(), p)
//   show("sqrt(a)", lambda x: x.sqrt(), a)
//   show("abs(a)", lambda x: x.abs(), a)
//   show("clamp(a, -1, 1)", lambda x: x.clamp(-1, 1), a)
//   show("clamp_min(a, 0)", lambda x: x.clamp_min(0), a)
//   show("clamp_max(a, 0.5)", lambda x: x.clamp_max(0.5), a)
//   show("minimum(a, b)", lambda x, y: torch.minimum(x, y), a, [0.5, 1.0, nan])
//   show("maximum(a, b)", lambda x, y: torch.maximum(x, y), a, [0.5, 1.0, nan])
//   show("min(p)", lambda x: x.min(), p)
//   show("min(t)", lambda x: x.min(), [[1.0, 0.5], [0.5, 2.0]])
//   show("min(a)", lambda x: x.min(), a)
//   show("min(a, 1)", lambda x: x.min(1)[0], a)
//   show("min(p, 0, keepdim)", lambda x: x.min(0, keepdim=True)[0], p)
//   show("logsumexp(l, 1)", lambda x: torch.logsumexp(x, 1), [[1e4, 1e4], [-1e4, -1e4], [-inf,
//   -inf], [1.0, 2.0], [-inf, 0.0]]) show("logsumexp(p, 0)", lambda x: torch.logsumexp(x, 0), p)
//   show("cat([p, q], 0)", lambda x, y: torch.cat([x, y], 0), p, [[7.0, 8.0, 9.0]])
//   show("cat([p, r], 1)", lambda x, y: torch.cat([x, y], 1), p, [[7.0], [8.0]])
//   show("stack([p, p2], 1)", lambda x, y: torch.stack([x, y], 1), p, [[1.0, 2.0, 3.0],
//   [4.0, 5.0, 6.0]]) print('// indices', torch.tensor(a).min(1)[1].tolist(),
//   torch.tensor(p).min(0)[1].tolist())
const std::vector<MathCase> kMath = {
    {"pow(p, 2)", {2, 3}, {0.25, 4.0, 2.25, 9.0, 0.0625, 16.0}, {{1.0, 8.0, 9.0, 24.0, 2.5, 48.0}}},
    {"pow(p, 0.5)",
     {2, 3},
     {0.7071067690849304, 1.4142135381698608, 1.2247449159622192, 1.7320507764816284, 0.5, 2.0},
     {{0.7071067690849304, 0.7071067690849304, 1.2247447967529297, 1.154700517654419, 5.0, 1.5}}},
    {"pow(p, 0)", {2, 3}, {1.0, 1.0, 1.0, 1.0, 1.0, 1.0}, {{0.0, 0.0, 0.0, 0.0, 0.0, 0.0}}},
    {"pow(p, -1.5)",
     {2, 3},
     {2.8284270763397217, 0.3535533845424652, 0.5443310737609863, 0.19245009124279022, 8.0, 0.125},
     {{-8.485280990600586, -0.5303300619125366, -1.632993221282959, -0.38490015268325806, -240.0,
       -0.28125}}},
    {"pow(p, e)",
     {2, 3},
     {0.7071067690849304, 0.5, 2.25, 1.7320507764816284, 4.0, 16.0},
     {{0.7071067690849304, -0.5, 9.0, 1.154700517654419, -80.0, 48.0},
      {7.121280193328857, -27.032739639282227, 135.82115173339844}}},
    {"pow(2, e)",
     {3},
     {1.4142135381698608, 0.5, 4.0},
     {{0.9802581071853638, 0.6931471824645996, 8.317766189575195}}},
    {"square(a)",
     {2, 3},
     {0.25, 4.0, 0.0, 9.0, NAN, INFINITY},
     {{1.0, -8.0, 0.0, 24.0, NAN, -INFINITY}}},
    {"sqrt(p)",
     {2, 3},
     {0.7071067690849304, 1.4142135381698608, 1.2247449159622192, 1.7320507764816284, 0.5, 2.0},
     {{0.7071067690849304, 0.7071067690849304, 1.2247447967529297, 1.154700517654419, 5.0, 1.5}}},
    {"sqrt(a)",
     {2, 3},
     {0.7071067690849304, NAN, 0.0, 1.7320507764816284, NAN, NAN},
     {{0.7071067690849304, NAN, INFINITY, 1.154700517654419, NAN, NAN}}},
    {"abs(a)", {2, 3}, {0.5, 2.0, 0.0, 3.0, NAN, INFINITY}, {{1.0, -2.0, 0.0, 4.0, 0.0, -6.0}}},
    {"clamp(a, -1, 1)", {2, 3}, {0.5, -1.0, 0.0, 1.0, NAN, -1.0}, {{1.0, 0.0, 3.0, 0.0, 0.0, 0.0}}},
    {"clamp_min(a, 0)", {2, 3}, {0.5, 0.0, 0.0, 3.0, NAN, 0.0}, {{1.0, 0.0, 3.0, 4.0, 0.0, 0.0}}},
    {"clamp_max(a, 0.5)",
     {2, 3},
     {0.5, -2.0, 0.0, 0.5, NAN, -INFINITY},
     {{1.0, 2.0, 3.0, 0.0, 0.0, 6.0}}},
    {"minimum(a, b)",
     {2, 3},
     {0.5, -2.0, NAN, 0.5, NAN, NAN},
     {{0.5, 2.0, 3.0, 0.0, 5.0, 6.0}, {4.5, 5.0, 9.0}}},
    {"maximum(a, b)",
     {2, 3},
     {0.5, 1.0, NAN, 3.0, NAN, NAN},
     {{0.5, 0.0, 3.0, 4.0, 5.0, 6.0}, {0.5, 7.0, 9.0}}},
    {"min(p)", {}, {0.25}, {{0.0, 0.0, 0.0, 0.0, 1.0, 0.0}}},
    {"min(t)", {}, {0.5}, {{0.0, 0.5, 0.5, 0.0}}},
    {"min(a)", {}, {NAN}, {{0.0, 0.0, 0.0, 0.0, 1.0, 0.0}}},
    {"min(a, 1)", {2}, {-2.0, NAN}, {{0.0, 1.0, 0.0, 0.0, 2.0, 0.0}}},
    {"min(p, 0, keepdim)", {1, 3}, {0.5, 0.25, 1.5}, {{1.0, 0.0, 3.0, 0.0, 2.0, 0.0}}},
    {"logsumexp(l, 1)",
     {5},
     {10000.693359375, -9999.306640625, -INFINITY, 2.3132617473602295, 0.0},
     {{0.4998939037322998, 0.4998939037322998, 0.9997878074645996, 0.9997878074645996, NAN, NAN,
       1.075765609741211, 2.92423415184021, 0.0, 5.0}}},
    {"logsumexp(p, 0)",
     {3},
     {3.078889846801758, 2.160224199295044, 4.078889846801758},
     {{0.07585816830396652, 1.7039055824279785, 0.22757449746131897, 0.9241417050361633,
       0.2960943877696991, 2.7724251747131348}}},
    {"cat([p, q], 0)",
     {3, 3},
     {0.5, 2.0, 1.5, 3.0, 0.25, 4.0, 7.0, 8.0, 9.0},
     {{1.0, 2.0, 3.0, 4.0, 5.0, 6.0}, {7.0, 8.0, 9.0}}},
    {"cat([p, r], 1)",
     {2, 4},
     {0.5, 2.0, 1.5, 7.0, 3.0, 0.25, 4.0, 8.0},
     {{1.0, 2.0, 3.0, 5.0, 6.0, 7.0}, {4.0, 8.0}}},
    {"stack([p, p2], 1)",
     {2, 2, 3},
     {0.5, 2.0, 1.5, 1.0, 2.0, 3.0, 3.0, 0.25, 4.0, 4.0, 5.0, 6.0},
     {{1.0, 2.0, 3.0, 7.0, 8.0, 9.0}, {4.0, 5.0, 6.0, 10.0, 11.0, 12.0}}},
    // indices [1, 1] [0, 1, 0]
};

const std::vector<std::vector<float>> kA = {{0.5f, -2.0f, 0.0f}, {3.0f, NAN, -INFINITY}};
const std::vector<std::vector<float>> kP = {{0.5f, 2.0f, 1.5f}, {3.0f, 0.25f, 4.0f}};

Tensor rows(const std::vector<std::vector<float>>& v) {
  std::vector<float> flat;
  for (const auto& r : v) flat.insert(flat.end(), r.begin(), r.end());
  return from_vector(flat,
                     {static_cast<std::int64_t>(v.size()), static_cast<std::int64_t>(v[0].size())});
}

using Fn = std::function<Tensor(const Ts&)>;
struct Ours {
  Fn f;
  std::vector<Tensor> inputs;
};

std::map<std::string, Ours> ours() {
  const Tensor a = rows(kA), p = rows(kP);
  const Tensor e = tensor({0.5f, -1.0f, 2.0f});
  const Tensor b = tensor({0.5f, 1.0f, NAN});
  return {
      {"pow(p, 2)", {[](const Ts& t) { return t[0].pow(2); }, {p}}},
      {"pow(p, 0.5)", {[](const Ts& t) { return t[0].pow(0.5); }, {p}}},
      {"pow(p, 0)", {[](const Ts& t) { return t[0].pow(0); }, {p}}},
      {"pow(p, -1.5)", {[](const Ts& t) { return t[0].pow(-1.5); }, {p}}},
      {"pow(p, e)", {[](const Ts& t) { return t[0].pow(t[1]); }, {p, e}}},
      {"pow(2, e)", {[](const Ts& t) { return pow(2, t[0]); }, {e}}},
      {"square(a)", {[](const Ts& t) { return t[0].square(); }, {a}}},
      {"sqrt(p)", {[](const Ts& t) { return t[0].sqrt(); }, {p}}},
      {"sqrt(a)", {[](const Ts& t) { return sqrt(t[0]); }, {a}}},
      {"abs(a)", {[](const Ts& t) { return t[0].abs(); }, {a}}},
      {"clamp(a, -1, 1)", {[](const Ts& t) { return t[0].clamp(-1, 1); }, {a}}},
      {"clamp_min(a, 0)", {[](const Ts& t) { return t[0].clamp_min(0); }, {a}}},
      {"clamp_max(a, 0.5)", {[](const Ts& t) { return t[0].clamp_max(0.5); }, {a}}},
      {"minimum(a, b)", {[](const Ts& t) { return minimum(t[0], t[1]); }, {a, b}}},
      {"maximum(a, b)", {[](const Ts& t) { return maximum(t[0], t[1]); }, {a, b}}},
      {"min(p)", {[](const Ts& t) { return t[0].min(); }, {p}}},
      {"min(t)", {[](const Ts& t) { return t[0].min(); }, {tensor({{1.f, 0.5f}, {0.5f, 2.f}})}}},
      {"min(a)", {[](const Ts& t) { return t[0].min(); }, {a}}},
      {"min(a, 1)", {[](const Ts& t) { return std::get<0>(t[0].min(1)); }, {a}}},
      {"min(p, 0, keepdim)", {[](const Ts& t) { return std::get<0>(t[0].min(0, true)); }, {p}}},
      {"logsumexp(l, 1)",
       {[](const Ts& t) { return t[0].logsumexp(1); },
        {tensor({{1e4f, 1e4f},
                 {-1e4f, -1e4f},
                 {-INFINITY, -INFINITY},
                 {1.f, 2.f},
                 {-INFINITY, 0.f}})}}},
      {"logsumexp(p, 0)", {[](const Ts& t) { return logsumexp(t[0], 0); }, {p}}},
      {"cat([p, q], 0)",
       {[](const Ts& t) {
          return cat({t[0], t[1]}, 0);
        },
        {p, tensor({{7.f, 8.f, 9.f}})}}},
      {"cat([p, r], 1)",
       {[](const Ts& t) {
          return cat({t[0], t[1]}, 1);
        },
        {p, tensor({{7.f}, {8.f}})}}},
      {"stack([p, p2], 1)",
       {[](const Ts& t) {
          return stack({t[0], t[1]}, 1);
        },
        {p, tensor({{1.f, 2.f, 3.f}, {4.f, 5.f, 6.f}})}}},
  };
}

void check_close(const std::vector<float>& got, const std::vector<double>& want,
                 double rtol = 1e-5) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO("element " << i << ": got " << got[i] << ", PyTorch " << want[i]);
    if (std::isnan(want[i]))
      CHECK(std::isnan(got[i]));
    else if (std::isinf(want[i]))
      CHECK(static_cast<double>(got[i]) == want[i]);
    else
      CHECK(static_cast<double>(got[i]) == Approx(want[i]).epsilon(rtol).margin(1e-6));
  }
}

Tensor input(Shape shape, std::uint64_t seed, double offset = 0.0) {
  Generator gen(seed);
  return (randn(shape, gen) + offset).detach().requires_grad_();
}

}  // namespace

TEST_CASE("math ops: values and gradients match PyTorch, NaN and inf included", "[ops][math]") {
  const auto table = ours();
  for (const MathCase& c : kMath) {
    INFO(c.name);
    const Ours& o = table.at(c.name);
    Ts inputs;
    for (const Tensor& t : o.inputs) inputs.push_back(t.clone().requires_grad_());
    const Tensor out = o.f(inputs);
    CHECK(out.sizes() == c.shape);
    check_close(out.to_vector<float>(), c.values);
    const Tensor w = (arange(out.numel()) + 1).to(kFloat32).reshape(out.sizes());
    (out * w).sum().backward();
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      INFO("gradient of input " << i);
      // PyTorch's logsumexp backward is exp(x - result) with result rounded to float32: at
      // x = 1e4 that is exp(1e4 - 10000.6934) = 0.49989 where the exact softmax (ours) is 0.5.
      const double rtol = std::string(c.name) == "logsumexp(l, 1)" ? 3e-4 : 1e-5;
      check_close(inputs[i].grad().to_vector<float>(), c.grads[i], rtol);
    }
  }
  // The indices of min along a dim: the first minimum, a NaN counting as the minimum.
  CHECK(std::get<1>(rows(kA).min(1)).to_vector<std::int64_t>() == std::vector<std::int64_t>{1, 1});
  CHECK(std::get<1>(rows(kP).min(0)).to_vector<std::int64_t>() ==
        std::vector<std::int64_t>{0, 1, 0});
}

TEST_CASE("math ops: gradchecks on broadcast and non-contiguous inputs", "[ops][math][gradcheck]") {
  const Tensor pos = input({4, 3}, 1, 3.0);  // away from 0 for pow, sqrt; used as pos.t()
  const Tensor x = input({3, 4}, 2), row = input({4}, 3), col = input({4, 1}, 4, 3.0);
  CHECK_GRADCHECK([](const Ts& t) { return t[0].t().pow(t[1]); }, pos, input({4}, 5));
  CHECK_GRADCHECK([](const Ts& t) { return t[0].t().pow(2.5) + pow(1.5, t[1]); }, pos, x);
  CHECK_GRADCHECK([](const Ts& t) { return t[0].t().sqrt() * t[1].square(); }, pos, row);
  CHECK_GRADCHECK([](const Ts& t) { return t[0].t().abs() + t[1].abs(); }, x, input({3}, 10));
  CHECK_GRADCHECK([](const Ts& t) { return t[0].t().clamp(-0.5, 0.5); }, x);
  CHECK_GRADCHECK([](const Ts& t) { return minimum(t[0].t(), t[1]) + maximum(t[0].t(), t[2]); }, x,
                  input({3}, 6), col);
  CHECK_GRADCHECK([](const Ts& t) { return t[0].t().min() + std::get<0>(t[0].t().min(1)).sum(); },
                  x);
  CHECK_GRADCHECK(
      [](const Ts& t) { return t[0].t().logsumexp(0) + t[0].logsumexp(-1, true).sum(); }, x);
  CHECK_GRADCHECK(
      [](const Ts& t) {
        return cat({t[0].t(), t[1].unsqueeze(1), t[2]}, 1);
      },
      x, input({4}, 7), input({4, 2}, 8));
  CHECK_GRADCHECK([](const Ts& t) { return stack({t[0].t(), t[1]}, -1); }, x, input({4, 3}, 9));
}

TEST_CASE("math ops: dtypes and errors as PyTorch", "[ops][math]") {
  // torch.arange(4).pow(2) -> [0, 1, 4, 9]; torch.pow(2, torch.arange(4)) -> [1, 2, 4, 8];
  // torch.arange(4).pow(0.5) -> [0.0000, 1.0000, 1.4142, 1.7321]; .pow(-1) -> "Integers to
  // negative integer powers are not allowed."; but an exponent tensor with negative entries
  // computes: torch.arange(4).pow(torch.arange(4) - 2) -> [0, 1, 1, 3]
  CHECK(arange(4).pow(2).to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 1, 4, 9});
  CHECK(pow(2, arange(4)).to_vector<std::int64_t>() == std::vector<std::int64_t>{1, 2, 4, 8});
  CHECK(arange(4).pow(0.5).dtype() == kFloat32);
  CHECK_THROWS_WITH(arange(4).pow(-1),
                    "pow: integers to negative integer powers are not allowed "
                    "(int64 tensor of shape [4], exponent -1)");
  CHECK(arange(4).pow(arange(4) - 2).to_vector<std::int64_t>() ==
        std::vector<std::int64_t>{0, 1, 1, 3});
  CHECK(tensor({-3, 2}).abs().to_vector<std::int64_t>() == std::vector<std::int64_t>{3, 2});
  CHECK(arange(4).sqrt().dtype() == kFloat32);
  CHECK(arange(5).clamp(1, 3).to_vector<std::int64_t>() ==
        std::vector<std::int64_t>{1, 1, 2, 3, 3});
  CHECK_THROWS_WITH(zeros({2}).clamp(std::nullopt, std::nullopt),
                    "clamp: at least one of min and max must be given (shape [2])");
  // torch.cat([torch.zeros(2, dtype=torch.int64), torch.ones(1)]) -> tensor([0., 0., 1.])
  CHECK(cat({zeros({2}, kInt64), ones({1})}).to_vector<float>() == std::vector<float>{0, 0, 1});
  // torch.cat([torch.zeros(2, 2), torch.zeros(3, 3)], 1) -> "Sizes of tensors must match except in
  // dimension 1. Expected size 2 but got size 3 for tensor number 1 in the list."
  CHECK_THROWS_WITH(cat({zeros({2, 2}), zeros({3, 3})}, 1),
                    "cat: sizes of tensors must match except in dim 1: tensor 0 has shape [2, 2] "
                    "and tensor 1 has shape [3, 3]");
  CHECK_THROWS_WITH(cat({zeros({2, 2}), zeros({2})}),
                    "cat: tensor 1 has shape [2] but tensor 0 has shape [2, 2] (all need the same "
                    "number of dims)");
  CHECK_THROWS_WITH(cat({}), "cat: expected a non-empty list of tensors");
  CHECK_THROWS_WITH(cat({zeros({})}),
                    "cat: zero-dimensional tensor (at position 0) cannot be concatenated");
  // torch.stack([torch.zeros(2), torch.zeros(3)]) -> "stack expects each tensor to be equal size,
  // but got [2] at entry 0 and [3] at entry 1"
  CHECK_THROWS_WITH(stack({zeros({2}), zeros({3})}),
                    "stack: expects each tensor to be equal size, but got [2] at entry 0 and [3] "
                    "at entry 1");
  CHECK(stack({zeros({2}), ones({2})}, -1).sizes() == Shape{2, 2});
  CHECK_THROWS_WITH(zeros({2, 0}).min(1),
                    "min: cannot reduce over dim 1 of size 0 in shape [2, 0]");
  CHECK_THROWS_WITH(zeros({0}).min(), "min: cannot take the min of an empty tensor of shape [0]");
  CHECK(arange(5).min().item<std::int64_t>() == 0);
}
