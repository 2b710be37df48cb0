// Custom autograd functions (Function<T> with ctx->save_for_backward), gradchecked, and the graph
// written as Graphviz DOT (checked by running Graphviz's `dot` on it).
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "support/gradcheck.h"
#include "support/skip.h"
#include "support/temp_dir.h"

#include <ember/autograd/function.h>
#include <ember/autograd/ops.h>
#include <ember/autograd/to_dot.h>
#include <ember/core/generator.h>

using namespace ember;
using autograd::AutogradContext;
using Ts = std::vector<Tensor>;

namespace {

// y = exp(x); dy/dx = exp(x) = y, so the output is what backward needs.
struct MyExp : autograd::Function<MyExp> {
  static Tensor forward(AutogradContext* ctx, const Tensor& x) {
    Tensor y = x.exp();
    ctx->save_for_backward({y});
    return y;
  }
  static std::vector<Tensor> backward(AutogradContext* ctx, std::vector<Tensor> grad_out) {
    return {grad_out[0] * ctx->get_saved_variables()[0]};
  }
};

// out = alpha * a * b with broadcasting; a number argument gets no gradient.
struct ScaledMul : autograd::Function<ScaledMul> {
  static Tensor forward(AutogradContext* ctx, const Tensor& a, const Tensor& b, double alpha) {
    ctx->save_for_backward({a, b});
    ctx->saved_data["alpha"] = alpha;
    return a * b * alpha;
  }
  static std::vector<Tensor> backward(AutogradContext* ctx, std::vector<Tensor> grad_out) {
    const auto saved = ctx->get_saved_variables();
    const double alpha = ctx->saved_data["alpha"];
    const Tensor& g = grad_out[0];
    return {autograd::sum_to(g * saved[1] * alpha, saved[0].sizes()),
            autograd::sum_to(g * saved[0] * alpha, saved[1].sizes()), Tensor()};
  }
};

struct Forgets : autograd::Function<Forgets> {
  static Tensor forward(AutogradContext*, const Tensor& a, const Tensor& b) { return a + b; }
  static std::vector<Tensor> backward(AutogradContext*, std::vector<Tensor> g) { return {g[0]}; }
};

Tensor input(Shape shape, std::uint64_t seed) {
  Generator gen(seed);
  return randn(shape, gen).requires_grad_();
}

}  // namespace

TEST_CASE("custom functions: forward, backward and gradcheck", "[function]") {
  Tensor x = tensor({0.f, 1.f}).requires_grad_();
  Tensor y = MyExp::apply(x);
  CHECK(y.grad_fn()->name() == "MyExpBackward");
  y.sum().backward();
  CHECK(x.grad().to_vector<float>() == std::vector<float>{1.0f, std::exp(1.0f)});
  CHECK_GRADCHECK([](const Ts& t) { return MyExp::apply(t[0].t()); }, input({3, 2}, 1));
  CHECK_GRADCHECK([](const Ts& t) { return ScaledMul::apply(t[0].t(), t[1], 0.5); },
                  input({4, 3}, 2), input({4}, 3));
  // Not requiring grad: no node.
  CHECK(MyExp::apply(tensor({1.f})).grad_fn() == nullptr);
}

TEST_CASE("custom functions: saved tensors are checked, gradient counts too", "[function]") {
  Tensor a = tensor({1.f, 2.f}).requires_grad_();
  Tensor b = tensor({3.f, 4.f});
  Tensor out = ScaledMul::apply(a, b, 2.0);
  b.add_(ones({2}));  // changes a tensor forward saved
  CHECK_THROWS_WITH(out.sum().backward(),
                    Catch::Contains("custom function: a tensor needed for the gradient was "
                                    "modified by an in-place operation"));
  Tensor c = Forgets::apply(a, b);
  CHECK_THROWS_WITH(c.sum().backward(),
                    "ForgetsBackward: backward returned 1 gradients, "
                    "expected 2 (one per forward argument)");
}

namespace {

// The graph of (exp(w @ x) * 2).sum() with w a [2, 2] leaf, as DOT.
std::string exp_graph_dot() {
  Tensor w = tensor({{1.f, 2.f}, {3.f, 4.f}}).requires_grad_();
  Tensor x = tensor({1.f, -1.f});
  return autograd::to_dot((w.matmul(x).exp() * 2.0).sum());
}

}  // namespace

TEST_CASE("to_dot: the graph backward walks", "[to_dot]") {
  Tensor w = tensor({{1.f, 2.f}, {3.f, 4.f}}).requires_grad_();
  Tensor x = tensor({1.f, -1.f});
  const std::string dot = exp_graph_dot();
  CHECK_THAT(dot, Catch::StartsWith("digraph autograd {"));
  CHECK_THAT(dot, Catch::Contains("SumBackward\\n-> []"));
  CHECK_THAT(dot, Catch::Contains("ExpBackward\\n-> [2]\\nsaved: [2]"));
  // [2, 2] @ [2] runs as [2, 2] @ [2, 1], then drops the column dim.
  CHECK_THAT(dot, Catch::Contains("MmBackward\\n-> [2, 1]\\nsaved: [2, 2], [2, 1]"));
  CHECK_THAT(dot, Catch::Contains("SqueezeBackward\\n-> [2]"));
  CHECK_THAT(dot, Catch::Contains("leaf [2, 2]\\nrequires_grad"));
  CHECK_THAT(dot, Catch::Contains("output -> n0;"));
  CHECK_THAT(autograd::to_dot(x), Catch::Contains("output [2]\\nno graph"));
  // A custom function shows what its ctx saved.
  CHECK_THAT(autograd::to_dot(MyExp::apply(w)), Catch::Contains("MyExpBackward\\n-> [2, 2]\\n"
                                                                "saved: [2, 2]"));
}

TEST_CASE("to_dot: Graphviz renders the graph", "[to_dot]") {
  if (!test::available_or_skip(test::have_command("dot"),
                               "Graphviz's dot is not installed (apt-get install graphviz)"))
    return;
  const std::string dot = exp_graph_dot();
  test::TempDir dir;
  {
    std::ofstream file(dir.file("graph.dot"));
    file << dot;
  }
  const std::string cmd =
      "dot -Tsvg '" + dir.file("graph.dot") + "' -o '" + dir.file("graph.svg") + "'";
  REQUIRE(std::system(cmd.c_str()) == 0);
  std::ifstream svg(dir.file("graph.svg"));
  const std::string text((std::istreambuf_iterator<char>(svg)), std::istreambuf_iterator<char>());
  CHECK_THAT(text, Catch::Contains("<svg"));
  CHECK_THAT(text, Catch::Contains("ExpBackward"));
}
