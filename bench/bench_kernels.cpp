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
// speedups (bench/README.md, "Reading the table").
// conv2d/MODE/INPUT,WEIGHT,pP and avg_pool2d|max_pool2d/MODE/INPUT,kK time LeNet's layers at
// batch 256 (bias included; see the rows at the end).
// Prints one JSON object (bench/harness.h); run alone with --filter/--quick.
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
  // LeNet's convolutions and pools at batch 256 (issue 20), named OP/MODE/INPUT,WEIGHT-or-KERNEL
  // as bench/peers/peer_kernels.py reads them. conv1's input is the data (fwd+bwd: grads of
  // weight and bias only); conv2's input comes from conv1 (grads of input, weight and bias).
  struct ConvRow {
    std::string tag;
    Shape x, w;
    std::int64_t padding;
    bool input_grad;
  };
  const ConvRow convs[] = {{"256x1x28x28,6x1x5x5,p2", {256, 1, 28, 28}, {6, 1, 5, 5}, 2, false},
                           {"256x6x14x14,16x6x5x5,p0", {256, 6, 14, 14}, {16, 6, 5, 5}, 0, true}};
  for (const ConvRow& row : convs) {
    const Tensor x = randn(row.x, gen), w = randn(row.w, gen), b = randn({row.w[0]}, gen);
    Tensor xg = x.clone(), wg = w.clone(), bg = b.clone();
    if (row.input_grad) xg.requires_grad_();
    wg.requires_grad_();
    bg.requires_grad_();
    const Tensor grad_out =
        randn(F::conv2d(x, w, F::Conv2dFuncOptions().padding(row.padding)).sizes(), gen);
    for (int threads : {1, 2}) {
      set_num_threads(threads);
      report.run("conv2d/fwd/" + row.tag, threads, [&] {
        NoGradGuard no_grad;
        bench::do_not_optimize(
            F::conv2d(x, w, F::Conv2dFuncOptions().bias(b).padding(row.padding)).impl());
      });
      report.run("conv2d/fwd+bwd/" + row.tag, threads, [&] {
        xg.mutable_grad() = Tensor();
        wg.mutable_grad() = Tensor();
        bg.mutable_grad() = Tensor();
        F::conv2d(xg, wg, F::Conv2dFuncOptions().bias(bg).padding(row.padding)).backward(grad_out);
      });
    }
  }
  // LeNet's pools: 2 x 2, stride 2, after each convolution (d2l uses AvgPool2d).
  for (const Shape& shape : {Shape{256, 6, 28, 28}, Shape{256, 16, 10, 10}}) {
    const std::string tag = std::to_string(shape[0]) + "x" + std::to_string(shape[1]) + "x" +
                            std::to_string(shape[2]) + "x" + std::to_string(shape[3]) + ",k2";
    const Tensor x = randn(shape, gen);
    Tensor xg = x.clone();
    xg.requires_grad_();
    const Tensor grad_out = randn({shape[0], shape[1], shape[2] / 2, shape[3] / 2}, gen);
    for (int threads : {1, 2}) {
      set_num_threads(threads);
      report.run("avg_pool2d/fwd/" + tag, threads, [&] {
        NoGradGuard no_grad;
        bench::do_not_optimize(F::avg_pool2d(x, F::AvgPool2dFuncOptions(2)).impl());
      });
      report.run("avg_pool2d/fwd+bwd/" + tag, threads, [&] {
        xg.mutable_grad() = Tensor();
        F::avg_pool2d(xg, F::AvgPool2dFuncOptions(2)).backward(grad_out);
      });
      report.run("max_pool2d/fwd/" + tag, threads, [&] {
        NoGradGuard no_grad;
        bench::do_not_optimize(F::max_pool2d(x, F::MaxPool2dFuncOptions(2)).impl());
      });
      report.run("max_pool2d/fwd+bwd/" + tag, threads, [&] {
        xg.mutable_grad() = Tensor();
        F::max_pool2d(xg, F::MaxPool2dFuncOptions(2)).backward(grad_out);
      });
    }
  }
  report.print();
  return 0;
}
