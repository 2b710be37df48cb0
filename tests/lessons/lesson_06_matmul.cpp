// Lesson 6: the gradient of a matrix product.
//
// C = A B with A [N, K] and B [K, M]: C(n, m) = sum_k A(n, k) B(k, m). Given G = dL/dC (the
// shape of C), each A(n, k) meets B(k, m) in every C(n, m) of row n, so
//   dL/dA(n, k) = sum_m G(n, m) B(k, m) = (G B^T)(n, k)   =>  dA = G B^T  [N, M] @ [M, K]
//   dL/dB(k, m) = sum_n A(n, k) G(n, m) = (A^T G)(k, m)   =>  dB = A^T G  [K, N] @ [N, M]
// A memory aid: each gradient has its input's shape, and there is only one way to multiply G
// with the other input (or its transpose) to get that shape. Matmul is a broadcast multiply
// followed by a sum over k (lesson 5), and the gradients come out the same that way.
// In a batched product [B, N, K] @ [K, M] the same B matrix is used by every batch element, so
// its gradient is summed over the batch, exactly as in lesson 5.
//
// Step into: autograd/src/ops/matmul.cpp (matmul and the MmBackward lambda below it).
#include <catch2/catch.hpp>

#include <ember/autograd/gradcheck.h>
#include <ember/autograd/ops.h>
#include <ember/core/generator.h>

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

TEST_CASE("Lesson 6: matmul forward and backward on 2x2 matrices", "[lesson6]") {
  Tensor A = leaf({1, 2, 3, 4}, {2, 2});  // [[1, 2], [3, 4]]
  Tensor B = leaf({5, 6, 7, 8}, {2, 2});  // [[5, 6], [7, 8]]

  SECTION("forward") {
    // [1*5 + 2*7, 1*6 + 2*8; 3*5 + 4*7, 3*6 + 4*8]
    CHECK(matmul(A, B).to_vector<float>() == V{19, 22, 43, 50});
  }

  SECTION("backward of sum(C): G is all ones") {
    matmul(A, B).sum().backward();
    // dA = ones B^T: every row is B's row sums [5 + 6, 7 + 8]
    CHECK(A.grad().to_vector<float>() == V{11, 15, 11, 15});
    // dB = A^T ones: every column is A's column sums [1 + 3, 2 + 4]
    CHECK(B.grad().to_vector<float>() == V{4, 4, 6, 6});
  }

  SECTION("backward of C(0, 0) alone shows which elements meet") {
    matmul(A, B).backward(from_vector(V{1, 0, 0, 0}, {2, 2}));
    // C(0,0) = A(0,0) B(0,0) + A(0,1) B(1,0): dA = [B(0,0), B(1,0); 0, 0] = [5, 7; 0, 0]
    CHECK(A.grad().to_vector<float>() == V{5, 7, 0, 0});
    // dB = [A(0,0), 0; A(0,1), 0] = [1, 0; 2, 0]
    CHECK(B.grad().to_vector<float>() == V{1, 0, 2, 0});
  }

  SECTION("the formulas dA = G B^T and dB = A^T G, written out") {
    Tensor G = from_vector(V{1, -1, 2, 0.5f}, {2, 2});
    matmul(A, B).backward(G);
    CHECK(A.grad().to_vector<float>() == matmul(G, B.detach().t()).to_vector<float>());
    CHECK(B.grad().to_vector<float>() == matmul(A.detach().t(), G).to_vector<float>());
    // G B^T = [1*5 - 1*6, 1*7 - 1*8; 2*5 + 0.5*6, 2*7 + 0.5*8]
    CHECK(A.grad().to_vector<float>() == V{-1, -1, 13, 18});
  }

  SECTION("matmul is a broadcast multiply and a sum over k") {
    // [N, K, 1] * [1, K, M] -> [N, K, M], summed over k -> [N, M]
    Tensor C = (A.unsqueeze(2) * B.unsqueeze(0)).sum(1);
    CHECK(C.to_vector<float>() == V{19, 22, 43, 50});
    C.sum().backward();
    CHECK(A.grad().to_vector<float>() == V{11, 15, 11, 15});  // as with matmul
    CHECK(B.grad().to_vector<float>() == V{4, 4, 6, 6});
  }
}

TEST_CASE("Lesson 6: gradients have their inputs' shapes", "[lesson6]") {
  Generator gen(6);
  Tensor A = randn({2, 3}, gen), B = randn({3, 4}, gen);  // N = 2, K = 3, M = 4
  A.requires_grad_();
  B.requires_grad_();
  Tensor C = matmul(A, B);
  CHECK(C.sizes() == Shape{2, 4});
  C.sum().backward();
  CHECK(A.grad().sizes() == Shape{2, 3});  // G B^T: [2, 4] @ [4, 3]
  CHECK(B.grad().sizes() == Shape{3, 4});  // A^T G: [3, 2] @ [2, 4]
  CHECK_THROWS_WITH(matmul(A, A), "matmul: shapes [2, 3] and [2, 3] cannot be multiplied (3 != 2)");

  using Ts = std::vector<Tensor>;
  check_gradient([](const Ts& t) { return matmul(t[0], t[1]); }, {A, B});
  check_gradient([](const Ts& t) { return matmul(t[1].t(), t[0].t()); }, {A, B});  // views
}

TEST_CASE("Lesson 6: a batched product sums the shared matrix's gradient", "[lesson6]") {
  // Two batch elements, each [[1, 2], [3, 4]] times the same W.
  Tensor X = leaf({1, 2, 3, 4, 1, 2, 3, 4}, {2, 2, 2});
  Tensor W = leaf({1, 0, 0, 1}, {2, 2});  // the identity

  SECTION("forward") {
    CHECK(matmul(X, W).to_vector<float>() == X.to_vector<float>());
  }

  SECTION("backward") {
    matmul(X, W).sum().backward();
    // Per batch element dW = X_b^T ones = [[4, 4], [6, 6]]; two of them, summed.
    CHECK(W.grad().sizes() == Shape{2, 2});
    CHECK(W.grad().to_vector<float>() == V{8, 8, 12, 12});
    // dX_b = ones W^T: row sums of W are 1.
    CHECK(X.grad().to_vector<float>() == V{1, 1, 1, 1, 1, 1, 1, 1});
  }

  SECTION("gradcheck") {
    check_gradient([](const std::vector<Tensor>& t) { return matmul(t[0], t[1]); }, {X, W});
  }
}
