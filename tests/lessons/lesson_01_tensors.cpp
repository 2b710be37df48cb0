// Lesson 1: tensors and views.
//
// A Tensor is a cheap handle onto shared storage: a flat buffer of numbers plus sizes (the shape),
// strides (how many elements to skip to take one step along each dim) and an offset. Element
// (i, j) of a 2-d tensor lives at storage[offset + i * strides[0] + j * strides[1]]. A *view*
// (transpose, narrow, select, unsqueeze, and reshape when the strides allow it) is a new handle
// with other sizes, strides or offset over the SAME storage: it copies nothing, and writing
// through it changes the original. Autograd follows views too: the gradient of a view is the
// incoming gradient put back where the view's elements came from (zero elsewhere).
//
// Step into: autograd/src/ops/view.cpp (Tensor::transpose, Tensor::narrow), core/src/ops/view.cpp
// (view_strides) and
// core/src/tensor.cpp (Tensor::at, which does the offset + index * stride arithmetic).
#include <catch2/catch.hpp>

#include <sstream>

#include <ember/autograd/gradcheck.h>
#include <ember/autograd/ops.h>

using namespace ember;
using Catch::Contains;
using V = std::vector<float>;

namespace {
// x = [[1, 2, 3],
//      [4, 5, 6]]   stored row by row: storage = 1 2 3 4 5 6
Tensor two_by_three() {
  return from_vector(V{1, 2, 3, 4, 5, 6}, {2, 3});
}

// Every gradient check in the course uses float32 tolerances: eps 1e-3, atol 1e-3, rtol 1e-2
// (see Note [Float32 gradcheck] in <ember/autograd/gradcheck.h> for why not PyTorch's 1e-6).
void check_gradient(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                    const std::vector<Tensor>& inputs) {
  auto result = autograd::gradcheck(fn, inputs, {.eps = 1e-3, .atol = 1e-3, .rtol = 1e-2});
  INFO(result.message);
  CHECK(result.ok);
}
}  // namespace

TEST_CASE("Lesson 1: a tensor is storage plus sizes, strides and an offset", "[lesson1]") {
  Tensor x = two_by_three();
  CHECK(x.sizes() == Shape{2, 3});
  CHECK(x.strides() == Shape{3, 1});  // one row down = skip 3 elements; one column right = 1
  CHECK(x.numel() == 6);
  CHECK(x.storage_offset() == 0);
  CHECK(x.is_contiguous());
  CHECK(x.at<float>({1, 2}) == 6.0f);  // storage[0 + 1*3 + 2*1] = storage[5] = 6
  CHECK(x.data_ptr<float>()[5] == 6.0f);

  std::ostringstream printed;
  printed << x;  // as PyTorch prints it
  CHECK(printed.str() == "tensor([[1., 2., 3.],\n        [4., 5., 6.]])");
}

TEST_CASE("Lesson 1: views share storage", "[lesson1]") {
  Tensor x = two_by_three();

  SECTION("transpose swaps sizes and strides and copies nothing") {
    Tensor t = x.t();
    CHECK(t.sizes() == Shape{3, 2});
    CHECK(t.strides() == Shape{1, 3});                   // x's strides, swapped
    CHECK(t.storage() == x.storage());                   // the very same buffer
    CHECK_FALSE(t.is_contiguous());                      // rows of t are not consecutive in memory
    CHECK(t.at<float>({2, 1}) == 6.0f);                  // storage[2*1 + 1*3] = storage[5], x(1, 2)
    CHECK(t.to_vector<float>() == V{1, 4, 2, 5, 3, 6});  // read in t's row order
  }

  SECTION("narrow and select move the offset") {
    Tensor column = x.select(1, 1);  // x[:, 1]
    CHECK(column.sizes() == Shape{2});
    CHECK(column.strides() == Shape{3});
    CHECK(column.storage_offset() == 1);          // starts at storage[1] = 2
    CHECK(column.to_vector<float>() == V{2, 5});  // storage[1], storage[1 + 3]
    Tensor row = x.narrow(0, 1, 1);               // x[1:2, :]
    CHECK(row.sizes() == Shape{1, 3});
    CHECK(row.storage_offset() == 3);
    CHECK(row.to_vector<float>() == V{4, 5, 6});
  }

  SECTION("writing through a view writes the original") {
    x.select(1, 1).fill_(0.0);
    CHECK(x.to_vector<float>() == V{1, 0, 3, 4, 0, 6});
    CHECK(x.version() == 1);  // the in-place write is counted on the shared storage
  }

  SECTION("reshape is a view when the strides allow it, a copy when they do not") {
    Tensor r = x.reshape({3, 2});
    CHECK(r.storage() == x.storage());
    CHECK(r.to_vector<float>() == V{1, 2, 3, 4, 5, 6});  // same order: reshape is not transpose
    // x.t() reads 1 4 2 5 3 6: no single stride walks storage in that order, so a flat view
    // is impossible; reshape copies, view refuses and says why.
    Tensor flat = x.t().reshape({6});
    CHECK(flat.storage() != x.storage());
    CHECK(flat.to_vector<float>() == V{1, 4, 2, 5, 3, 6});
    CHECK_THROWS_WITH(x.t().view({6}),
                      "view: a tensor of shape [3, 2] and strides [1, 3] cannot "
                      "be viewed as [6] (use reshape(), which copies)");
  }

  SECTION("contiguous() and clone() copy") {
    Tensor c = x.t().contiguous();
    CHECK(c.is_contiguous());
    CHECK(c.strides() == Shape{2, 1});
    CHECK(c.storage() != x.storage());
    Tensor copy = x.clone();
    copy.fill_(7.0);
    CHECK(x.at<float>({0, 0}) == 1.0f);              // the original is untouched
    CHECK(x.contiguous().storage() == x.storage());  // already contiguous: no copy
  }
}

TEST_CASE("Lesson 1: gradients flow back through views", "[lesson1]") {
  Tensor x = two_by_three();
  x.requires_grad_();

  SECTION("forward: a view of x times a constant") {
    Tensor y = x.select(1, 1) * from_vector(V{10, 100}, {2});
    CHECK(y.to_vector<float>() == V{20, 500});  // 2*10, 5*100
  }

  SECTION("backward: the gradient lands where the view's elements came from") {
    Tensor y = x.select(1, 1) * from_vector(V{10, 100}, {2});
    y.sum().backward();
    // d/dx(1,j) of 10 x(0,1) + 100 x(1,1): 10 at (0, 1), 100 at (1, 1), zero elsewhere.
    CHECK(x.grad().sizes() == Shape{2, 3});
    CHECK(x.grad().to_vector<float>() == V{0, 10, 0, 0, 100, 0});
  }

  SECTION("backward through a transpose transposes the gradient back") {
    Tensor w = from_vector(V{1, 2, 3, 4, 5, 6}, {3, 2});
    (x.t() * w).sum().backward();
    // d/dx(i,j) of sum x.t()(j,i) w(j,i) = w(j,i): the gradient is w.t().
    CHECK(x.grad().to_vector<float>() == w.t().to_vector<float>());
    CHECK(x.grad().to_vector<float>() == V{1, 3, 5, 2, 4, 6});
  }

  SECTION("gradcheck every view op used above") {
    using Ts = std::vector<Tensor>;
    check_gradient([](const Ts& t) { return t[0].t(); }, {x});
    check_gradient([](const Ts& t) { return t[0].select(1, 1); }, {x});
    check_gradient([](const Ts& t) { return t[0].narrow(0, 1, 1); }, {x});
    check_gradient([](const Ts& t) { return t[0].reshape({3, 2}); }, {x});
    check_gradient([](const Ts& t) { return t[0].t().reshape({6}); }, {x});  // the copying path
    check_gradient([](const Ts& t) { return t[0].unsqueeze(0) * t[0]; }, {x});
  }
}
