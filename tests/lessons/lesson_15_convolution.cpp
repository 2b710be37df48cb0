// Lesson 15: convolution is im2col plus a matrix product, and so is its gradient.
//
// A 2-d convolution layer computes a cross-correlation (d2l 7.2; no kernel flip):
//   y[o, i, j] = b[o] + sum_{c, kh, kw} w[o, c, kh, kw] x[c, i + kh, j + kw]
// with x [C, H, W], w [O, C, KH, KW] and y [O, OH, OW], OH = H - KH + 1 (stride 1, no padding;
// padding is the same on a zero-padded x). Gather every KH x KW patch of x as a column:
//   col(x) [C KH KW, OH OW],  col(x)[(c, kh, kw), (i, j)] = x[c, i + kh, j + kw]
// and the sum over (c, kh, kw) becomes one matrix product with the weight as a [O, C KH KW]
// matrix W:   Y = W col(x) + b   ([O, C KH KW] @ [C KH KW, OH OW] -> [O, OH OW]).
// The gradient is lesson 6's, with G = dL/dY [O, OH OW]:
//   dW = G col(x)^T            [O, OH OW] @ [OH OW, C KH KW]
//   dcol = W^T G,  dx = col2im(dcol)
// where col2im is im2col's adjoint: every entry of dcol is added back to the x element it was
// copied from (an element of x sits in up to KH KW patches, so its gradient is a sum).
// ember computes conv2d exactly this way, over chunks of images at a time (Note [Convolution as
// im2col + GEMM]); db is G summed over the image.
//
// Step into: autograd/src/ops/conv.cpp (ember::conv2d and its ConvolutionBackward lambda), then
// core/src/ops/conv.cpp (conv2d_forward: im2col, then kernels::gemm) and
// core/src/kernels/im2col.cpp.
#include <catch2/catch.hpp>

#include <ember/autograd/conv.h>
#include <ember/autograd/gradcheck.h>
#include <ember/autograd/ops.h>
#include <ember/core/generator.h>
#include <ember/core/ops.h>

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

// Every element of `got` within 1e-5 (relative, or absolute near 0) of `want`: float32 sums
// taken in different orders.
void check_close(const Tensor& got, const Tensor& want) {
  const V g = got.contiguous().to_vector<float>(), w = want.contiguous().to_vector<float>();
  REQUIRE(g.size() == w.size());
  for (std::size_t i = 0; i < g.size(); ++i) CHECK(g[i] == Approx(w[i]).epsilon(1e-5).margin(1e-5));
}

// im2col of one image x [C, H, W] for a KH x KW kernel (stride 1, no padding): row (c, kh, kw)
// is the OH x OW window of channel c starting at (kh, kw), flattened. Built from views
// (select, narrow) and stack, so autograd differentiates it too.
Tensor im2col(const Tensor& x, std::int64_t KH, std::int64_t KW) {
  const std::int64_t C = x.size(0), OH = x.size(1) - KH + 1, OW = x.size(2) - KW + 1;
  std::vector<Tensor> rows;
  for (std::int64_t c = 0; c < C; ++c)
    for (std::int64_t kh = 0; kh < KH; ++kh)
      for (std::int64_t kw = 0; kw < KW; ++kw)
        rows.push_back(x.select(0, c).narrow(0, kh, OH).narrow(1, kw, OW).reshape({OH * OW}));
  return stack(rows, 0);  // [C KH KW, OH OW]
}

// col2im, im2col's adjoint: dx[c, i + kh, j + kw] += dcol[(c, kh, kw), (i, j)]. Plain loops.
Tensor col2im(const Tensor& dcol, std::int64_t C, std::int64_t H, std::int64_t W, std::int64_t KH,
              std::int64_t KW) {
  const std::int64_t OH = H - KH + 1, OW = W - KW + 1;
  const V d = dcol.contiguous().to_vector<float>();
  V dx(static_cast<std::size_t>(C * H * W), 0.0f);
  for (std::int64_t c = 0; c < C; ++c)
    for (std::int64_t kh = 0; kh < KH; ++kh)
      for (std::int64_t kw = 0; kw < KW; ++kw)
        for (std::int64_t i = 0; i < OH; ++i)
          for (std::int64_t j = 0; j < OW; ++j)
            dx[static_cast<std::size_t>((c * H + i + kh) * W + j + kw)] +=
                d[static_cast<std::size_t>(((c * KH + kh) * KW + kw) * OH * OW + i * OW + j)];
  return from_vector(dx, {C, H, W});
}
}  // namespace

TEST_CASE("Lesson 15: d2l's corr2d, then the same as im2col and a matrix product", "[lesson15]") {
  // d2l 7.2.1:
  //   def corr2d(X, K):
  //       h, w = K.shape
  //       Y = torch.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1))
  //       for i in range(Y.shape[0]):
  //           for j in range(Y.shape[1]):
  //               Y[i, j] = (X[i:i + h, j:j + w] * K).sum()
  //       return Y
  //   X = torch.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])
  //   K = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
  //   corr2d(X, K)  # tensor([[19., 25.], [37., 43.]])
  Tensor X = leaf({0, 1, 2, 3, 4, 5, 6, 7, 8}, {1, 3, 3});  // one channel
  Tensor K = leaf({0, 1, 2, 3}, {1, 1, 2, 2});              // one output channel

  SECTION("forward: the loop, im2col, and conv2d agree") {
    // The loop, with narrow for X[i:i + h, j:j + w]: 0*0 + 1*1 + 3*2 + 4*3 = 19, ...
    V loop;
    for (std::int64_t i = 0; i < 2; ++i)
      for (std::int64_t j = 0; j < 2; ++j)
        loop.push_back((X.select(0, 0).narrow(0, i, 2).narrow(1, j, 2) * K.reshape({2, 2}))
                           .sum()
                           .item<float>());
    CHECK(loop == V{19, 25, 37, 43});
    // The columns: patch (i, j) is column i * 2 + j; row (kh, kw) holds X[i + kh, j + kw].
    const Tensor col = im2col(X, 2, 2);
    CHECK(col.sizes() == Shape{4, 4});
    CHECK(col.to_vector<float>() == V{0, 1, 3, 4,    // (kh, kw) = (0, 0)
                                      1, 2, 4, 5,    // (0, 1)
                                      3, 4, 6, 7,    // (1, 0)
                                      4, 5, 7, 8});  // (1, 1)
    // Y = W col: [0 1 2 3] @ col = [0*0 + 1*1 + 2*3 + 3*4, ...] = [19, 25, 37, 43]
    CHECK(matmul(K.reshape({1, 4}), col).to_vector<float>() == V{19, 25, 37, 43});
    // torch.nn.functional.conv2d(X.reshape(1, 1, 3, 3), K.reshape(1, 1, 2, 2)) gives the same.
    CHECK(conv2d(X, K).to_vector<float>() == V{19, 25, 37, 43});
  }

  SECTION("backward: dW = G col^T and dx = col2im(W^T G), by hand and by conv2d") {
    conv2d(X, K).sum().backward();  // G = ones [1, 4]
    // dW = G col^T: the row sums of col = [0+1+3+4, 1+2+4+5, 3+4+6+7, 4+5+7+8]
    CHECK(K.grad().to_vector<float>() == V{8, 12, 20, 24});
    // dcol = W^T G: row (kh, kw) of dcol is K[kh, kw] in every column. col2im adds each back to
    // its x element: x[1, 1] is in all four patches (0 + 1 + 2 + 3 = 6), a corner in one.
    //   dx = [0  1  1]      x[1, 2]: K[0, 1] in patch (1, 1) + K[1, 1] in patch (0, 1) = 1 + 3
    //        [2  6  4]      x[2, 1]: K[1, 0] in patch (1, 1) + K[1, 1] in patch (1, 0) = 2 + 3
    //        [2  5  3]
    CHECK(X.grad().to_vector<float>() == V{0, 1, 1, 2, 6, 4, 2, 5, 3});
    const Tensor G = ones({1, 4});
    const Tensor W = K.detach().reshape({1, 4});
    CHECK(matmul(G, im2col(X.detach(), 2, 2).t()).to_vector<float>() ==
          K.grad().to_vector<float>());
    CHECK(col2im(matmul(W.t(), G), 1, 3, 3, 2, 2).to_vector<float>() ==
          X.grad().to_vector<float>());
  }
}

TEST_CASE("Lesson 15: several channels, checked against conv2d and by gradcheck", "[lesson15]") {
  // C = 2 in-channels, O = 3 out-channels, a 3 x 2 kernel on a 4 x 5 image: OH = 2, OW = 4.
  Generator gen(15);
  const std::int64_t C = 2, O = 3, H = 4, W = 5, KH = 3, KW = 2, OH = 2, OW = 4;
  Tensor x = randn({C, H, W}, gen), w = randn({O, C, KH, KW}, gen), b = randn({O}, gen);
  x.requires_grad_();
  w.requires_grad_();
  b.requires_grad_();
  const Tensor G = randn({O, OH, OW}, gen);  // dL/dy

  // Y = W col(x) + b, b broadcast along the columns; then back to [O, OH, OW].
  auto by_im2col = [&](const std::vector<Tensor>& t) {
    return (matmul(t[1].reshape({O, C * KH * KW}), im2col(t[0], KH, KW)) + t[2].unsqueeze(1))
        .reshape({O, OH, OW});
  };
  const Tensor y = conv2d(x, w, b);
  check_close(y, by_im2col({x, w, b}));
  y.backward(G);

  // The formulas, written out with G as the matrix [O, OH OW].
  const Tensor Gm = G.reshape({O, OH * OW});
  const Tensor col = im2col(x.detach(), KH, KW);
  const Tensor dW = matmul(Gm, col.t()).reshape({O, C, KH, KW});
  const Tensor dx = col2im(matmul(w.detach().reshape({O, C * KH * KW}).t(), Gm), C, H, W, KH, KW);
  check_close(w.grad(), dW);
  check_close(x.grad(), dx);
  check_close(b.grad(), Gm.sum(1));  // db[o] = sum of G's row o

  // Autograd through the lesson's own im2col (views and stack) agrees with central
  // differences, and so does conv2d's ConvolutionBackward.
  check_gradient(by_im2col, {x, w, b});
  check_gradient([](const std::vector<Tensor>& t) { return conv2d(t[0], t[1], t[2]); }, {x, w, b});
}
