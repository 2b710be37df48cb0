// The engine: graph recording, accumulation, retain_graph, no-grad, version checks, deep graphs.
#include <catch2/catch.hpp>

#include "support/leaf.h"

#include <ember/autograd/engine.h>
#include <ember/autograd/grad_mode.h>
#include <ember/autograd/node.h>
#include <ember/autograd/ops.h>

using namespace ember;
using Catch::Contains;
using ember::test::leaf;

TEST_CASE("ops on tensors that require grad record a graph", "[engine]") {
  Tensor x = leaf({1, 2}, {2});
  Tensor y = x * x + 1;
  CHECK(x.is_leaf());
  CHECK_FALSE(y.is_leaf());
  REQUIRE(y.grad_fn());
  CHECK(y.grad_fn()->name() == "AddBackward");
  REQUIRE(y.grad_fn()->next_edges().size() == 2);
  CHECK(y.grad_fn()->next_edges()[0].node->name() == "MulBackward");
  CHECK(y.grad_fn()->next_edges()[1].node == nullptr);  // the constant 1 needs no gradient
  Tensor c = from_vector(std::vector<float>{1, 2}, {2});
  CHECK_FALSE((c * c).requires_grad());  // no input requires grad: no graph
}

TEST_CASE("a node used twice sums its gradients: b = a + a, c = b + b gives dc/da = 4",
          "[engine]") {
  Tensor a = leaf({3}, {1});
  Tensor b = a + a;
  Tensor c = b + b;
  c.sum().backward();
  CHECK(a.grad().item<float>() == 4.0f);
}

TEST_CASE("leaf gradients accumulate across backward calls until cleared", "[engine]") {
  Tensor w = leaf({2}, {1});
  (w * 3).sum().backward();
  (w * 3).sum().backward();
  CHECK(w.grad().item<float>() == 6.0f);  // 3 + 3
  w.mutable_grad() = Tensor();
  (w * w).sum().backward();
  CHECK(w.grad().item<float>() == 4.0f);  // 2w
}

TEST_CASE("backward frees saved tensors unless retain_graph", "[engine]") {
  Tensor x = leaf({1, 2}, {2});
  Tensor y = (x * x).sum();
  y.backward(Tensor(), /*retain_graph=*/true);
  y.backward();
  CHECK(x.grad().to_vector<float>() == std::vector<float>{4, 8});  // 2 * 2x
  CHECK_THROWS_WITH(y.backward(), Contains("trying to backward through the graph a second time"));
}

TEST_CASE("backward needs a scalar or an explicit gradient of the output's shape", "[engine]") {
  Tensor x = leaf({1, 2}, {2});
  CHECK_THROWS_WITH((x * 2).backward(),
                    Contains("only for outputs with one element; pass one of shape [2]"));
  CHECK_THROWS_WITH((x * 2).backward(ones({3})),
                    Contains("gradient of shape [3] and dtype float32 for an output of shape [2]"));
  CHECK_THROWS_WITH(ones({1}).backward(), Contains("does not require grad"));
  (x * 2).backward(from_vector(std::vector<float>{1, 10}, {2}));
  CHECK(x.grad().to_vector<float>() == std::vector<float>{2, 20});
}

TEST_CASE("NoGradGuard builds no graph; detach cuts it", "[engine]") {
  Tensor x = leaf({1}, {1});
  {
    NoGradGuard guard;
    Tensor y = x * 2;
    CHECK_FALSE(y.requires_grad());
    CHECK(y.grad_fn() == nullptr);
  }
  CHECK((x * 2).requires_grad());
  Tensor d = (x * 2).detach();
  CHECK_FALSE(d.requires_grad());
  CHECK(d.storage() != nullptr);
}

TEST_CASE("requires_grad_ only on float leaves", "[engine]") {
  Tensor i = arange(3);
  CHECK_THROWS_WITH(
      i.requires_grad_(),
      "requires_grad_: only float32 tensors can require gradients, this one is int64");
  Tensor x = leaf({1}, {1});
  CHECK_THROWS_WITH((x * 2).requires_grad_(false),
                    Contains("only leaf tensors can change requires_grad"));
}

TEST_CASE("an in-place change to a saved tensor is reported at backward", "[engine]") {
  Tensor x = leaf({1, 2}, {2});
  Tensor a = from_vector(std::vector<float>{3, 4}, {2});
  Tensor y = (x * a).sum();  // saves a
  a.add_(ones({2}));
  CHECK_THROWS_WITH(
      y.backward(),
      Contains(
          "modified by an in-place operation: it was saved at version 0 and is now at version 1"));
  CHECK_THROWS_WITH(x.add_(ones({2})), Contains("in-place change of a tensor that requires grad"));
}

TEST_CASE("gradients are computed only for inputs that need them", "[engine]") {
  Tensor images =
      from_vector(std::vector<float>{1, 2, 3, 4}, {2, 2});  // like softmax regression's X
  Tensor w = leaf({1, 0, 0, 1}, {2, 2});
  Tensor loss = matmul(images, w).sum();
  REQUIRE(loss.grad_fn());
  Tensor mm = matmul(images, w);
  CHECK_FALSE(mm.grad_fn()->needs_grad(0));  // no gradient for the images
  CHECK(mm.grad_fn()->needs_grad(1));
  loss.backward();
  CHECK_FALSE(images.grad().defined());
  CHECK(w.grad().to_vector<float>() == std::vector<float>{4, 4, 6, 6});  // images^T @ ones
}

TEST_CASE("broadcast gradients are summed back to each input's shape", "[engine]") {
  Tensor a = leaf({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = leaf({1, 1, 1}, {3});
  Tensor c = leaf({2}, {});
  ((a + b) * c).sum().backward();
  CHECK(b.grad().sizes() == Shape{3});
  CHECK(b.grad().to_vector<float>() == std::vector<float>{4, 4, 4});  // 2 rows x c=2
  CHECK(c.grad().sizes() == Shape{});
  CHECK(c.grad().item<float>() == 27.0f);  // sum(a + b) = 21 + 2 rows * (1+1+1)
}

TEST_CASE("a million-node chain runs backward without recursion and frees its memory",
          "[engine][deep]") {
  Tensor x = leaf({1}, {1});
  Tensor y = x;
  const Tensor one = ones({1});
  for (int i = 0; i < 1000000; ++i) y = y + one;
  y.sum().backward();
  CHECK(x.grad().item<float>() == 1.0f);
  CHECK(y.item<float>() == 1000001.0f);
  y = Tensor();  // dropping the last handle frees a million nodes iteratively (no stack overflow)
  CHECK(x.grad().item<float>() == 1.0f);
}

TEST_CASE("autograd::backward runs several outputs at once", "[engine]") {
  Tensor x = leaf({2}, {1});
  autograd::backward({(x * x).sum(), (x * 3).sum()});
  CHECK(x.grad().item<float>() == 7.0f);  // 2x + 3
}
