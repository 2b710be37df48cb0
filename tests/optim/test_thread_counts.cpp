// Results do not depend on the thread count: GEMM on every path, sums, the DataLoader gather, an
// SGD step and a short training run give bitwise the same numbers at 1, 2, 3 and 8 threads (8 is
// more threads than this machine's cores, so pieces are claimed in ever different orders).
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <vector>

#include <ember/autograd/ops.h>
#include <ember/core/generator.h>
#include <ember/core/parallel.h>
#include <ember/nn/functional/activation.h>
#include <ember/nn/functional/loss.h>
#include <ember/nn/linear.h>
#include <ember/optim/adam.h>
#include <ember/optim/sgd.h>

// Dropout and batch normalization (issue 19).
#include <ember/nn/batchnorm.h>
#include <ember/nn/functional/dropout.h>

#include "../../datasets/src/kernels/gather.h"
#include "../../optim/src/kernels/adam_kernel.h"
#include "../../optim/src/kernels/sgd_kernel.h"
#include "kernels/gemm.h"

using namespace ember;

namespace {

constexpr int kThreadCounts[] = {1, 2, 3, 8};

// fn() at each thread count; CHECKs that every result equals the 1-thread one bit for bit.
template <class Fn>
void check_same_at_every_thread_count(const Fn& fn) {
  const int saved = get_num_threads();
  std::vector<float> want;
  for (int threads : kThreadCounts) {
    set_num_threads(threads);
    for (int rep = 0; rep < 3; ++rep) {  // pieces are claimed in a different order each time
      const std::vector<float> got = fn();
      if (want.empty()) want = got;
      CAPTURE(threads, rep);
      REQUIRE(got.size() == want.size());
      CHECK(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)) == 0);
    }
  }
  set_num_threads(saved);
}

std::vector<float> random_floats(std::int64_t n, Generator& gen) {
  return randn({n}, gen).to_vector<float>();
}

}  // namespace

TEST_CASE("gemm on every path is bitwise identical at 1, 2, 3 and 8 threads",
          "[threads][determinism]") {
  const std::int64_t shapes[][5] = {
      // trans_a, trans_b, M, N, K: the path each takes
      {0, 1, 256, 10, 784},    // dot (Linear(784, 10) forward)
      {1, 0, 784, 10, 256},    // dot on the transposed problem
      {1, 0, 10, 784, 256},    // direct, K-blocks, ragged last panel (dW of Linear(784, 10))
      {1, 0, 12, 257, 9000},   // direct, 8 K-blocks
      {0, 1, 256, 256, 784},   // packed, row pieces (Linear(784, 256) forward)
      {1, 0, 256, 784, 256},   // packed, transposed A (its dW)
      {0, 0, 256, 784, 10},    // packed, K = 10
      {0, 0, 20, 2000, 100},   // packed, two row tiles: panels cut into groups too
      {1, 1, 255, 257, 300},   // packed, both transposed, ragged everywhere
      {0, 0, 64, 2048, 2048},  // packed, B in two chunks
  };
  for (const auto& s : shapes) {
    const bool ta = s[0] != 0, tb = s[1] != 0;
    const std::int64_t M = s[2], N = s[3], K = s[4];
    INFO("trans_a " << ta << " trans_b " << tb << " M " << M << " N " << N << " K " << K);
    Generator gen(11);
    const auto a = random_floats(M * K, gen), b = random_floats(K * N, gen);
    const auto c0 = random_floats(M * N, gen), bias = random_floats(N, gen);
    const std::int64_t lda = ta ? M : K, ldb = tb ? K : N;
    check_same_at_every_thread_count([&] {
      std::vector<float> c = c0, out;
      kernels::gemm(ta, tb, M, N, K, a.data(), lda, b.data(), ldb, c.data(), N, false, nullptr);
      out = c;
      c = c0;
      kernels::gemm(ta, tb, M, N, K, a.data(), lda, b.data(), ldb, c.data(), N, true, bias.data());
      out.insert(out.end(), c.begin(), c.end());
      return out;
    });
  }
}

TEST_CASE("sums and the DataLoader gather are bitwise identical at 1, 2, 3 and 8 threads",
          "[threads][determinism]") {
  Generator gen(5);
  const Tensor x = randn({512, 1000}, gen);
  check_same_at_every_thread_count([&] {
    std::vector<float> out = x.sum(1).to_vector<float>();
    out.push_back(x.sum().item<float>());
    for (float v : x.sum(0).to_vector<float>()) out.push_back(v);
    return out;
  });
  const std::int64_t rows = 70, d = 784, count = 1000;
  std::vector<std::uint8_t> images(static_cast<std::size_t>(rows * d));
  for (std::size_t i = 0; i < images.size(); ++i) images[i] = static_cast<std::uint8_t>(i * 29);
  std::vector<std::int64_t> index;
  for (std::int64_t i = 0; i < count; ++i) index.push_back((i * 31) % rows);
  check_same_at_every_thread_count([&] {
    std::vector<float> out(static_cast<std::size_t>(count * d));
    datasets::kernels::gather_scale(images.data(), d, index.data(), count, out.data());
    return out;
  });
}

TEST_CASE("an SGD step is bitwise identical at 1, 2, 3 and 8 threads", "[threads][determinism]") {
  Generator gen(3);
  const std::int64_t n = (std::int64_t{1} << 18) + 5;  // many pieces of 2^11 batches, and a tail
  const auto p0 = random_floats(n, gen), g = random_floats(n, gen);
  check_same_at_every_thread_count([&] {
    optim::kernels::SgdScalars s;
    s.lr = 0.05f;
    s.momentum = 0.9f;
    s.weight_decay = 1e-3f;
    s.first_step = true;
    std::vector<float> p = p0, buf(static_cast<std::size_t>(n));
    optim::kernels::sgd_update(p.data(), g.data(), buf.data(), n, s);
    s.first_step = false;
    optim::kernels::sgd_update(p.data(), g.data(), buf.data(), n, s);
    p.insert(p.end(), buf.begin(), buf.end());
    return p;
  });
}

TEST_CASE("a short MLP training run is bitwise identical at 1, 2, 3 and 8 threads",
          "[threads][determinism]") {
  // d2l's MLP on random data: Linear(784, 256) (the packed GEMM path, forward and dW), ReLU,
  // Linear(256, 10) (the dot and direct paths), fused cross-entropy, SGD with momentum.
  Generator data_gen(9);
  const Tensor x = rand({256, 784}, data_gen);
  const Tensor y = randint(0, 10, {256}, data_gen);
  check_same_at_every_thread_count([&] {
    Generator gen(0);
    nn::Linear fc1(784, 256, true, gen), fc2(256, 10, true, gen);
    std::vector<Tensor> params = fc1.parameters();
    for (const Tensor& p : fc2.parameters()) params.push_back(p);
    optim::SGD opt(params, {.lr = 0.1, .momentum = 0.9});
    std::vector<float> out;
    for (int step = 0; step < 4; ++step) {
      opt.zero_grad();
      Tensor loss = nn::functional::cross_entropy(fc2(nn::functional::relu(fc1(x))), y);
      loss.backward();
      opt.step();
      out.push_back(loss.item<float>());
    }
    for (const Tensor& p : params)
      for (float v : p.to_vector<float>()) out.push_back(v);
    return out;
  });
}

TEST_CASE("an Adam step is bitwise identical at 1, 2, 3 and 8 threads", "[threads][determinism]") {
  Generator gen(4);
  const std::int64_t n = (std::int64_t{1} << 18) + 5;  // many pieces of 2^10 batches, and a tail
  const auto p0 = random_floats(n, gen), g = random_floats(n, gen);
  check_same_at_every_thread_count([&] {
    optim::kernels::AdamScalars s;
    s.weight_decay = 1e-3f;
    s.amsgrad = true;
    s.bias_correction2_sqrt = 0.0316f;
    std::vector<float> p = p0, m(static_cast<std::size_t>(n)), v(m), vmax(m);
    optim::kernels::adam_update(p.data(), g.data(), m.data(), v.data(), vmax.data(), n, s);
    s.bias_correction2_sqrt = 0.0447f;
    optim::kernels::adam_update(p.data(), g.data(), m.data(), v.data(), vmax.data(), n, s);
    for (const auto* part : {&m, &v, &vmax}) p.insert(p.end(), part->begin(), part->end());
    return p;
  });
}

TEST_CASE("a short MLP run with AdamW is bitwise identical at 1, 2, 3 and 8 threads",
          "[threads][determinism]") {
  Generator data_gen(10);
  const Tensor x = rand({128, 784}, data_gen);
  const Tensor y = randint(0, 10, {128}, data_gen);
  check_same_at_every_thread_count([&] {
    Generator gen(0);
    nn::Linear fc1(784, 256, true, gen), fc2(256, 10, true, gen);
    std::vector<Tensor> params = fc1.parameters();
    for (const Tensor& p : fc2.parameters()) params.push_back(p);
    optim::AdamW opt(params, {.lr = 1e-3, .amsgrad = true});
    std::vector<float> out;
    for (int step = 0; step < 3; ++step) {
      opt.zero_grad();
      Tensor loss = nn::functional::cross_entropy(fc2(nn::functional::relu(fc1(x))), y);
      loss.backward();
      opt.step();
      out.push_back(loss.item<float>());
    }
    for (const Tensor& p : params)
      for (float v : p.to_vector<float>()) out.push_back(v);
    return out;
  });
}

// --- Dropout and batch normalization (issue 19) ---

TEST_CASE("dropout masks are bitwise identical at 1, 2, 3 and 8 threads",
          "[threads][determinism][dropout]") {
  // 2^18 + 5 elements: 65 mask blocks of 4096 (Note [Dropout masks at any thread count]), the
  // last one ragged; and the product with the upstream gradient.
  Generator data_gen(6);
  const Tensor x = randn({(std::int64_t{1} << 18) + 5}, data_gen);
  check_same_at_every_thread_count([&] {
    Generator gen(21);
    Tensor xg = x.detach().requires_grad_();
    std::vector<float> out = nn::functional::dropout(xg, 0.3, true, gen).to_vector<float>();
    const Tensor y = nn::functional::dropout(xg, 0.6, true, gen);  // the next mask
    y.backward(full(y.sizes(), 0.5));
    for (float v : y.to_vector<float>()) out.push_back(v);
    for (float v : xg.grad().to_vector<float>()) out.push_back(v);
    return out;
  });
}

TEST_CASE(
    "BatchNorm2d forward, backward and running statistics are bitwise identical at 1, 2, 3 "
    "and 8 threads",
    "[threads][determinism][batchnorm]") {
  // 16 channels (one statistics piece each) of [64, 32, 32]: 1024 rows of 1024, 32 output
  // pieces.
  Generator data_gen(12);
  const Tensor x = randn({64, 16, 32, 32}, data_gen) * 2.0 + 1.0;
  const Tensor g = randn({64, 16, 32, 32}, data_gen);
  check_same_at_every_thread_count([&] {
    nn::BatchNorm2d bn(16);
    Tensor xg = x.detach().requires_grad_();
    std::vector<float> out;
    for (int step = 0; step < 2; ++step) {
      bn.zero_grad();
      xg.mutable_grad() = Tensor();
      const Tensor y = bn(xg);
      y.backward(g);
      for (const Tensor& t :
           {y, xg.grad(), bn.weight.grad(), bn.bias.grad(), bn.running_mean, bn.running_var})
        for (float v : t.to_vector<float>()) out.push_back(v);
    }
    bn.eval();
    for (float v : bn(x).to_vector<float>()) out.push_back(v);
    return out;
  });
}
