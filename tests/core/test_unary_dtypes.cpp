// Unary ops on integer tensors against PyTorch: the floating ops (exp, log, sqrt, sigmoid, tanh,
// logsumexp, pow with a float exponent or base, clamp with float bounds) convert int64 and uint8
// to float32; abs, neg, square, relu, clamp with integer bounds and integer pow keep the dtype
// (wrapping in uint8); softmax, log_softmax, silu, logsigmoid, mean and a negative integer
// number as exponent throw, as PyTorch raises for each. The table is what PyTorch 1.13 (Debian
// python3-torch, /usr/bin/python3) prints for this snippet:
//
//   import torch, math
//   import torch.nn.functional as F
//   X = {'f32': torch.tensor([-2.0, 0.0, 1.0, 4.0]), 'i64': torch.tensor([-2, 0, 1, 4]),
//        'u8': torch.tensor([0, 1, 2, 200], dtype=torch.uint8)}
//   OPS = {
//       'exp': torch.exp, 'log': torch.log, 'sqrt': torch.sqrt, 'sigmoid': torch.sigmoid,
//       'tanh': torch.tanh, 'relu': torch.relu, 'silu': F.silu, 'logsigmoid': F.logsigmoid,
//       'softmax': lambda t: t.softmax(0), 'log_softmax': lambda t: t.log_softmax(0),
//       'logsumexp': lambda t: t.logsumexp(0), 'mean': lambda t: t.mean(),
//       'mean(0)': lambda t: t.mean(0), 'pow(x, 2.0)': lambda t: t.pow(2.0),
//       'pow(x, 0.5)': lambda t: t.pow(0.5), 'pow(x, 2)': lambda t: t.pow(2),
//       'pow(x, -1)': lambda t: t.pow(-1), 'pow(2, x)': lambda t: torch.pow(2, t),
//       'pow(2.0, x)': lambda t: torch.pow(2.0, t), 'pow(x, x)': lambda t: t.pow(t),
//       'abs': torch.abs, 'neg': torch.neg, 'square': torch.square,
//       'clamp(0, 2)': lambda t: t.clamp(0, 2), 'clamp(0.5, 2.5)': lambda t: t.clamp(0.5, 2.5),
//       'clamp_min(1)': lambda t: t.clamp_min(1), 'clamp_max(0.5)': lambda t: t.clamp_max(0.5)}
//   DT = {torch.float32: 'kFloat32', torch.int64: 'kInt64', torch.uint8: 'kUInt8'}
//   def fmt(v):
//       if isinstance(v, float):
//           if math.isnan(v): return 'NAN'
//           if math.isinf(v): return '-INFINITY' if v < 0 else 'INFINITY'
//           return repr(v)
//       return str(v)
//   for op, f in OPS.items():
//       for name, x in X.items():
//           try:
//               out = f(x.clone())
//           except RuntimeError as e:
//               msg = str(e).splitlines()[0]
//               print('    {"%s", "%s", std::nullopt, {}},  // %s' % (op, name, msg))
//               continue
//           print('    {"%s", "%s", %s, {%s}},' % (op, name, DT[out.dtype],
//                 ', '.join(fmt(v) for v in out.flatten().tolist())))
//
// Floats are compared to 2e-6 relative (our exp, sigmoid and tanh are within a few ULP of the
// exact value, as PyTorch's vectorized ones), integers exactly.
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <ember/autograd/ops.h>
#include <ember/nn/functional/activation.h>

#include "support/all_close.h"

using namespace ember;
namespace F = ember::nn::functional;

namespace {

struct Case {
  const char* op;
  const char* input;
  std::optional<Dtype> dtype;  // empty: PyTorch raises (its message in the comment)
  std::vector<double> values;
};

const std::vector<Case> kTable = {
    {"exp", "f32", kFloat32, {0.1353352814912796, 1.0, 2.7182817459106445, 54.59815216064453}},
    {"exp", "i64", kFloat32, {0.1353352814912796, 1.0, 2.7182817459106445, 54.59815216064453}},
    {"exp", "u8", kFloat32, {1.0, 2.7182817459106445, 7.389056205749512, INFINITY}},
    {"log", "f32", kFloat32, {NAN, -INFINITY, 0.0, 1.3862943649291992}},
    {"log", "i64", kFloat32, {NAN, -INFINITY, 0.0, 1.3862943649291992}},
    {"log", "u8", kFloat32, {-INFINITY, 0.0, 0.6931471824645996, 5.2983174324035645}},
    {"sqrt", "f32", kFloat32, {NAN, 0.0, 1.0, 2.0}},
    {"sqrt", "i64", kFloat32, {NAN, 0.0, 1.0, 2.0}},
    {"sqrt", "u8", kFloat32, {0.0, 1.0, 1.4142135381698608, 14.142135620117188}},
    {"sigmoid",
     "f32",
     kFloat32,
     {0.11920291930437088, 0.5, 0.7310585975646973, 0.9820137619972229}},
    {"sigmoid",
     "i64",
     kFloat32,
     {0.11920291930437088, 0.5, 0.7310585975646973, 0.9820137619972229}},
    {"sigmoid", "u8", kFloat32, {0.5, 0.7310585975646973, 0.8807970285415649, 1.0}},
    {"tanh", "f32", kFloat32, {-0.9640275835990906, 0.0, 0.7615941762924194, 0.9993293285369873}},
    {"tanh", "i64", kFloat32, {-0.9640275835990906, 0.0, 0.7615941762924194, 0.9993293285369873}},
    {"tanh", "u8", kFloat32, {0.0, 0.7615941762924194, 0.9640275835990906, 1.0}},
    {"relu", "f32", kFloat32, {0.0, 0.0, 1.0, 4.0}},
    {"relu", "i64", kInt64, {0, 0, 1, 4}},
    {"relu", "u8", kUInt8, {0, 1, 2, 200}},
    {"silu", "f32", kFloat32, {-0.23840583860874176, 0.0, 0.7310585975646973, 3.9280550479888916}},
    {"silu", "i64", std::nullopt, {}},  // "silu_cpu" not implemented for 'Long'
    {"silu", "u8", std::nullopt, {}},   // "silu_cpu" not implemented for 'Byte'
    {"logsigmoid",
     "f32",
     kFloat32,
     {-2.1269280910491943, -0.6931471824645996, -0.3132616877555847, -0.018149929121136665}},
    {"logsigmoid", "i64", std::nullopt, {}},  // "log_sigmoid_cpu" not implemented for 'Long'
    {"logsigmoid", "u8", std::nullopt, {}},   // "log_sigmoid_cpu" not implemented for 'Byte'
    {"softmax",
     "f32",
     kFloat32,
     {0.0023153326474130154, 0.017108123749494553, 0.04650469869375229, 0.9340718388557434}},
    {"softmax",
     "i64",
     std::nullopt,
     {}},  // "softmax_lastdim_kernel_impl" not implemented for 'Long'
    {"softmax",
     "u8",
     std::nullopt,
     {}},  // "softmax_lastdim_kernel_impl" not implemented for 'Byte'
    {"log_softmax",
     "f32",
     kFloat32,
     {-6.068202018737793, -4.068202018737793, -3.068202018737793, -0.06820189952850342}},
    {"log_softmax",
     "i64",
     std::nullopt,
     {}},  // "log_softmax_lastdim_kernel_impl" not implemented for 'Long'
    {"log_softmax",
     "u8",
     std::nullopt,
     {}},  // "log_softmax_lastdim_kernel_impl" not implemented for 'Byte'
    {"logsumexp", "f32", kFloat32, {4.068202018737793}},
    {"logsumexp", "i64", kFloat32, {4.068202018737793}},
    {"logsumexp", "u8", kFloat32, {200.0}},
    {"mean", "f32", kFloat32, {0.75}},
    {"mean", "i64", std::nullopt, {}},  // mean(): could not infer output dtype. Input dtype must be
                                        // either a floating point or complex dtype. Got: Long
    {"mean", "u8", std::nullopt, {}},   // mean(): could not infer output dtype. Input dtype must be
                                        // either a floating point or complex dtype. Got: Byte
    {"mean(0)", "f32", kFloat32, {0.75}},
    {"mean(0)", "i64", std::nullopt, {}},  // mean(): could not infer output dtype. Input dtype must
                                           // be either a floating point or complex dtype. Got: Long
    {"mean(0)", "u8", std::nullopt, {}},   // mean(): could not infer output dtype. Input dtype must
                                           // be either a floating point or complex dtype. Got: Byte
    {"pow(x, 2.0)", "f32", kFloat32, {4.0, 0.0, 1.0, 16.0}},
    {"pow(x, 2.0)", "i64", kFloat32, {4.0, 0.0, 1.0, 16.0}},
    {"pow(x, 2.0)", "u8", kFloat32, {0.0, 1.0, 4.0, 40000.0}},
    {"pow(x, 0.5)", "f32", kFloat32, {NAN, 0.0, 1.0, 2.0}},
    {"pow(x, 0.5)", "i64", kFloat32, {NAN, 0.0, 1.0, 2.0}},
    {"pow(x, 0.5)", "u8", kFloat32, {0.0, 1.0, 1.4142135381698608, 14.142135620117188}},
    {"pow(x, 2)", "f32", kFloat32, {4.0, 0.0, 1.0, 16.0}},
    {"pow(x, 2)", "i64", kInt64, {4, 0, 1, 16}},
    {"pow(x, 2)", "u8", kUInt8, {0, 1, 4, 64}},
    {"pow(x, -1)", "f32", kFloat32, {-0.5, INFINITY, 1.0, 0.25}},
    {"pow(x, -1)",
     "i64",
     std::nullopt,
     {}},                                    // Integers to negative integer powers are not allowed.
    {"pow(x, -1)", "u8", std::nullopt, {}},  // Integers to negative integer powers are not allowed.
    {"pow(2, x)", "f32", kFloat32, {0.25, 1.0, 2.0, 16.0}},
    {"pow(2, x)", "i64", kInt64, {0, 1, 2, 16}},
    {"pow(2, x)", "u8", kUInt8, {1, 2, 4, 0}},
    {"pow(2.0, x)", "f32", kFloat32, {0.25, 1.0, 2.0, 16.0}},
    {"pow(2.0, x)", "i64", kFloat32, {0.25, 1.0, 2.0, 16.0}},
    {"pow(2.0, x)", "u8", kFloat32, {1.0, 2.0, 4.0, INFINITY}},
    {"pow(x, x)", "f32", kFloat32, {0.25, 1.0, 1.0, 256.0}},
    {"pow(x, x)", "i64", kInt64, {0, 1, 1, 256}},
    {"pow(x, x)", "u8", kUInt8, {1, 1, 4, 0}},
    {"abs", "f32", kFloat32, {2.0, 0.0, 1.0, 4.0}},
    {"abs", "i64", kInt64, {2, 0, 1, 4}},
    {"abs", "u8", kUInt8, {0, 1, 2, 200}},
    {"neg", "f32", kFloat32, {2.0, -0.0, -1.0, -4.0}},
    {"neg", "i64", kInt64, {2, 0, -1, -4}},
    {"neg", "u8", kUInt8, {0, 255, 254, 56}},
    {"square", "f32", kFloat32, {4.0, 0.0, 1.0, 16.0}},
    {"square", "i64", kInt64, {4, 0, 1, 16}},
    {"square", "u8", kUInt8, {0, 1, 4, 64}},
    {"clamp(0, 2)", "f32", kFloat32, {0.0, 0.0, 1.0, 2.0}},
    {"clamp(0, 2)", "i64", kInt64, {0, 0, 1, 2}},
    {"clamp(0, 2)", "u8", kUInt8, {0, 1, 2, 2}},
    {"clamp(0.5, 2.5)", "f32", kFloat32, {0.5, 0.5, 1.0, 2.5}},
    {"clamp(0.5, 2.5)", "i64", kFloat32, {0.5, 0.5, 1.0, 2.5}},
    {"clamp(0.5, 2.5)", "u8", kFloat32, {0.5, 1.0, 2.0, 2.5}},
    {"clamp_min(1)", "f32", kFloat32, {1.0, 1.0, 1.0, 4.0}},
    {"clamp_min(1)", "i64", kInt64, {1, 1, 1, 4}},
    {"clamp_min(1)", "u8", kUInt8, {1, 1, 2, 200}},
    {"clamp_max(0.5)", "f32", kFloat32, {-2.0, 0.0, 0.5, 0.5}},
    {"clamp_max(0.5)", "i64", kFloat32, {-2.0, 0.0, 0.5, 0.5}},
    {"clamp_max(0.5)", "u8", kFloat32, {0.0, 0.5, 0.5, 0.5}},
};

Tensor input(const std::string& name) {
  if (name == "f32") return from_vector(std::vector<float>{-2, 0, 1, 4}, {4});
  if (name == "i64") return from_vector(std::vector<std::int64_t>{-2, 0, 1, 4}, {4});
  return from_vector(std::vector<std::uint8_t>{0, 1, 2, 200}, {4});
}

const std::map<std::string, std::function<Tensor(const Tensor&)>> kOps = {
    {"exp",
     [](const Tensor& t) {
       return t.exp();
     }},
    {"log",
     [](const Tensor& t) {
       return t.log();
     }},
    {"sqrt",
     [](const Tensor& t) {
       return t.sqrt();
     }},
    {"sigmoid",
     [](const Tensor& t) {
       return t.sigmoid();
     }},
    {"tanh",
     [](const Tensor& t) {
       return t.tanh();
     }},
    {"relu",
     [](const Tensor& t) {
       return t.relu();
     }},
    {"silu",
     [](const Tensor& t) {
       return F::silu(t);
     }},
    {"logsigmoid",
     [](const Tensor& t) {
       return F::logsigmoid(t);
     }},
    {"softmax",
     [](const Tensor& t) {
       return t.softmax(0);
     }},
    {"log_softmax",
     [](const Tensor& t) {
       return t.log_softmax(0);
     }},
    {"logsumexp",
     [](const Tensor& t) {
       return t.logsumexp(0);
     }},
    {"mean",
     [](const Tensor& t) {
       return t.mean();
     }},
    {"mean(0)",
     [](const Tensor& t) {
       return t.mean(0);
     }},
    {"pow(x, 2.0)",
     [](const Tensor& t) {
       return t.pow(2.0);
     }},
    {"pow(x, 0.5)",
     [](const Tensor& t) {
       return t.pow(0.5);
     }},
    {"pow(x, 2)",
     [](const Tensor& t) {
       return t.pow(2);
     }},
    {"pow(x, -1)",
     [](const Tensor& t) {
       return t.pow(-1);
     }},
    {"pow(2, x)",
     [](const Tensor& t) {
       return pow(2, t);
     }},
    {"pow(2.0, x)",
     [](const Tensor& t) {
       return pow(2.0, t);
     }},
    {"pow(x, x)",
     [](const Tensor& t) {
       return t.pow(t);
     }},
    {"abs",
     [](const Tensor& t) {
       return t.abs();
     }},
    {"neg",
     [](const Tensor& t) {
       return -t;
     }},
    {"square",
     [](const Tensor& t) {
       return t.square();
     }},
    {"clamp(0, 2)",
     [](const Tensor& t) {
       return t.clamp(0, 2);
     }},
    {"clamp(0.5, 2.5)",
     [](const Tensor& t) {
       return t.clamp(0.5, 2.5);
     }},
    {"clamp_min(1)",
     [](const Tensor& t) {
       return t.clamp_min(1);
     }},
    {"clamp_max(0.5)",
     [](const Tensor& t) {
       return t.clamp_max(0.5);
     }},
};

}  // namespace

TEST_CASE("unary ops: integer inputs are promoted, kept or refused as PyTorch does",
          "[ops][promotion]") {
  CHECK(kTable.size() == 3 * kOps.size());  // every op on every input dtype
  for (const Case& c : kTable) {
    INFO(c.op << " of " << c.input);
    const auto& f = kOps.at(c.op);
    const Tensor x = input(c.input);
    if (!c.dtype) {
      CHECK_THROWS_AS(f(x), Error);
      continue;
    }
    const Tensor out = f(x);
    CHECK(out.dtype() == *c.dtype);
    ember::test::check_matches_pytorch(out, c.values, 2e-6);
  }
}

TEST_CASE("unary ops: the refusals on integer inputs name the op, the dtype and the fix",
          "[ops][promotion]") {
  const Tensor i = arange(3);
  const Tensor u = i.to(kUInt8);
  // torch.arange(3).softmax(0) -> "softmax_lastdim_kernel_impl" not implemented for 'Long'
  CHECK_THROWS_WITH(i.softmax(0),
                    "softmax: expected a float32 input, got int64 of shape [3] (integers are not "
                    "converted, as in PyTorch: use .to(ember::kFloat32))");
  CHECK_THROWS_WITH(u.log_softmax(0),
                    "log_softmax: expected a float32 input, got uint8 of shape [3] (integers are "
                    "not converted, as in PyTorch: use .to(ember::kFloat32))");
  // F.silu(torch.arange(3)) -> "silu_cpu" not implemented for 'Long'
  CHECK_THROWS_WITH(F::silu(i), "silu: expected a float32 input, got int64 of shape [3]");
  CHECK_THROWS_WITH(F::logsigmoid(u),
                    "logsigmoid: expected a float32 input, got uint8 of shape [3]");
  // torch.arange(3).mean() -> mean(): could not infer output dtype. Input dtype must be either a
  // floating point or complex dtype. Got: Long
  CHECK_THROWS_WITH(i.mean(),
                    "mean: expected a float32 tensor, got int64 (convert with "
                    ".to(ember::kFloat32))");
  CHECK_THROWS_WITH(u.mean(0),
                    "mean: expected a float32 tensor, got uint8 (convert with "
                    ".to(ember::kFloat32))");
  // torch.arange(3).pow(-1) -> Integers to negative integer powers are not allowed.
  CHECK_THROWS_WITH(u.pow(-1),
                    "pow: integers to negative integer powers are not allowed (uint8 "
                    "tensor of shape [3], exponent -1)");
}

TEST_CASE("unary ops: the tutorial lines on integer tensors", "[ops][promotion]") {
  // torch.exp(torch.arange(3)) -> tensor([1.0000, 2.7183, 7.3891]), float32
  const Tensor e = exp(arange(3));
  CHECK(e.dtype() == kFloat32);
  CHECK(e.to_vector<float>() == std::vector<float>{1.0f, std::exp(1.0f), std::exp(2.0f)});
  // A hand-written softmax on integer logits, d2l's `X_exp = torch.exp(X)`, then
  // `X_exp / X_exp.sum(1, keepdim=True)`: float32 rows summing to 1.
  const Tensor x = arange(6).reshape({2, 3});
  const Tensor x_exp = x.exp();
  const Tensor p = x_exp / x_exp.sum(1, true);
  CHECK(p.dtype() == kFloat32);
  CHECK(p.sum(1).to_vector<float>()[0] == Approx(1.0f));
  // -log(p[range(n), y]) on integer inputs converted by log.
  CHECK(log(arange(2) + 1).to_vector<float>() == std::vector<float>{0.0f, std::log(2.0f)});
  // An integer exponent tensor with negative entries: 1 / a^-b truncated, as PyTorch:
  // torch.tensor([2, 1, -1, -1, 0]) ** torch.tensor([-1, -2, -3, -2, -1]) -> [0, 1, -1, 1, 0]
  const Tensor base = from_vector(std::vector<std::int64_t>{2, 1, -1, -1, 0}, {5});
  const Tensor exponent = from_vector(std::vector<std::int64_t>{-1, -2, -3, -2, -1}, {5});
  CHECK(base.pow(exponent).to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 1, -1, 1, 0});
}
