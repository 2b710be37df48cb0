// Post-accumulate-grad hooks: called once per backward after a leaf's gradient is complete (a
// leaf used twice still gets one call, with the summed gradient), in registration order, and
// removable.
#include <catch2/catch.hpp>

#include <ember/autograd/hooks.h>
#include <ember/autograd/ops.h>
#include <ember/core/tensor.h>

using ember::Tensor;
namespace autograd = ember::autograd;

TEST_CASE("post-accumulate-grad hooks see the complete gradient once per backward", "[hooks]") {
  Tensor a = ember::ones({2}).requires_grad_();
  std::vector<std::string> calls;
  auto first = autograd::register_post_accumulate_grad_hook(a, [&](const Tensor& leaf) {
    // b = a + a, c = b + b: dc/da = 4, summed before the hook runs.
    CHECK(leaf.grad().to_vector<float>() == std::vector<float>{4, 4});
    calls.push_back("first");
  });
  autograd::register_post_accumulate_grad_hook(a,
                                               [&](const Tensor&) { calls.push_back("second"); });
  Tensor b = a + a;
  (b + b).sum().backward();
  CHECK(calls == std::vector<std::string>{"first", "second"});

  autograd::remove_post_accumulate_grad_hook(a, first);
  a.mutable_grad() = Tensor();
  calls.clear();
  (a + a + a + a).sum().backward();
  CHECK(calls == std::vector<std::string>{"second"});
}

TEST_CASE("post-accumulate-grad hooks need a leaf that requires grad", "[hooks]") {
  Tensor x = ember::ones({2});
  CHECK_THROWS_WITH(autograd::register_post_accumulate_grad_hook(x, [](const Tensor&) {}),
                    "register_post_accumulate_grad_hook: the tensor must be a leaf that requires "
                    "grad");
}
