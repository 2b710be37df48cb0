// Lesson 5: broadcasting, and why its gradient is a sum.
//
// x [N, D] + b [D] adds b to every row: b is *broadcast*. The rule (NumPy's and PyTorch's):
// line the shapes up on the right; each pair of dims must be equal or one of them 1, and a
// missing leading dim counts as 1; a dim of 1 is stretched to the other's size. Nothing is
// copied: b is simply read N times.
// Read N times means used N times, and lesson 3 showed that a value used several times receives
// the SUM of the gradients of its uses:
//   y(n, d) = x(n, d) + b(d)   =>   dL/db(d) = sum_n dL/dy(n, d) * 1
// So the gradient of a broadcast input is the output's gradient summed over the dims it was
// stretched along: over the leading dims it lacked, and (keeping them, size 1) over the dims
// where it had size 1. One helper does this for every binary op: autograd::sum_to(grad, shape).
//
// Step into: autograd/src/ops/elementwise.cpp (add, the AddBackward lambda),
// core/src/ops/elementwise.cpp (broadcast_shapes) and autograd/src/node.cpp (sum_to).
#include <catch2/catch.hpp>

#include <ember/autograd/gradcheck.h>
#include <ember/autograd/node.h>
#include <ember/autograd/ops.h>

using namespace ember;
using V = std::vector<float>;

namespace {
Tensor leaf(const V& values, const Shape& shape) {
  Tensor t = from_vector(values, shape);
  t.requires_grad_();
  return t;
}
void check_gradient(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                    const std::vector<Tensor>& inputs) {
  auto result = autograd::gradcheck(fn, inputs, {.eps = 1e-3, .atol = 1e-3, .rtol = 1e-2});
  INFO(result.message);  // float32 tolerances: see Note [Float32 gradcheck]
  CHECK(result.ok);
}
}  // namespace

TEST_CASE("Lesson 5: a vector added to every row of a matrix", "[lesson5]") {
  Tensor x = leaf({1, 2, 3, 4}, {2, 2});
  Tensor b = leaf({10, 20}, {2});  // [2] lines up with x's last dim

  SECTION("forward") {
    Tensor y = x + b;
    CHECK(y.sizes() == Shape{2, 2});
    CHECK(y.to_vector<float>() == V{11, 22, 13, 24});  // 1+10, 2+20, 3+10, 4+20
  }

  SECTION("backward: b's gradient is summed over the rows") {
    Tensor g = from_vector(V{1, 2, 3, 4}, {2, 2});  // some dL/dy
    (x + b).backward(g);
    CHECK(x.grad().to_vector<float>() == V{1, 2, 3, 4});  // x was not stretched: dL/dy itself
    CHECK(b.grad().sizes() == Shape{2});                  // b's own shape, not [2, 2]
    CHECK(b.grad().to_vector<float>() == V{4, 6});        // 1 + 3, 2 + 4
  }

  SECTION("the same as using b once per row, by hand") {
    Tensor g0 = from_vector(V{1, 2}, {2}), g1 = from_vector(V{3, 4}, {2});
    Tensor row0 = x.select(0, 0) + b;  // b used once...
    Tensor row1 = x.select(0, 1) + b;  // ...and again: two edges into b's AccumulateGrad
    ((row0 * g0).sum() + (row1 * g1).sum()).backward();
    CHECK(b.grad().to_vector<float>() == V{4, 6});
  }

  SECTION("gradcheck") {
    check_gradient([](const std::vector<Tensor>& t) { return t[0] + t[1]; }, {x, b});
    check_gradient([](const std::vector<Tensor>& t) { return t[0] * t[1]; }, {x, b});
  }
}

TEST_CASE("Lesson 5: a scalar times a matrix", "[lesson5]") {
  Tensor c = leaf({2}, {});  // 0-d: broadcast along every dim
  Tensor x = leaf({1, 2, 3, 4}, {2, 2});

  SECTION("forward") {
    CHECK((c * x).to_vector<float>() == V{2, 4, 6, 8});
  }

  SECTION("backward") {
    (c * x).sum().backward();
    CHECK(c.grad().sizes() == Shape{});
    CHECK(c.grad().item<float>() == 10.0f);               // sum of x: 1 + 2 + 3 + 4
    CHECK(x.grad().to_vector<float>() == V{2, 2, 2, 2});  // c everywhere
  }

  SECTION("gradcheck") {
    check_gradient([](const std::vector<Tensor>& t) { return t[0] * t[1]; }, {c, x});
    check_gradient([](const std::vector<Tensor>& t) { return t[1] / t[0]; }, {c, x});
  }
}

TEST_CASE("Lesson 5: a column plus a row makes a table", "[lesson5]") {
  Tensor col = leaf({1, 2}, {2, 1});    // stretched along dim 1
  Tensor row = leaf({10, 20}, {1, 2});  // stretched along dim 0

  SECTION("forward") {
    Tensor y = col + row;  // [2, 1] + [1, 2] -> [2, 2]
    CHECK(y.sizes() == Shape{2, 2});
    CHECK(y.to_vector<float>() == V{11, 21, 12, 22});  // y(i, j) = col(i) + row(j)
  }

  SECTION("backward: each input's gradient is summed along the dim it was stretched") {
    (col + row).backward(from_vector(V{1, 2, 3, 4}, {2, 2}));
    CHECK(col.grad().sizes() == Shape{2, 1});
    CHECK(col.grad().to_vector<float>() == V{3, 7});  // across each row: 1 + 2, 3 + 4
    CHECK(row.grad().sizes() == Shape{1, 2});
    CHECK(row.grad().to_vector<float>() == V{4, 6});  // down each column: 1 + 3, 2 + 4
  }

  SECTION("sum_to is the one helper behind all of these") {
    Tensor g = from_vector(V{1, 2, 3, 4}, {2, 2});
    CHECK(autograd::sum_to(g, {2}).to_vector<float>() == V{4, 6});           // drop leading dim
    CHECK(autograd::sum_to(g, {2, 1}).to_vector<float>() == V{3, 7});        // keep a dim of 1
    CHECK(autograd::sum_to(g, {}).item<float>() == 10.0f);                   // a scalar: sum all
    CHECK(autograd::sum_to(g, {2, 2}).to_vector<float>() == V{1, 2, 3, 4});  // no broadcast
  }

  SECTION("gradcheck") {
    check_gradient([](const std::vector<Tensor>& t) { return t[0] - t[1]; }, {col, row});
    check_gradient([](const std::vector<Tensor>& t) { return t[0] * t[1]; }, {col, row});
  }
}

TEST_CASE("Lesson 5: shapes line up on the right", "[lesson5]") {
  // [2, 3] and [2]: the 2 is compared with the 3, not with the leading 2.
  CHECK_THROWS_WITH(ones({2, 3}) + ones({2}),
                    "add: shapes [2, 3] and [2] cannot be broadcast together (dim 1: 3 vs 2)");
  // To add a per-row value, give it the shape [2, 1].
  Tensor per_row = from_vector(V{10, 20}, {2, 1});
  CHECK((ones({2, 3}) + per_row).to_vector<float>() == V{11, 11, 11, 21, 21, 21});
}
