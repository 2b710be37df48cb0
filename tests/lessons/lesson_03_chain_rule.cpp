// Lesson 3: the chain rule, and how the graph is walked.
//
// L = sum((x*w + b)^2) is a chain of simple ops: u = x*w, v = u + b, s = v*v, L = sum(s).
// The chain rule multiplies local derivatives: dL/dx = dL/ds * ds/dv * dv/du * du/dx. Reverse
// mode evaluates that product from the left, starting with dL/dL = 1 at the output and pushing a
// gradient through one node at a time; each node knows only its own local derivative:
//   SumBackward: ds = dL * 1       MulBackward (v*v): dv = ds * v + ds * v   (v is used twice)
//   AddBackward: du = dv, db = dv   MulBackward (x*w): dx = du * w, dw = du * x
// Every op on a tensor that requires grad records such a node as its output's grad_fn(), with
// next_edges() pointing at the nodes of its inputs; a leaf's edge ends in an AccumulateGrad node
// that adds into leaf.grad(). backward() first counts the edges into every node, then runs a node
// only when all the gradients flowing into it have arrived and been summed (Note [Dependency
// counting]). Afterwards it frees what the nodes saved, so a second backward throws unless the
// first one passed retain_graph = true.
//
// Step into: autograd/src/engine.cpp (ember::autograd::backward: the two loops),
// autograd/src/node.cpp (record, which wires next_edges).
#include <catch2/catch.hpp>

#include <map>

#include <ember/autograd/gradcheck.h>
#include <ember/autograd/node.h>
#include <ember/autograd/ops.h>

using namespace ember;
using Catch::Contains;
using V = std::vector<float>;

namespace {
Tensor leaf(const V& values) {
  Tensor t = from_vector(values, {2, 2});
  t.requires_grad_();
  return t;
}
Tensor loss(const Tensor& x, const Tensor& w, const Tensor& b) {
  Tensor v = x * w + b;
  return (v * v).sum();
}
}  // namespace

TEST_CASE("Lesson 3: the chain rule, value by value", "[lesson3]") {
  Tensor x = leaf({1, 2, 3, 4}), w = leaf({2, 1, 0, -1}), b = leaf({1, 1, 1, 1});

  SECTION("forward") {
    Tensor u = x * w;
    CHECK(u.to_vector<float>() == V{2, 2, 0, -4});  // 1*2, 2*1, 3*0, 4*-1
    Tensor v = u + b;
    CHECK(v.to_vector<float>() == V{3, 3, 1, -3});
    CHECK(loss(x, w, b).item<float>() == 28.0f);  // 9 + 9 + 1 + 9
  }

  SECTION("backward") {
    loss(x, w, b).backward();
    // dL/dv = 2v = {6, 6, 2, -6}; dL/du = dL/dv; dL/db = dL/dv
    CHECK(b.grad().to_vector<float>() == V{6, 6, 2, -6});
    // dL/dx = dL/du * w = {6*2, 6*1, 2*0, -6*-1}
    CHECK(x.grad().to_vector<float>() == V{12, 6, 0, 6});
    // dL/dw = dL/du * x = {6*1, 6*2, 2*3, -6*4}
    CHECK(w.grad().to_vector<float>() == V{6, 12, 6, -24});
  }

  SECTION("gradcheck on the whole chain (mul, add, sum)") {
    auto result = autograd::gradcheck(
        [](const std::vector<Tensor>& t) { return loss(t[0], t[1], t[2]); }, {x, w, b},
        {.eps = 1e-3, .atol = 1e-3, .rtol = 1e-2});  // float32 tolerances
    INFO(result.message);
    CHECK(result.ok);
  }
}

TEST_CASE("Lesson 3: the graph, node by node", "[lesson3]") {
  Tensor x = leaf({1, 2, 3, 4}), w = leaf({2, 1, 0, -1}), b = leaf({1, 1, 1, 1});
  Tensor L = loss(x, w, b);

  SECTION("what the forward pass recorded") {
    CHECK(x.is_leaf());
    CHECK(x.grad_fn() == nullptr);  // leaves were made by us, not by an op
    autograd::Node* sum = L.grad_fn().get();
    CHECK(sum->name() == "SumBackward");
    REQUIRE(sum->next_edges().size() == 1);
    autograd::Node* square = sum->next_edges()[0].node.get();  // s = v * v
    CHECK(square->name() == "MulBackward");
    REQUIRE(square->next_edges().size() == 2);
    // Both inputs of v*v are v: both edges lead to the same node.
    CHECK(square->next_edges()[0].node == square->next_edges()[1].node);
    autograd::Node* add = square->next_edges()[0].node.get();  // v = u + b
    CHECK(add->name() == "AddBackward");
    autograd::Node* mul = add->next_edges()[0].node.get();  // u = x * w
    CHECK(mul->name() == "MulBackward");
    CHECK(add->next_edges()[1].node->name() == "AccumulateGrad");  // b is a leaf
    CHECK(mul->next_edges()[0].node->name() == "AccumulateGrad");  // x
    CHECK(mul->next_edges()[1].node->name() == "AccumulateGrad");  // w
    // A constant needs no gradient: its edge is empty and no work is spent on it.
    Tensor y = x * 3.0;
    CHECK(y.grad_fn()->next_edges()[1].node == nullptr);
    CHECK_FALSE(y.grad_fn()->needs_grad(1));
  }

  SECTION("counting the edges into each node, as the engine does before running any") {
    std::map<autograd::Node*, int> into;
    std::vector<autograd::Node*> stack{L.grad_fn().get()};
    std::vector<std::string> order;  // depth-first discovery order
    into[L.grad_fn().get()] = 0;
    while (!stack.empty()) {
      autograd::Node* node = stack.back();
      stack.pop_back();
      order.push_back(node->name());
      for (const autograd::Edge& e : node->next_edges()) {
        if (e.node && into[e.node.get()]++ == 0) stack.push_back(e.node.get());
      }
    }
    CHECK(into.size() == 7);  // Sum, Mul(v*v), Add, Mul(x*w), and 3 AccumulateGrad for x, w, b
    autograd::Node* add = L.grad_fn()->next_edges()[0].node->next_edges()[0].node.get();
    CHECK(into[add] == 2);  // AddBackward runs only after both halves of dL/dv have arrived
    CHECK(order == std::vector<std::string>{"SumBackward", "MulBackward", "AddBackward",
                                            "AccumulateGrad", "MulBackward", "AccumulateGrad",
                                            "AccumulateGrad"});
  }

  SECTION("running the nodes by hand is the chain rule") {
    autograd::Node* sum = L.grad_fn().get();
    autograd::Node* square = sum->next_edges()[0].node.get();
    autograd::Node* add = square->next_edges()[0].node.get();
    autograd::Node* mul = add->next_edges()[0].node.get();
    std::vector<Tensor> ds = sum->apply(ones({}));  // dL/dL = 1
    CHECK(ds[0].to_vector<float>() == V{1, 1, 1, 1});
    std::vector<Tensor> dv = square->apply(ds[0]);  // one gradient per use of v: each is v
    CHECK(dv[0].to_vector<float>() == V{3, 3, 1, -3});
    Tensor dv_total = dv[0] + dv[1];  // what the engine sums before running AddBackward
    std::vector<Tensor> du_db = add->apply(dv_total);
    CHECK(du_db[1].to_vector<float>() == V{6, 6, 2, -6});  // dL/db
    std::vector<Tensor> dx_dw = mul->apply(du_db[0]);
    CHECK(dx_dw[0].to_vector<float>() == V{12, 6, 0, 6});    // dL/dx
    CHECK(dx_dw[1].to_vector<float>() == V{6, 12, 6, -24});  // dL/dw
    L.backward();                                            // the engine gets the same numbers
    CHECK(x.grad().to_vector<float>() == dx_dw[0].to_vector<float>());
  }
}

TEST_CASE("Lesson 3: a node used twice gets the sum of its gradients", "[lesson3]") {
  // The case learners get wrong: b = a + a; c = b + b. Each of c's two edges into b carries 1,
  // so dc/db = 2 (not 1); each of b's two edges into a carries 2, so dc/da = 4 (not 2).
  Tensor a = leaf({3, 3, 3, 3});
  Tensor b = a + a;
  Tensor c = b + b;
  CHECK(c.to_vector<float>() == V{12, 12, 12, 12});  // 4 * 3
  c.sum().backward();
  CHECK(a.grad().to_vector<float>() == V{4, 4, 4, 4});
}

TEST_CASE("Lesson 3: backward frees the graph unless retain_graph", "[lesson3]") {
  Tensor x = leaf({1, 2, 3, 4}), w = leaf({2, 1, 0, -1}), b = leaf({1, 1, 1, 1});
  Tensor L = loss(x, w, b);
  L.backward();
  // The nodes have dropped the tensors they saved (v for v*v, x and w for x*w).
  CHECK_THROWS_WITH(L.backward(),
                    "SumBackward: trying to backward through the graph a second "
                    "time (or directly access saved tensors after they have "
                    "already been freed). Saved tensors are freed after "
                    "backward(); call backward(grad, /*retain_graph=*/true) the "
                    "first time to keep them");
  Tensor L2 = loss(x, w, b);
  x.mutable_grad() = Tensor();
  L2.backward(Tensor(), /*retain_graph=*/true);
  L2.backward();  // allowed, and the gradient adds up (lesson 4)
  CHECK(x.grad().to_vector<float>() == V{24, 12, 0, 12});  // 2 * {12, 6, 0, 6}
}
