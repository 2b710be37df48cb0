// bench_kernels: ember's activations, softmax family and fused cross-entropy, forward and
// forward+backward, at 1 and 2 threads, plus copy/new/SHAPE (x.clone()) and copy/out/SHAPE
// (dst.copy_(x) into a preallocated tensor), the memory-bandwidth yardsticks. Names follow
// bench/peers/peer_kernels.py (the PyTorch side): OP/MODE/SHAPE with MODE "fwd" (no graph) or
// "fwd+bwd" (graph recorded, backward from a fixed upstream gradient, or from the scalar loss for
// cross_entropy; x.grad reset each rep), SHAPE "NxK" (softmax family over the last dim;
// cross_entropy mean over N int64 labels) or a flat element count. Like with like: every OP row
// allocates its output on both sides (ember has no out= variant of these ops, so there is no
// preallocated row for them); copy has both forms on both sides. An allocating row at 2^24 elements
// (64 MB) includes each library's allocator: ember reuses freed blocks from its cache, PyTorch's
// CPU allocator returns them to the OS and pays fresh page faults, so those rows are not kernel
// speedups (bench/README.md, "Reading the table"). Prints one JSON object (bench/harness.h); run
// alone with --filter/--quick.
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <ember/autograd/grad_mode.h>
#include <ember/core/generator.h>
#include <ember/core/parallel.h>
#include <ember/nn/functional.h>

#include "harness.h"

using namespace ember;
namespace F = ember::nn::functional;

namespace {

Shape parse_shape(const std::string& text) {
  Shape shape;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t x = text.find('x', start);
    shape.push_back(std::stoll(text.substr(start, x - start)));
    if (x == std::string::npos) break;
    start = x + 1;
  }
  return shape;
}

}  // namespace

int main(int argc, char** argv) {
  bench::Report report("bench_kernels", argc, argv);
  using Unary = std::function<Tensor(const Tensor&)>;
  const std::vector<std::pair<std::string, Unary>> ops = {
      {"sigmoid",
       [](const Tensor& x) {
         return F::sigmoid(x);
       }},
      {"tanh",
       [](const Tensor& x) {
         return F::tanh(x);
       }},
      {"relu",
       [](const Tensor& x) {
         return F::relu(x);
       }},
      {"silu",
       [](const Tensor& x) {
         return F::silu(x);
       }},
      {"logsigmoid",
       [](const Tensor& x) {
         return F::logsigmoid(x);
       }},
      {"softmax",
       [](const Tensor& x) {
         return F::softmax(x, -1);
       }},
      {"log_softmax",
       [](const Tensor& x) {
         return F::log_softmax(x, -1);
       }},
      {"softmin",
       [](const Tensor& x) {
         return F::softmin(x, -1);
       }},
  };
  const std::vector<std::string> shapes = {"256x10", "4096x1000", "64x32000", "1048576",
                                           "16777216"};
  Generator gen(0);
  for (const std::string& tag : shapes) {
    const Shape shape = parse_shape(tag);
    const Tensor x = randn(shape, gen);
    Tensor xg = x.clone();
    xg.requires_grad_();
    const Tensor grad_out = randn(shape, gen);
    for (const auto& [name, op] : ops) {
      for (int threads : {1, 2}) {
        set_num_threads(threads);
        report.run(name + "/fwd/" + tag, threads, [&, f = op] {
          NoGradGuard no_grad;
          bench::do_not_optimize(f(x).impl());
        });
        report.run(name + "/fwd+bwd/" + tag, threads, [&, f = op] {
          xg.mutable_grad() = Tensor();
          f(xg).backward(grad_out);
        });
      }
    }
    if (shape.size() == 2) {
      const Tensor labels = randint(0, shape[1], {shape[0]}, gen);
      for (int threads : {1, 2}) {
        set_num_threads(threads);
        report.run("cross_entropy/fwd/" + tag, threads, [&] {
          NoGradGuard no_grad;
          bench::do_not_optimize(F::cross_entropy(x, labels).impl());
        });
        report.run("cross_entropy/fwd+bwd/" + tag, threads, [&] {
          xg.mutable_grad() = Tensor();
          F::cross_entropy(xg, labels).backward();
        });
      }
    }
    Tensor dst = empty(shape);
    const double bytes = 2.0 * 4.0 * static_cast<double>(x.numel());  // read + written
    for (int threads : {1, 2}) {
      set_num_threads(threads);
      if (bench::Result* r = report.run("copy/new/" + tag, threads,
                                        [&] { bench::do_not_optimize(x.clone().impl()); }))
        r->gbps = bench::per_second(bytes, r->median_ms) / 1e9;
      if (bench::Result* r = report.run("copy/out/" + tag, threads,
                                        [&] { bench::do_not_optimize(dst.copy_(x).impl()); }))
        r->gbps = bench::per_second(bytes, r->median_ms) / 1e9;
    }
  }
  report.print();
  return 0;
}
