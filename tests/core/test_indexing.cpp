// Indexing as libtorch spells it (t.index({...}) with integers, Slice, None, Ellipsis, int64
// tensors and uint8 masks), index_put_, gather, index_select, where and masked_fill: values and
// gradients against PyTorch, gradchecks on broadcast and non-contiguous inputs, and the errors.
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <map>

#include "support/gradcheck.h"

#include <ember/autograd/grad_mode.h>
#include <ember/core/generator.h>
#include <ember/core/ops.h>

using namespace ember;
using namespace ember::indexing;
using Ts = std::vector<Tensor>;

namespace {

struct IndexCase {
  const char* name;
  Shape shape;
  std::vector<float> values, grad;
};

// PyTorch 1.13 (/usr/bin/python3): x = torch.arange(24.).reshape(2, 3, 4); out = f(x);
// (out * (1, 2, 3, ... shaped like out)).sum().backward(); then out and x.grad:
//   import torch
//   def show(name, f):
//       x = torch.arange(24.).reshape(2, 3, 4).requires_grad_()
//       out = f(x)
//       w = torch.arange(1., out.numel() + 1).reshape(out.shape)
//       (out * w).sum().backward()
//       fl = lambda t: ', '.join(str(int(v)) for v in t.flatten().tolist())
//       print('  {"%s", {%s}, {%s}, {%s}},' % (name, ', '.join(map(str, out.shape)), fl(out),
//       fl(x.grad)))
//   i = lambda *v: torch.tensor(v)
//   show("x[1]", lambda x: x[1])
//   show("x[-1, 0]", lambda x: x[-1, 0])
//   show("x[:, 1:]", lambda x: x[:, 1:])
//   show("x[..., ::2]", lambda x: x[..., ::2])
//   show("x[:, -2:, None]", lambda x: x[:, -2:, None])
//   show("x[0, 1:100:2]", lambda x: x[0, 1:100:2])
//   show("x[:, 3:1]", lambda x: x[:, 3:1])
//   show("x[None, ..., 1]", lambda x: x[None, ..., 1])
//   show("x[-5:, -100:2, 1:-1]", lambda x: x[-5:, -100:2, 1:-1])
//   show("x[[1, 0, 1]]", lambda x: x[i(1, 0, 1)])
//   show("x[:, [2, 0]]", lambda x: x[:, i(2, 0)])
//   show("x[[0, 1], :, [3, 1]]", lambda x: x[i(0, 1), :, i(3, 1)])
//   show("x[:, [[0, 1], [2, 2]], [1, 3]]", lambda x: x[:, torch.tensor([[0, 1], [2, 2]]), i(1, 3)])
//   show("x[x[:, :, 0] > 5]", lambda x: x[x.detach()[:, :, 0] > 5])
//   show("x[..., [-1]]", lambda x: x[..., i(-1)])
//   show("x[1, [0, 0, 2], 1:3]", lambda x: x[1, i(0, 0, 2), 1:3])
//   show("x[0, :, [1, 2]]", lambda x: x[0, :, i(1, 2)])
const std::vector<IndexCase> kIndex = {
    {"x[1]", {3, 4}, {12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23}, {0, 0, 0, 0, 0, 0,  0,  0,
                                                                        0, 0, 0, 0, 1, 2,  3,  4,
                                                                        5, 6, 7, 8, 9, 10, 11, 12}},
    {"x[-1, 0]", {4}, {12, 13, 14, 15}, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                         1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0}},
    {"x[:, 1:]",
     {2, 2, 4},
     {4, 5, 6, 7, 8, 9, 10, 11, 16, 17, 18, 19, 20, 21, 22, 23},
     {0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 9, 10, 11, 12, 13, 14, 15, 16}},
    {"x[..., ::2]",
     {2, 3, 2},
     {0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22},
     {1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8, 0, 9, 0, 10, 0, 11, 0, 12, 0}},
    {"x[:, -2:, None]",
     {2, 2, 1, 4},
     {4, 5, 6, 7, 8, 9, 10, 11, 16, 17, 18, 19, 20, 21, 22, 23},
     {0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 9, 10, 11, 12, 13, 14, 15, 16}},
    {"x[0, 1:100:2]", {1, 4}, {4, 5, 6, 7}, {0, 0, 0, 0, 1, 2, 3, 4, 0, 0, 0, 0,
                                             0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
    {"x[:, 3:1]", {2, 0, 4}, {}, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
    {"x[None, ..., 1]", {1, 2, 3}, {1, 5, 9, 13, 17, 21}, {0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0,
                                                           0, 4, 0, 0, 0, 5, 0, 0, 0, 6, 0, 0}},
    {"x[-5:, -100:2, 1:-1]", {2, 2, 2}, {1, 2, 5, 6, 13, 14, 17, 18}, {0, 1, 2, 0, 0, 3, 4, 0,
                                                                       0, 0, 0, 0, 0, 5, 6, 0,
                                                                       0, 7, 8, 0, 0, 0, 0, 0}},
    {"x[[1, 0, 1]]",
     {3, 3, 4},
     {12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 0,  1,  2,  3,  4,  5,
      6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23},
     {13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24,
      26, 28, 30, 32, 34, 36, 38, 40, 42, 44, 46, 48}},
    {"x[:, [2, 0]]",
     {2, 2, 4},
     {8, 9, 10, 11, 0, 1, 2, 3, 20, 21, 22, 23, 12, 13, 14, 15},
     {5, 6, 7, 8, 0, 0, 0, 0, 1, 2, 3, 4, 13, 14, 15, 16, 0, 0, 0, 0, 9, 10, 11, 12}},
    {"x[[0, 1], :, [3, 1]]", {2, 3}, {3, 7, 11, 13, 17, 21}, {0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3,
                                                              0, 4, 0, 0, 0, 5, 0, 0, 0, 6, 0, 0}},
    {"x[:, [[0, 1], [2, 2]], [1, 3]]",
     {2, 2, 2},
     {1, 7, 9, 11, 13, 19, 21, 23},
     {0, 1, 0, 0, 0, 0, 0, 2, 0, 3, 0, 4, 0, 5, 0, 0, 0, 0, 0, 6, 0, 7, 0, 8}},
    {"x[x[:, :, 0] > 5]",
     {4, 4},
     {8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23},
     {0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}},
    {"x[..., [-1]]", {2, 3, 1}, {3, 7, 11, 15, 19, 23}, {0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3,
                                                         0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 6}},
    {"x[1, [0, 0, 2], 1:3]", {3, 2}, {13, 14, 13, 14, 21, 22}, {0, 0, 0, 0, 0, 0, 0, 0,
                                                                0, 0, 0, 0, 0, 4, 6, 0,
                                                                0, 0, 0, 0, 0, 5, 6, 0}},
    {"x[0, :, [1, 2]]", {3, 2}, {1, 2, 5, 6, 9, 10}, {0, 1, 2, 0, 0, 3, 4, 0, 0, 5, 6, 0,
                                                      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
};

Tensor ints(std::vector<std::int64_t> v) {
  const auto n = static_cast<std::int64_t>(v.size());
  return from_vector(v, {n});
}

const std::map<std::string, std::function<Tensor(const Tensor&)>> kOurs = {
    {"x[1]",
     [](const Tensor& x) {
       return x.index({1});
     }},
    {"x[-1, 0]",
     [](const Tensor& x) {
       return x.index({-1, 0});
     }},
    {"x[:, 1:]",
     [](const Tensor& x) {
       return x.index({Slice(), Slice(1)});
     }},
    {"x[..., ::2]",
     [](const Tensor& x) {
       return x.index({Ellipsis, Slice(None, None, 2)});
     }},
    {"x[:, -2:, None]",
     [](const Tensor& x) {
       return x.index({Slice(), Slice(-2), None});
     }},
    {"x[0, 1:100:2]",
     [](const Tensor& x) {
       return x.index({0, Slice(1, 100, 2)});
     }},
    {"x[:, 3:1]",
     [](const Tensor& x) {
       return x.index({Slice(), Slice(3, 1)});
     }},
    {"x[None, ..., 1]",
     [](const Tensor& x) {
       return x.index({None, Ellipsis, 1});
     }},
    {"x[-5:, -100:2, 1:-1]",
     [](const Tensor& x) {
       return x.index({Slice(-5), Slice(-100, 2), Slice(1, -1)});
     }},
    {"x[[1, 0, 1]]",
     [](const Tensor& x) {
       return x.index({ints({1, 0, 1})});
     }},
    {"x[:, [2, 0]]",
     [](const Tensor& x) {
       return x.index({Slice(), ints({2, 0})});
     }},
    {"x[[0, 1], :, [3, 1]]",
     [](const Tensor& x) {
       return x.index({ints({0, 1}), Slice(), ints({3, 1})});
     }},
    {"x[:, [[0, 1], [2, 2]], [1, 3]]",
     [](const Tensor& x) {
       return x.index({Slice(), tensor({{0, 1}, {2, 2}}), ints({1, 3})});
     }},
    {"x[x[:, :, 0] > 5]",
     [](const Tensor& x) {
       return x.index({x.detach().index({Slice(), Slice(), 0}) > 5});
     }},
    {"x[..., [-1]]",
     [](const Tensor& x) {
       return x.index({Ellipsis, ints({-1})});
     }},
    {"x[1, [0, 0, 2], 1:3]",
     [](const Tensor& x) {
       return x.index({1, ints({0, 0, 2}), Slice(1, 3)});
     }},
    {"x[0, :, [1, 2]]",
     [](const Tensor& x) {
       return x.index({0, Slice(), ints({1, 2})});
     }},
};

Tensor input(Shape shape, std::uint64_t seed) {
  Generator gen(seed);
  return randn(shape, gen).requires_grad_();
}

}  // namespace

TEST_CASE("index: values and gradients match PyTorch", "[indexing]") {
  for (const IndexCase& c : kIndex) {
    INFO(c.name);
    Tensor x = arange(24).to(kFloat32).reshape({2, 3, 4}).detach().requires_grad_();
    const Tensor out = kOurs.at(c.name)(x);
    CHECK(out.sizes() == c.shape);
    CHECK(out.to_vector<float>() == c.values);
    const Tensor w = (arange(out.numel()) + 1).to(kFloat32).reshape(out.sizes());
    (out * w).sum().backward();
    CHECK(x.grad().to_vector<float>() == c.grad);
  }
}

TEST_CASE("index: gradchecks on non-contiguous inputs, repeated indices accumulate", "[indexing]") {
  Tensor base = input({4, 3}, 1);  // used as base.t(): a [3, 4] view with strides [1, 3]
  CHECK_GRADCHECK(
      [](const Ts& t) {
        return t[0].t().index({Slice(None, None, 2), ints({3, 3, 0})});
      },
      base);
  CHECK_GRADCHECK(
      [](const Ts& t) {
        return t[0].t().index({ints({-1, 0, 0}), Slice(1)}) * 2.0;
      },
      base);
  CHECK_GRADCHECK([](const Ts& t) { return t[0].index({t[0].detach() > 0}); }, base);
  // The d2l line: y_hat[range(n), y] picks each row's true-class probability.
  // y_hat = torch.tensor([[0.1, 0.3, 0.6], [0.3, 0.2, 0.5]]); y_hat[[0, 1], torch.tensor([0, 2])]
  //   -> tensor([0.1000, 0.5000])
  const Tensor y_hat = tensor({{0.1f, 0.3f, 0.6f}, {0.3f, 0.2f, 0.5f}});
  CHECK(y_hat.index({arange(2), ints({0, 2})}).to_vector<float>() ==
        std::vector<float>{0.1f, 0.5f});
}

TEST_CASE("index: errors name the index, the dim and the shape", "[indexing]") {
  const Tensor x = zeros({3, 4});
  // x[3] -> "index 3 is out of bounds for dimension 0 with size 3"
  CHECK_THROWS_WITH(x.index({3}),
                    "index: index 3 is out of range for dim 0 of size 3 (tensor of shape [3, 4])");
  CHECK_THROWS_WITH(x.index({Slice(), ints({5})}),
                    "index: index 5 is out of bounds for dim 1 "
                    "with size 4 (tensor of shape [3, 4])");
  CHECK_THROWS_WITH(x.index({ints({-4})}),
                    "index: index -4 is out of bounds for dim 0 with size "
                    "3 (tensor of shape [3, 4])");
  CHECK_THROWS_WITH(x.index({0, 0, 0}),
                    "index: too many indices for a tensor of shape [3, 4]: 3 dims indexed");
  CHECK_THROWS_WITH(x.index({Ellipsis, Ellipsis}),
                    "index: an index can only have a single Ellipsis, got 2");
  CHECK_THROWS_WITH(x.index({tensor({true, false})}),
                    "index: the mask of shape [2] does not match the indexed dims [3] (from dim "
                    "0 of shape [3, 4])");
  CHECK_THROWS_WITH(x.index({tensor({1.f})}),
                    "index: tensors used as indices must be int64 "
                    "positions or uint8 masks, got float32 of shape [1]");
  CHECK_THROWS_WITH(x.index({Slice(0, 2, 0)}),
                    "index: slice step must be positive, got 0 for dim 0 of shape [3, 4]");
  CHECK_THROWS_WITH(x.index({Slice(0, 2, -1)}),
                    "index: slice step must be positive, got -1 for dim 0 of shape [3, 4]");
}

TEST_CASE("index_put_ writes, accumulates, and takes masks", "[indexing]") {
  // x = torch.zeros(3, 4); x[torch.tensor([0, 2]), torch.tensor([1, 3])] = torch.tensor([1., 2.])
  Tensor x = zeros({3, 4});
  x.index_put_({ints({0, 2}), ints({1, 3})}, tensor({1.f, 2.f}));
  CHECK(x.to_vector<float>() == std::vector<float>{0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2});
  // x.index_put_((tensor([0, 0, 2]), tensor([1, 1, 1])), tensor([1., 2., 3.]), accumulate=True)
  x = zeros({3, 4});
  x.index_put_({ints({0, 0, 2}), ints({1, 1, 1})}, tensor({1.f, 2.f, 3.f}), true);
  CHECK(x.to_vector<float>() == std::vector<float>{0, 3, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0});
  // x = torch.arange(12.).reshape(3, 4); x[x > 8] = -1
  x = arange(12).to(kFloat32).reshape({3, 4});
  x.index_put_({x > 8}, scalar_tensor(-1.0));
  CHECK(x.to_vector<float>() == std::vector<float>{0, 1, 2, 3, 4, 5, 6, 7, 8, -1, -1, -1});
  // x[1:, ::2] = torch.tensor([7., 8.])
  x = arange(12).to(kFloat32).reshape({3, 4});
  x.index_put_({Slice(1), Slice(None, None, 2)}, tensor({7.f, 8.f}));
  CHECK(x.to_vector<float>() == std::vector<float>{0, 1, 2, 3, 7, 5, 8, 7, 7, 9, 8, 11});
  // x[:, torch.tensor([0, 3])] = torch.tensor([[1.], [2.], [3.]])
  x = arange(12).to(kFloat32).reshape({3, 4});
  x.index_put_({Slice(), ints({0, 3})}, tensor({{1.f}, {2.f}, {3.f}}));
  CHECK(x.to_vector<float>() == std::vector<float>{1, 1, 2, 1, 2, 5, 6, 2, 3, 9, 10, 3});
  CHECK_THROWS_WITH(
      x.index_put_({ints({0, 1})}, zeros({3, 4})),
      "index_put_: shapes [2, 4] and [3, 4] cannot be broadcast together (dim 0: 2 vs 3)");
  Tensor i = arange(3);
  CHECK_THROWS_WITH(i.index_put_({0}, scalar_tensor(0.5)),
                    "index_put_: a float32 value can't be written into a int64 tensor");
  Tensor w = zeros({2}).requires_grad_();
  CHECK_THROWS_WITH(w.index_put_({0}, scalar_tensor(1.0)),
                    "index_put_: in-place change of a tensor that requires grad (a leaf: update "
                    "it inside a NoGradGuard)");
}

TEST_CASE("gather and index_select, with scatter-add gradients", "[indexing]") {
  // t = torch.tensor([[1., 2.], [3., 4.]], requires_grad=True)
  // o = t.gather(1, torch.tensor([[0, 0], [1, 0]])); o.sum().backward()
  //   -> o = [[1., 1.], [4., 3.]], t.grad = [[2., 0.], [1., 1.]]
  Tensor t = tensor({{1.f, 2.f}, {3.f, 4.f}}).requires_grad_();
  const Tensor o = t.gather(1, tensor({{0, 0}, {1, 0}}));
  CHECK(o.to_vector<float>() == std::vector<float>{1, 1, 4, 3});
  o.sum().backward();
  CHECK(t.grad().to_vector<float>() == std::vector<float>{2, 0, 1, 1});
  Tensor base = input({4, 3}, 2);
  CHECK_GRADCHECK(
      [](const Ts& v) {
        return v[0].t().gather(0, tensor({{0, 2, 2, 1}, {2, 2, 0, 0}}));
      },
      base);
  // torch.arange(6).reshape(2, 3).index_select(1, torch.tensor([2, 0, 2])) -> [[2, 0, 2], [5, 3,
  // 5]]
  CHECK(arange(6).reshape({2, 3}).index_select(1, ints({2, 0, 2})).to_vector<std::int64_t>() ==
        std::vector<std::int64_t>{2, 0, 2, 5, 3, 5});
  CHECK_GRADCHECK([](const Ts& v) { return v[0].t().index_select(-1, ints({3, 0, 3})); }, base);
  // t.gather(0, torch.tensor([[3]])) -> "index 3 is out of bounds for dimension 0 with size 3"
  CHECK_THROWS_WITH(zeros({3, 4}).gather(0, tensor({{3}})),
                    "gather: index 3 is out of bounds for dim 0 with size 3 (input shape [3, 4])");
  CHECK_THROWS_WITH(zeros({3, 4}).gather(1, tensor({{-1}})),
                    "gather: index -1 is out of bounds for dim 1 with size 4 (input shape [3, 4])");
  CHECK_THROWS_WITH(zeros({3, 4}).gather(1, zeros({3, 4})),
                    "gather: expected an int64 index, got float32 of shape [3, 4]");
  CHECK_THROWS_WITH(zeros({3, 4}).gather(1, tensor({0, 1})),
                    "gather: index [2] and input [3, 4] must have the same number of dims");
  CHECK_THROWS_WITH(zeros({3, 4}).gather(1, zeros({4, 1}, kInt64)),
                    "gather: index [4, 1] is larger than input [3, 4] in dim 0 (only dim 1 may "
                    "differ)");
  CHECK_THROWS_WITH(zeros({3}).index_select(0, tensor({{0}})),
                    "index_select: expected a 1-d int64 index, got int64 of shape [1, 1]");
}

TEST_CASE("where and masked_fill, NaN included", "[indexing]") {
  // a = torch.tensor([[1., -2.], [3., nan]], requires_grad=True); b = torch.tensor([10., 20.], ...)
  // o = torch.where(a > 0, a, b); (o * torch.tensor([[1., 2.], [3., 4.]])).sum().backward()
  //   -> o = [[1., 20.], [3., 20.]], a.grad = [[1., 0.], [3., 0.]], b.grad = [0., 6.]
  Tensor a = tensor({{1.f, -2.f}, {3.f, NAN}}).requires_grad_();
  Tensor b = tensor({10.f, 20.f}).requires_grad_();
  const Tensor o = where(a > 0, a, b);
  CHECK(o.to_vector<float>() == std::vector<float>{1, 20, 3, 20});
  (o * tensor({{1.f, 2.f}, {3.f, 4.f}})).sum().backward();
  CHECK(a.grad().to_vector<float>() == std::vector<float>{1, 0, 3, 0});
  CHECK(b.grad().to_vector<float>() == std::vector<float>{0, 6});
  Tensor p = input({3, 4}, 3), q = input({4}, 4);
  CHECK_GRADCHECK(
      [](const Ts& v) { return where(v[0].t().detach() > 0, v[0].t(), v[1].unsqueeze(1)); }, p, q);
  // torch.arange(6.).reshape(2, 3).masked_fill(torch.tensor([True, False, True]), -1.5)
  //   -> [[-1.5, 1., -1.5], [-1.5, 4., -1.5]]
  CHECK(arange(6)
            .to(kFloat32)
            .reshape({2, 3})
            .masked_fill(tensor({true, false, true}), -1.5)
            .to_vector<float>() == std::vector<float>{-1.5f, 1, -1.5f, -1.5f, 4, -1.5f});
  CHECK_GRADCHECK(
      [](const Ts& v) {
        return v[0].masked_fill(tensor({true, false, false, true}), 0.0);
      },
      p);
  CHECK(where(tensor({true, false}), arange(2), 0.5 * ones({2})).dtype() == kFloat32);
  CHECK_THROWS_WITH(where(zeros({2}), zeros({2}), zeros({2})),
                    "where: expected a uint8 condition, got float32 of shape [2]");
  CHECK_THROWS_WITH(zeros({2}).masked_fill(tensor({{true}, {false}, {true}}), 1),
                    "masked_fill: the mask of shape [3, 1] does not broadcast to the tensor's "
                    "shape [2]");
}
