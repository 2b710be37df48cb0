// bench_matmul: ember's GEMM kernel (core/src/kernels/gemm.h, called directly) at the training
// pipelines' shapes and 1024^3, at 1 and 2 threads. Prints one JSON object (see harness.h); the
// PyTorch peer is bench/peers/peer_matmul.py, joined by name.
//
// Name grammar (the peer's): matmul/MxK@KxN, where an operand written "RxC^T" is the transpose
// view of a stored [C, R] matrix. The kernel is called with the layouts the layers use, noted per
// shape below: Linear keeps W as [out, in] and multiplies by W^T (trans_b), which the names
// (kept equal to the peer's defaults) do not spell as "^T".
#include <ember/core/parallel.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>

#include "../core/src/kernels/gemm.h"
#include "harness.h"

namespace {

struct Shape {
  const char* name;
  bool trans_a, trans_b;
  std::int64_t M, N, K;
};

// Every shape the MLP / softmax-regression training runs, as its layer calls it.
const Shape kShapes[] = {
    {"matmul/256x784@784x10", false, true, 256, 10, 784},    // Linear fwd, x W^T, W [10, 784]
    {"matmul/784x256^T@256x10", true, false, 784, 10, 256},  // x^T g, x stored [256, 784]
    {"matmul/10x256^T@256x784", true, false, 10, 784, 256},  // dW = g^T x, g stored [256, 10]
    {"matmul/256x784@784x256", false, true, 256, 256, 784},  // MLP hidden layer fwd, W [256, 784]
    {"matmul/64x784@784x256", false, true, 64, 256, 784},    // the same at batch 64
    {"matmul/256x256@256x10", false, true, 256, 10, 256},    // MLP output layer fwd, W [10, 256]
    {"matmul/256x10@10x784", false, false, 256, 784, 10},    // dx = g W, W [10, 784]
    {"matmul/1024x1024@1024x1024", false, false, 1024, 1024, 1024},
};

// A 64-byte aligned float buffer, as Tensor storage is (unaligned rows cost the dot path ~30%).
class Buffer {
 public:
  explicit Buffer(std::int64_t n)
      : size_(static_cast<std::size_t>(n)),
        data_(static_cast<float*>(std::aligned_alloc(64, (size_ * sizeof(float) + 63) / 64 * 64))) {
  }
  float* data() { return data_.get(); }
  float* begin() { return data_.get(); }
  float* end() { return data_.get() + size_; }

 private:
  struct Free {
    void operator()(float* p) const { std::free(p); }
  };
  std::size_t size_;
  std::unique_ptr<float[], Free> data_;
};

}  // namespace

int main(int argc, char** argv) {
  ember::bench::Report report("bench_matmul", argc, argv);
  std::mt19937 gen(0);
  std::normal_distribution<float> dist;
  for (const Shape& s : kShapes) {
    if (!report.wants(s.name)) continue;
    Buffer a(s.M * s.K), b(s.K * s.N), c(s.M * s.N);
    for (float& x : a) x = dist(gen);
    for (float& x : b) x = dist(gen);
    const std::int64_t lda = s.trans_a ? s.M : s.K, ldb = s.trans_b ? s.K : s.N;
    for (int threads : {1, 2}) {
      ember::set_num_threads(threads);
      ember::bench::Result* r = report.run(s.name, threads, [&] {
        ember::kernels::gemm(s.trans_a, s.trans_b, s.M, s.N, s.K, a.data(), lda, b.data(), ldb,
                             c.data(), s.N, false);
        ember::bench::do_not_optimize(c.data()[0]);
      });
      if (r != nullptr)
        r->gflops =
            ember::bench::per_second(2.0 * static_cast<double>(s.M * s.N * s.K), r->median_ms) /
            1e9;
    }
  }
  report.print();
}
