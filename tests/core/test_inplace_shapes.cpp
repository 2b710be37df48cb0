// Issue 13, kind A: writes into an existing tensor. An in-place op's broadcast result must have
// the destination's shape, an assigned grad its tensor's shape and dtype, and a copy whose source
// overlaps its destination must read the source as it was before the copy.
#include <catch2/catch.hpp>

#include <ember/autograd/grad_mode.h>
#include <ember/autograd/ops.h>

using namespace ember;
using Catch::Contains;

TEST_CASE("in-place ops refuse a broadcast result larger than the destination", "[inplace]") {
  Tensor a = zeros({3});
  const auto version = a.version();
  // 6 results for 3 places: this wrote past a's storage.
  CHECK_THROWS_WITH(a.add_(ones({2, 3})),
                    "add_: output with shape [3] doesn't match the broadcast shape [2, 3]");
  CHECK_THROWS_WITH(a.add_(ones({2, 1})),
                    "add_: output with shape [3] doesn't match the broadcast shape [2, 3]");
  CHECK_THROWS_WITH(a.add_(ones({4})), Contains("add_: shapes [3] and [4] cannot be broadcast"));
  CHECK_THROWS_WITH(scalar_tensor(1.0).add_(ones({2}), 2.0),
                    "add_: output with shape [] doesn't match the broadcast shape [2]");
  CHECK_THROWS_WITH(a.copy_(ones({2, 3})),
                    Contains("copy_: source shape [2, 3] does not broadcast"));
  CHECK(a.version() == version);  // refused before anything was written
  CHECK(a.to_vector<float>() == std::vector<float>{0, 0, 0});
  // What does broadcast to the destination is fine.
  Tensor b = zeros({2, 3});
  b.add_(from_vector(std::vector<float>{1, 2, 3}, {3}));
  b.add_(ones({2, 1}), 10.0);
  CHECK(b.to_vector<float>() == std::vector<float>{11, 12, 13, 11, 12, 13});
  b.copy_(scalar_tensor(7.0));
  CHECK(b.to_vector<float>() == std::vector<float>(6, 7.0f));
  // Writes through a view land in the base, within the view's shape only.
  Tensor row = b.select(0, 1);
  CHECK_THROWS_WITH(row.add_(ones({2, 3})), Contains("output with shape [3]"));
  row.add_(ones({3}));
  CHECK(b.to_vector<float>() == std::vector<float>{7, 7, 7, 8, 8, 8});
}

TEST_CASE("an assigned grad must have the tensor's shape and dtype", "[inplace][grad]") {
  Tensor w = zeros({3}).requires_grad_();
  CHECK_THROWS_WITH(w.mutable_grad() = ones({2, 3}),
                    "grad: assigned grad has data of a different size: [2, 3] for a tensor of "
                    "shape [3]");
  CHECK_THROWS_WITH(w.mutable_grad() = ones({}),
                    "grad: assigned grad has data of a different size: [] for a tensor of shape "
                    "[3]");
  CHECK_THROWS_WITH(w.mutable_grad() = zeros({3}, kInt64),
                    "grad: assigned grad has data of a different type: int64 for a tensor of "
                    "dtype float32");
  CHECK_THROWS_WITH(w.mutable_grad() = w, "grad: can't assign a tensor as its own grad");
  CHECK_FALSE(w.grad().defined());
  w.mutable_grad() = full({3}, 2.0);
  CHECK(w.grad().to_vector<float>() == std::vector<float>{2, 2, 2});
  // A backward accumulates into the assigned grad, which has the right shape by construction.
  (w * 3.0).sum().backward();
  CHECK(w.grad().to_vector<float>() == std::vector<float>{5, 5, 5});
  w.mutable_grad() = Tensor();  // clearing is always allowed
  CHECK_FALSE(w.grad().defined());
}

TEST_CASE("copy_ reads an overlapping source as it was before the copy", "[inplace][overlap]") {
  // a = [[0, 1, 2], [3, 4, 5], [6, 7, 8]]; a.copy_(a.t()) must give the transpose. Copying in
  // place read elements already overwritten: a[1][0] = 1, then a[0][1] = a[1][0] = 1, not 3.
  Tensor a = arange(0.0, 9.0).reshape({3, 3});
  a.copy_(a.t());
  CHECK(a.to_vector<float>() == std::vector<float>{0, 3, 6, 1, 4, 7, 2, 5, 8});
  // Shifted views of one buffer, both directions.
  Tensor v = arange(0.0, 6.0);
  v.narrow(0, 1, 5).copy_(v.narrow(0, 0, 5));
  CHECK(v.to_vector<float>() == std::vector<float>{0, 0, 1, 2, 3, 4});
  Tensor u = arange(0.0, 6.0);
  u.narrow(0, 0, 5).copy_(u.narrow(0, 1, 5));
  CHECK(u.to_vector<float>() == std::vector<float>{1, 2, 3, 4, 5, 5});
  // A broadcast source from inside the destination: every element gets the old value.
  Tensor w = arange(0.0, 4.0);
  w.copy_(w.narrow(0, 2, 1));
  CHECK(w.to_vector<float>() == std::vector<float>{2, 2, 2, 2});
  // The very same view: nothing to do, values unchanged.
  Tensor same = arange(0.0, 4.0);
  same.copy_(same);
  CHECK(same.to_vector<float>() == std::vector<float>{0, 1, 2, 3});
  // Disjoint views of one buffer are copied directly.
  Tensor d = arange(0.0, 4.0);
  d.narrow(0, 0, 2).copy_(d.narrow(0, 2, 2));
  CHECK(d.to_vector<float>() == std::vector<float>{2, 3, 2, 3});
}

TEST_CASE("in-place ops with an aliasing operand compute from the old values",
          "[inplace][overlap]") {
  // add_ computes the whole result before writing it: a += a.t() is a + a^T.
  Tensor a = arange(0.0, 4.0).reshape({2, 2});
  a.add_(a.t());
  CHECK(a.to_vector<float>() == std::vector<float>{0, 3, 3, 6});
  Tensor b = arange(0.0, 3.0);
  b.add_(b.narrow(0, 0, 1), -1.0);
  CHECK(b.to_vector<float>() == std::vector<float>{0, 1, 2});
}
