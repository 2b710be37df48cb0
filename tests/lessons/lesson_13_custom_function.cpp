// Lesson 13: a custom autograd function, and seeing the graph backward walks.
//
// When an op is missing, or its gradient should be computed differently, write it as an
// autograd::Function with your own forward and backward, as torch.autograd.Function (Python) or
// torch::autograd::Function<T> (libtorch). forward runs without recording its inner ops; what
// backward needs is kept with ctx->save_for_backward; backward gets dL/d(output) and returns
// one gradient per forward argument. The example is PyTorch's own documentation example, a
// linear layer:
//   y = x W^T + b:   dL/dx = G W,   dL/dW = G^T x,   dL/db = sum_rows G      (G = dL/dy)
// gradcheck then compares it with central differences, the way you should check any backward
// you write. Finally autograd::to_dot prints the graph as Graphviz DOT, rendered with `dot`.
//
// Step into: autograd/include/ember/autograd/function.h (apply: forward without a graph, then
// one node), autograd/src/to_dot.cpp.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <fstream>

#include "support/gradcheck.h"
#include "support/skip.h"
#include "support/temp_dir.h"

#include <ember/autograd/function.h>
#include <ember/autograd/ops.h>
#include <ember/autograd/to_dot.h>
#include <ember/core/generator.h>
#include <ember/nn/functional.h>

using namespace ember;
using autograd::AutogradContext;
using Ts = std::vector<Tensor>;

namespace {

// class LinearFunction(Function):
//     @staticmethod
//     def forward(ctx, input, weight, bias):
//         ctx.save_for_backward(input, weight, bias)
//         output = input.mm(weight.t())
//         output += bias.unsqueeze(0).expand_as(output)
//         return output
//     @staticmethod
//     def backward(ctx, grad_output):
//         input, weight, bias = ctx.saved_tensors
//         grad_input = grad_output.mm(weight)
//         grad_weight = grad_output.t().mm(input)
//         grad_bias = grad_output.sum(0)
//         return grad_input, grad_weight, grad_bias
struct LinearFunction : autograd::Function<LinearFunction> {
  static Tensor forward(AutogradContext* ctx, const Tensor& input, const Tensor& weight,
                        const Tensor& bias) {
    ctx->save_for_backward({input, weight, bias});
    return input.matmul(weight.t()) + bias;
  }
  static std::vector<Tensor> backward(AutogradContext* ctx, std::vector<Tensor> grad_output) {
    const std::vector<Tensor> saved = ctx->get_saved_variables();
    const Tensor &input = saved[0], &weight = saved[1], &g = grad_output[0];
    return {g.matmul(weight), g.t().matmul(input), g.sum(0)};
  }
};

// A function with a non-tensor argument, whose backward is deliberately not the true
// derivative: "straight-through" rounding (forward rounds to a step, backward passes the
// gradient through unchanged), as used to train quantized networks.
struct RoundStraightThrough : autograd::Function<RoundStraightThrough> {
  static Tensor forward(AutogradContext*, const Tensor& x, double step) {
    std::vector<float> v = (x / step).contiguous().to_vector<float>();
    for (float& e : v) e = std::floor(e + 0.5f) * static_cast<float>(step);
    return from_vector(v, x.sizes());
  }
  static std::vector<Tensor> backward(AutogradContext*, std::vector<Tensor> grad_output) {
    return {grad_output[0], Tensor()};  // no gradient for the number `step`
  }
};

Tensor input(Shape shape, std::uint64_t seed) {
  Generator gen(seed);
  return randn(shape, gen).requires_grad_();
}

}  // namespace

TEST_CASE("Lesson 13: a linear layer as a custom autograd function", "[lessons][lesson13]") {
  SECTION("forward") {
    // x = [[1, 2]], W = [[1, 0], [0, 1], [1, 1]], b = [0, 0, 1]: y = [1, 2, 1 + 2 + 1 = 4]
    const Tensor x = tensor({{1.f, 2.f}});
    const Tensor W = tensor({{1.f, 0.f}, {0.f, 1.f}, {1.f, 1.f}});
    const Tensor b = tensor({0.f, 0.f, 1.f});
    CHECK(LinearFunction::apply(x, W, b).to_vector<float>() == std::vector<float>{1, 2, 4});
  }
  SECTION("backward") {
    Tensor x = tensor({{1.f, 2.f}}).requires_grad_();
    Tensor W = tensor({{1.f, 0.f}, {0.f, 1.f}, {1.f, 1.f}}).requires_grad_();
    Tensor b = tensor({0.f, 0.f, 1.f}).requires_grad_();
    Tensor y = LinearFunction::apply(x, W, b);
    CHECK(y.grad_fn()->name() == "LinearFunctionBackward");          // one node for the whole op
    y.sum().backward();                                              // G = [[1, 1, 1]]
    CHECK(x.grad().to_vector<float>() == std::vector<float>{2, 2});  // G W = column sums of W
    CHECK(W.grad().to_vector<float>() == std::vector<float>{1, 2, 1, 2, 1, 2});  // G^T x
    CHECK(b.grad().to_vector<float>() == std::vector<float>{1, 1, 1});
    // torch.autograd.gradcheck(LinearFunction.apply, (input, weight, bias))
    CHECK_GRADCHECK([](const Ts& t) { return LinearFunction::apply(t[0], t[1], t[2]); },
                    input({4, 3}, 1), input({2, 3}, 2), input({2}, 3));
    // And it agrees with the library's linear.
    const Tensor xi = input({4, 3}, 1), wi = input({2, 3}, 2), bi = input({2}, 3);
    const std::vector<float> ours = LinearFunction::apply(xi, wi, bi).to_vector<float>();
    const std::vector<float> lib = nn::functional::linear(xi, wi, bi).to_vector<float>();
    for (std::size_t i = 0; i < ours.size(); ++i) CHECK(ours[i] == Approx(lib[i]).margin(1e-6));
  }
  SECTION("a backward that is not the derivative") {
    Tensor x = tensor({0.26f, 0.74f}).requires_grad_();
    Tensor q = RoundStraightThrough::apply(x, 0.5);
    CHECK(q.to_vector<float>() == std::vector<float>{0.5f, 0.5f});
    (q * tensor({1.f, 2.f})).sum().backward();
    CHECK(x.grad().to_vector<float>() == std::vector<float>{1, 2});  // passed straight through
    // gradcheck catches it: the true derivative of rounding is 0 almost everywhere.
    const auto result =
        autograd::gradcheck([](const Ts& t) { return RoundStraightThrough::apply(t[0], 0.5); },
                            {tensor({0.1f, 0.6f}).requires_grad_()});
    CHECK_FALSE(result.ok);
  }
}

namespace {

// The lesson's graph: relu(LinearFunction(x, W, b)).sum(), drawn as DOT.
std::string lesson_graph_dot() {
  Tensor w = tensor({{1.f, 2.f}, {3.f, 4.f}}).requires_grad_();
  Tensor b = tensor({0.5f, -0.5f}).requires_grad_();
  const Tensor x = tensor({{1.f, 1.f}});
  return autograd::to_dot(LinearFunction::apply(x, w, b).relu().sum());
}

}  // namespace

TEST_CASE("Lesson 13: seeing the graph with to_dot", "[lessons][lesson13]") {
  // Read it bottom up, as backward runs: SumBackward -> ReluBackward -> LinearFunctionBackward,
  // which saved x, W and b, and sends gradients to the two leaves (x needs none: no edge).
  const std::string dot = lesson_graph_dot();
  CHECK_THAT(dot, Catch::Contains("SumBackward\\n-> []"));
  CHECK_THAT(dot, Catch::Contains("ReluBackward\\n-> [1, 2]\\nsaved: [1, 2]"));
  CHECK_THAT(dot,
             Catch::Contains("LinearFunctionBackward\\n-> [1, 2]\\nsaved: [1, 2], [2, 2], [2]"));
  CHECK_THAT(dot, Catch::Contains("leaf [2, 2]\\nrequires_grad"));
  CHECK_THAT(dot, Catch::Contains("leaf [2]\\nrequires_grad"));
}

TEST_CASE("Lesson 13: rendering the graph with Graphviz", "[lessons][lesson13]") {
  // dot -Tsvg graph.dot -o graph.svg. Without Graphviz the case is skipped, decided before any
  // check (tests/support/skip.h), so CTest reports it skipped rather than passed.
  if (!test::available_or_skip(test::have_command("dot"),
                               "Graphviz's dot is not installed (apt-get install graphviz)"))
    return;
  test::TempDir dir;
  std::ofstream(dir.file("graph.dot")) << lesson_graph_dot();
  const std::string cmd =
      "dot -Tsvg '" + dir.file("graph.dot") + "' -o '" + dir.file("graph.svg") + "'";
  CHECK(std::system(cmd.c_str()) == 0);
}
