// A program linked against ember::core alone (issue 18): every object of the core library is
// linked in (whole archive), so a call from core up into autograd, nn or another module would be
// an undefined symbol here; and it computes with tensors through the graph-free ember::core
// spellings. Exits nonzero, naming the check, when a value is wrong.
#include <cmath>
#include <cstdio>
#include <sstream>
#include <string>

#include <ember/core/generator.h>
#include <ember/core/grad_mode.h>
#include <ember/core/indexing.h>
#include <ember/core/ops.h>
#include <ember/core/tensor.h>

namespace {

int failures = 0;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "core_alone: FAILED: %s\n", what);
    ++failures;
  }
}

bool close(double a, double b) {
  return std::fabs(a - b) < 1e-5;
}

}  // namespace

int main() {
  using namespace ember;
  using indexing::Slice;

  // Creation.
  const Tensor a = tensor({{1.f, 2.f}, {3.f, 4.f}});
  const Tensor b = from_vector(std::vector<float>{5, 6, 7, 8}, {2, 2});
  check(a.sizes() == Shape{2, 2} && a.dtype() == kFloat32, "tensor() shape and dtype");
  check(core::sum(ones({2, 3})).item<float>() == 6.f, "sum(ones [2, 3]) = 6");
  check(arange(4).to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 1, 2, 3}, "arange");
  Generator gen(0);
  check(randn({4}, gen).numel() == 4, "randn from a generator");

  // Arithmetic with broadcasting and numbers: [[1, 2], [3, 4]] + [10, 20] = [[11, 22], [13, 24]].
  check(core::add(a, tensor({10.f, 20.f})).to_vector<float>() == std::vector<float>{11, 22, 13, 24},
        "add with broadcasting");
  check(core::mul(a, 2).to_vector<float>() == std::vector<float>{2, 4, 6, 8}, "mul by a number");
  check(core::div(arange(4), 2).to_vector<float>() == std::vector<float>{0, 0.5f, 1, 1.5f},
        "true division of integers");
  check(core::neg(a).at<float>({1, 1}) == -4.f, "neg");
  check(close(core::exp(zeros({1})).item<float>(), 1.0), "exp(0) = 1");

  // matmul: [[1, 2], [3, 4]] @ [[5, 6], [7, 8]] = [[1*5+2*7, 1*6+2*8], [3*5+4*7, 3*6+4*8]].
  check(core::matmul(a, b).to_vector<float>() == std::vector<float>{19, 22, 43, 50}, "matmul");
  check(core::matmul(tensor({1.f, 2.f}), tensor({3.f, 4.f})).item<float>() == 11.f,
        "matmul of vectors: 1*3 + 2*4");

  // Reductions: sums over dims, mean, max and its index, min, logsumexp.
  check(core::sum(a, 0).to_vector<float>() == std::vector<float>{4, 6}, "sum over dim 0");
  check(core::mean(a).item<float>() == 2.5f, "mean = 10 / 4");
  check(core::max(a).item<float>() == 4.f && core::min(a).item<float>() == 1.f, "max and min");
  check(argmax(a, 1).to_vector<std::int64_t>() == std::vector<std::int64_t>{1, 1}, "argmax");
  check(std::get<1>(core::min(b, 0)).to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 0},
        "min over dim 0: indices");
  check(close(core::logsumexp(zeros({2}), 0).item<float>(), std::log(2.0)), "logsumexp = log 2");

  // Indexing without requires_grad: views, a tensor index, a mask; gather, where, masked_fill.
  check(core::index(a, {1}).to_vector<float>() == std::vector<float>{3, 4}, "a[1]");
  check(core::index(a, {Slice(), 0}).to_vector<float>() == std::vector<float>{1, 3}, "a[:, 0]");
  check(core::index(a, {tensor({1, 1, 0})}).sizes() == Shape{3, 2}, "a[[1, 1, 0]] shape");
  check(core::index(a, {a > 2.5}).to_vector<float>() == std::vector<float>{3, 4}, "a[a > 2.5]");
  check(core::gather(a, 1, tensor({{1}, {0}})).to_vector<float>() == std::vector<float>{2, 3},
        "gather");
  check(core::where(a < 2.5, a, zeros({})).to_vector<float>() == std::vector<float>{1, 2, 0, 0},
        "where");
  check(core::masked_fill(a, a == 4, -1).at<float>({1, 1}) == -1.f, "masked_fill");
  Tensor c = core::clone(a);
  core::index_put_(c, {0}, zeros({}));
  check(c.to_vector<float>() == std::vector<float>{0, 0, 3, 4}, "index_put_");

  // Views, joins and in-place ops.
  check(core::transpose(a, 0, 1).at<float>({0, 1}) == 3.f, "transpose");
  check(core::reshape(a, {-1}).sizes() == Shape{4}, "reshape");
  check(core::cat({a, b}, 0).sizes() == Shape{4, 2}, "cat");
  Tensor d = zeros({2});
  d += tensor({1.f, 2.f});
  d.add_(ones({2}), 2.0);
  check(d.to_vector<float>() == std::vector<float>{3, 4}, "+= and add_");

  // The grad-mode flag is core's, and printing needs no autograd.
  {
    NoGradGuard guard;
    check(!autograd::grad_enabled(), "NoGradGuard turns grad mode off");
  }
  std::ostringstream printed;
  printed << a;
  check(printed.str() == "tensor([[1., 2.],\n        [3., 4.]])", "printing");

  if (failures == 0) std::printf("core_alone: all checks passed\n");
  return failures == 0 ? 0 : 1;
}
