// The tensor type: storage, shapes, views, factories, element access and printing.
#include <catch2/catch.hpp>

#include <sstream>

#include <ember/autograd/ops.h>
#include <ember/core/generator.h>

using namespace ember;
using Catch::Contains;

namespace {
std::string print(const Tensor& t) {
  std::ostringstream out;
  out << t;
  return out.str();
}
}  // namespace

TEST_CASE("factories make tensors of the requested shape, dtype and values", "[tensor]") {
  Tensor z = zeros({2, 3});
  CHECK(z.sizes() == Shape{2, 3});
  CHECK(z.strides() == Shape{3, 1});
  CHECK(z.dim() == 2);
  CHECK(z.numel() == 6);
  CHECK(z.dtype() == kFloat32);
  CHECK(z.to_vector<float>() == std::vector<float>(6, 0.0f));
  CHECK(ones({2}, kInt64).to_vector<std::int64_t>() == std::vector<std::int64_t>{1, 1});
  CHECK(full({3}, 7, kUInt8).to_vector<std::uint8_t>() == std::vector<std::uint8_t>{7, 7, 7});
  CHECK(arange(4).to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 1, 2, 3});
  CHECK(arange(0.0, 1.0, 0.25).to_vector<float>() == std::vector<float>{0, 0.25f, 0.5f, 0.75f});
  Tensor v = from_vector(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3});
  CHECK(v.at<float>({1, 2}) == 6.0f);
  CHECK(scalar_tensor(2.5).item<float>() == 2.5f);
  CHECK(scalar_tensor(2.5).dim() == 0);
}

TEST_CASE("bad factory and access arguments throw ember::Error naming the problem", "[tensor]") {
  CHECK_THROWS_WITH(from_vector(std::vector<float>{1, 2, 3}, {2, 2}),
                    "from_vector: 3 values cannot fill shape [2, 2] (4 elements)");
  CHECK_THROWS_WITH(zeros({2, 3}).data_ptr<std::int64_t>(),
                    "data_ptr: the tensor has dtype float32, not int64");
  CHECK_THROWS_WITH(zeros({2, 3}).item<float>(),
                    "item: expected a tensor with one element, got shape [2, 3]");
  CHECK_THROWS_WITH(zeros({2, 3}).at<float>({2, 0}),
                    "at: index 2 is out of range for dim 0 of size 2");
  CHECK_THROWS_WITH(zeros({-1}), Contains("negative size"));
  CHECK_THROWS_AS(Tensor().sizes(), Error);
  CHECK_THROWS_AS(zeros({1}).item<std::uint8_t>(), std::runtime_error);  // Error is a runtime_error
}

TEST_CASE("the same seed gives the same random numbers", "[tensor][generator]") {
  Generator a(42), b(42), c(43);
  Tensor x = randn({100}, a), y = randn({100}, b), z = randn({100}, c);
  CHECK(x.to_vector<float>() == y.to_vector<float>());
  CHECK(x.to_vector<float>() != z.to_vector<float>());
  // Pinned values, PyTorch's own (Note [PyTorch's draws]): after torch.manual_seed(0),
  // torch.rand(2), torch.randn(2) and torch.randint(0, 10, (1,)) give these numbers.
  Generator g(0);
  CHECK(g.uniform() == 0.49625658988952637f);
  CHECK(g.uniform() == 0.7682217955589294f);
  CHECK(g.normal() == -0.29050925374031067f);
  CHECK(g.normal() == -1.0703703165054321f);
  CHECK(g.randint(0, 10) == 7);
  // Moments of 10^5 normals: mean ~ 0 (+- 4 sigma = 0.013), std ~ 1.
  Generator n(1);
  Tensor big = randn({100000}, n);
  CHECK(std::abs(big.mean().item<float>()) < 0.013f);
  CHECK(((big * big).mean().item<float>()) == Approx(1.0).epsilon(0.02));
  Tensor r = randint(0, 10, {1000}, n);
  CHECK(r.dtype() == kInt64);
  auto values = r.to_vector<std::int64_t>();
  CHECK(*std::min_element(values.begin(), values.end()) == 0);
  CHECK(*std::max_element(values.begin(), values.end()) == 9);
  Tensor u = rand({1000}, n);
  CHECK(u.max().item<float>() < 1.0f);
}

TEST_CASE("views share storage with their base", "[tensor][views]") {
  Tensor x = arange(0.0, 6.0);  // [0 1 2 3 4 5]
  Tensor m = x.view({2, 3});
  CHECK(m.storage() == x.storage());
  Tensor t = m.t();  // [[0 3] [1 4] [2 5]]
  CHECK(t.sizes() == Shape{3, 2});
  CHECK(t.strides() == Shape{1, 3});
  CHECK_FALSE(t.is_contiguous());
  CHECK(t.to_vector<float>() == std::vector<float>{0, 3, 1, 4, 2, 5});
  CHECK(t.contiguous().is_contiguous());
  CHECK(t.contiguous().storage() != x.storage());     // a copy
  CHECK(t.reshape({6}).storage() != x.storage());     // reshape of a transpose must copy
  CHECK(m.reshape({3, 2}).storage() == x.storage());  // reshape of contiguous is a view
  CHECK(m.reshape({-1}).sizes() == Shape{6});
  CHECK(zeros({2, 3, 4, 5}).flatten(1).sizes() == Shape{2, 60});
  CHECK(zeros({2, 3, 4, 5}).flatten(1, 2).sizes() == Shape{2, 12, 5});
  CHECK(zeros({2, 3}).unsqueeze(0).sizes() == Shape{1, 2, 3});
  CHECK(zeros({2, 1, 3}).squeeze(1).sizes() == Shape{2, 3});
  CHECK(m.narrow(1, 1, 2).to_vector<float>() == std::vector<float>{1, 2, 4, 5});
  CHECK(m.select(0, 1).to_vector<float>() == std::vector<float>{3, 4, 5});
  // Writing through a view changes the base.
  m.select(0, 0).fill_(9);
  CHECK(x.to_vector<float>() == std::vector<float>{9, 9, 9, 3, 4, 5});
  CHECK_THROWS_WITH(t.view({6}), Contains("cannot be viewed as [6] (use reshape(), which copies)"));
  CHECK_THROWS_WITH(m.reshape({4, -1}),
                    "reshape: shape [4, -1] is invalid for input of shape [2, 3] (6 elements)");
  CHECK_THROWS_WITH(
      m.transpose(0, 2),
      "transpose: dim 2 is out of range for a tensor of 2 dims (expected -2 <= dim < 2)");
}

TEST_CASE("in-place ops bump the version counter", "[tensor]") {
  Tensor x = zeros({3});
  const auto v0 = x.version();
  x.add_(ones({3}));
  x.mul_(3.0);
  CHECK(x.version() == v0 + 2);
  CHECK(x.to_vector<float>() == std::vector<float>{3, 3, 3});
  x.copy_(from_vector(std::vector<std::int64_t>{1, 2, 3}, {3}));  // converts dtype
  CHECK(x.to_vector<float>() == std::vector<float>{1, 2, 3});
}

TEST_CASE("dtype conversion", "[tensor]") {
  Tensor f = from_vector(std::vector<float>{1.9f, -2.5f, 255.0f}, {3});
  CHECK(f.to(kInt64).to_vector<std::int64_t>() == std::vector<std::int64_t>{1, -2, 255});
  CHECK(f.to(kFloat32).storage() == f.storage());  // same dtype: the tensor itself
}

TEST_CASE("tensors print like PyTorch", "[tensor][print]") {
  // torch.tensor([[0.1, 0.2]])  ->  tensor([[0.1000, 0.2000]])
  CHECK(print(from_vector(std::vector<float>{0.1f, 0.2f}, {1, 2})) == "tensor([[0.1000, 0.2000]])");
  // torch.tensor([[1., 2.], [3., 4.]])
  CHECK(print(from_vector(std::vector<float>{1, 2, 3, 4}, {2, 2})) ==
        "tensor([[1., 2.],\n        [3., 4.]])");
  // torch.tensor([1.5, -10.25])
  CHECK(print(from_vector(std::vector<float>{1.5f, -10.25f}, {2})) ==
        "tensor([  1.5000, -10.2500])");
  // torch.tensor([1e-5, 1.0])
  CHECK(print(from_vector(std::vector<float>{1e-5f, 1.0f}, {2})) ==
        "tensor([1.0000e-05, 1.0000e+00])");
  CHECK(print(arange(3)) == "tensor([0, 1, 2])");
  CHECK(print(full({2}, 7, kUInt8)) == "tensor([7, 7], dtype=uint8)");
  CHECK(print(scalar_tensor(1.5)) == "tensor(1.5000)");
  CHECK(print(zeros({0})) == "tensor([])");
  CHECK(print(zeros({2, 0})) == "tensor([], size=(2, 0))");
  Tensor w = ones({2});
  w.requires_grad_();
  CHECK(print(w) == "tensor([1., 1.], requires_grad=True)");
  CHECK(print(w * w) == "tensor([1., 1.], grad_fn=<MulBackward>)");
  // More than 1000 elements are summarized with the first and last three of each dim.
  CHECK(print(arange(2000)) == "tensor([   0,    1,    2, ..., 1997, 1998, 1999])");
}
