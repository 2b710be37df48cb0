// bench_pipeline: whole training epochs on Fashion-MNIST through ember's public API only, written
// exactly as a user would write them (d2l's settings). Prints one JSON object (see harness.h); the
// PyTorch peer is bench/peers/peer_pipeline.py, with the same names and the same epoch:
//   train: 60000 images, shuffled, batch B: loss = CrossEntropyLoss(net(x), y); zero_grad;
//          backward; SGD step (lr 0.1, no momentum; LeNet 0.9, LeNet-BN 1.0: d2l's);
//   test:  accuracy over the 10000 test images at batch B without a graph (argmax == label).
// Results:
//   softmax_regression/peak_rss   a full 10-epoch softmax-regression run, first in the process, at
//                                 1 thread: peak_rss_mb is getrusage's ru_maxrss, median_ms the
//                                 run's time (one rep)
//   softmax_regression/epoch      Sequential(Flatten, Linear(784, 10)), B = 256
//   mlp/epoch/b256, mlp/epoch/b64 Sequential(Flatten, Linear(784, 256), ReLU, Linear(256, 10))
//   lenet/epoch                   d2l's LeNet (7.6): Conv2d(1, 6, 5, padding 2), Sigmoid,
//                                 AvgPool2d(2), Conv2d(6, 16, 5), Sigmoid, AvgPool2d(2), Flatten,
//                                 Linear(400, 120), Sigmoid, Linear(120, 84), Sigmoid,
//                                 Linear(84, 10); xavier_uniform_ weights; B = 256, lr 0.9
//   lenet_bn/epoch                d2l's BNLeNet (8.5): Conv2d(1, 6, 5), BatchNorm2d, Sigmoid,
//                                 AvgPool2d(2), Conv2d(6, 16, 5), BatchNorm2d, Sigmoid,
//                                 AvgPool2d(2), Flatten, Linear(256, 120), BatchNorm1d, Sigmoid,
//                                 Linear(120, 84), BatchNorm1d, Sigmoid, Linear(84, 10); B = 256,
//                                 lr 1.0
//   lenet/floor, lenet_bn/floor   the compute floor of that epoch (no PyTorch side): the
//                                 multiply-adds of its convolutions and Linear layers counted
//                                 from the shapes (Note [LeNet's FLOPs]) at the FMA peak this
//                                 process measures at that thread count (fma_peak_gflops);
//                                 median_ms = FLOPs / peak, gflops = the peak
// each epoch result at 1 and 2 threads, with the test accuracy after every epoch run (warm-up
// included: "test_accuracies"), which bench/report.py compares with PyTorch's, and the initial
// weights ("init_weights": a safetensors file in pipeline_init/ beside this program) that the
// peer loads, so that both sides do the same work: the same start, and (the peer replays ember's
// shuffle) the same batches. Options: see harness.h (--filter, --quick, --min-time-ms,
// --threads).
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <ember/autograd/grad_mode.h>
#include <ember/autograd/ops.h>
#include <ember/core/parallel.h>
#include <ember/core/safetensors.h>
#include <ember/core/tensor.h>
#include <ember/datasets/datasets.h>
#include <ember/nn/nn.h>
#include <ember/optim/optim.h>

#include "harness.h"

namespace {

using namespace ember;

constexpr int kRssEpochs = 10;

enum class Kind { Softmax, Mlp, LeNet, LeNetBN };

// d2l's learning rate for each network (softmax regression and MLP 0.1, LeNet 0.9, BNLeNet 1.0).
double learning_rate(Kind kind) {
  switch (kind) {
    case Kind::LeNet:
      return 0.9;
    case Kind::LeNetBN:
      return 1.0;
    default:
      return 0.1;
  }
}

// d2l's model, initialized from seed 0 as the PyTorch peer's Trainer: every row starts from the
// same weights, so a model's rows at 1 and 2 threads train bitwise alike (the same accuracies).
nn::Sequential make_net(Kind kind) {
  manual_seed(0);
  nn::Sequential net;
  switch (kind) {
    case Kind::Softmax:
      net = nn::Sequential(nn::Flatten(), nn::Linear(784, 10));
      break;
    case Kind::Mlp:
      net = nn::Sequential(nn::Flatten(), nn::Linear(784, 256), nn::ReLU(), nn::Linear(256, 10));
      break;
    case Kind::LeNet:
      net = nn::Sequential(nn::Conv2d(nn::Conv2dOptions(1, 6, 5).padding(2)), nn::Sigmoid(),
                           nn::AvgPool2d(2), nn::Conv2d(6, 16, 5), nn::Sigmoid(), nn::AvgPool2d(2),
                           nn::Flatten(), nn::Linear(400, 120), nn::Sigmoid(), nn::Linear(120, 84),
                           nn::Sigmoid(), nn::Linear(84, 10));
      break;
    case Kind::LeNetBN:
      net = nn::Sequential(nn::Conv2d(1, 6, 5), nn::BatchNorm2d(6), nn::Sigmoid(), nn::AvgPool2d(2),
                           nn::Conv2d(6, 16, 5), nn::BatchNorm2d(16), nn::Sigmoid(),
                           nn::AvgPool2d(2), nn::Flatten(), nn::Linear(256, 120),
                           nn::BatchNorm1d(120), nn::Sigmoid(), nn::Linear(120, 84),
                           nn::BatchNorm1d(84), nn::Sigmoid(), nn::Linear(84, 10));
      break;
  }
  const bool cnn = kind == Kind::LeNet || kind == Kind::LeNetBN;
  net.apply([cnn](nn::Module& m) {
    // d2l: normal(0, 0.01) Linear weights for the MLPs; train_ch6's xavier_uniform_ on every
    // Linear and Conv2d weight for the CNNs. Biases keep their defaults.
    if (auto* linear = dynamic_cast<nn::Linear*>(&m)) {
      if (cnn)
        nn::init::xavier_uniform_(linear->weight);
      else
        nn::init::normal_(linear->weight, 0.0, 0.01);
    } else if (auto* conv = dynamic_cast<nn::Conv2d*>(&m)) {
      nn::init::xavier_uniform_(conv->weight);
    }
  });
  return net;
}

// One model with its optimizer and loaders; epoch() is what the benchmark times.
class Trainer {
 public:
  Trainer(Kind kind, const datasets::FashionMNIST& train, const datasets::FashionMNIST& test,
          std::int64_t batch_size)
      : net_(make_net(kind)),
        optimizer_(net_.parameters(), optim::SGDOptions(learning_rate(kind))),
        train_loader_(train, {.batch_size = batch_size, .shuffle = true, .seed = 0}),
        test_loader_(test, {.batch_size = batch_size, .shuffle = false}) {}

  void epoch() {
    net_.train();
    for (const auto& batch : train_loader_) {
      Tensor loss = loss_fn_(net_(batch.images), batch.labels);
      optimizer_.zero_grad();
      loss.backward();
      optimizer_.step();
    }
    net_.eval();
    NoGradGuard no_grad;
    std::int64_t correct = 0;
    for (const auto& batch : test_loader_)
      correct += (net_(batch.images).argmax(1) == batch.labels).sum().item<std::int64_t>();
    accuracies_.push_back(static_cast<double>(correct) /
                          static_cast<double>(test_loader_.dataset_size()));
  }

  // The test accuracy after each epoch run so far.
  const std::vector<double>& accuracies() const { return accuracies_; }
  double accuracy() const { return accuracies_.empty() ? 0 : accuracies_.back(); }

 private:
  nn::Sequential net_;
  nn::CrossEntropyLoss loss_fn_;
  optim::SGD optimizer_;
  datasets::DataLoader train_loader_;
  datasets::DataLoader test_loader_;
  std::vector<double> accuracies_;
};

// --- The compute floor ---

// Note [LeNet's FLOPs]
// The floor counts the multiply-adds (2 FLOPs each) of the convolutions and Linear layers, the
// work no implementation can skip; sigmoids, pools, BatchNorm and the loss are left out (under 1 %
// for LeNet). Per image, a layer of M multiply-adds forward costs M more for its weight gradient
// and M for its input gradient, except the first convolution, whose input (the data) needs no
// gradient; the test pass is the forward alone. For d2l's LeNet: conv1 6*28*28*25 = 117,600,
// conv2 16*10*10*150 = 240,000, the Linears 400*120 + 120*84 + 84*10 = 58,920, so 416,520
// forward and 1,131,960 training multiply-adds an image: 135.8 GFLOP for 60,000 training
// images and 8.3 GFLOP for 10,000 test images. (The "about 150 GFLOP" also counts conv1's
// input gradient, 14.1 GFLOP that neither ember nor PyTorch computes.)
struct Layer {
  double macs;      // multiply-adds per image, forward
  bool input_grad;  // whether training computes its input's gradient
};

double epoch_flops(const std::vector<Layer>& layers, double train_images, double test_images) {
  double forward = 0, training = 0;
  for (const Layer& l : layers) {
    forward += l.macs;
    training += l.macs * (l.input_grad ? 3 : 2);
  }
  return 2 * (training * train_images + forward * test_images);
}

// conv: O output channels of OH x OW, each a C x KH x KW dot product.
double conv_macs(double o, double oh, double ow, double c, double k) {
  return o * oh * ow * c * k * k;
}

const std::vector<Layer> kLeNetLayers = {{conv_macs(6, 28, 28, 1, 5), false},
                                         {conv_macs(16, 10, 10, 6, 5), true},
                                         {400.0 * 120, true},
                                         {120.0 * 84, true},
                                         {84.0 * 10, true}};
const std::vector<Layer> kLeNetBNLayers = {{conv_macs(6, 24, 24, 1, 5), false},
                                           {conv_macs(16, 8, 8, 6, 5), true},
                                           {256.0 * 120, true},
                                           {120.0 * 84, true},
                                           {84.0 * 10, true}};

// Independent FMA chains, enough of them to cover the FMA latency on two ports; returns a sum
// the caller keeps, so the loop is not removed. FLOPs: iters * chains * lanes * 2.
constexpr int kChains = 12;

__attribute__((target("avx512f"))) float fma_chains_avx512(std::int64_t iters) {
  __m512 acc[kChains];
  for (int k = 0; k < kChains; ++k) acc[k] = _mm512_set1_ps(static_cast<float>(k) * 1e-3f);
  const __m512 a = _mm512_set1_ps(0.9999999f), b = _mm512_set1_ps(1e-7f);
  for (std::int64_t i = 0; i < iters; ++i)
    for (int k = 0; k < kChains; ++k) acc[k] = _mm512_fmadd_ps(acc[k], a, b);
  // Stored and added by hand: GCC 12's _mm512_reduce_add_ps trips -Wuninitialized.
  alignas(64) float lanes[16];
  float sum = 0;
  for (int k = 0; k < kChains; ++k) {
    _mm512_store_ps(lanes, acc[k]);
    for (float v : lanes) sum += v;
  }
  return sum;
}

__attribute__((target("avx2,fma"))) float fma_chains_avx2(std::int64_t iters) {
  __m256 acc[kChains];
  for (int k = 0; k < kChains; ++k) acc[k] = _mm256_set1_ps(static_cast<float>(k) * 1e-3f);
  const __m256 a = _mm256_set1_ps(0.9999999f), b = _mm256_set1_ps(1e-7f);
  for (std::int64_t i = 0; i < iters; ++i)
    for (int k = 0; k < kChains; ++k) acc[k] = _mm256_fmadd_ps(acc[k], a, b);
  alignas(32) float lanes[8];
  float sum = 0;
  for (int k = 0; k < kChains; ++k) {
    _mm256_store_ps(lanes, acc[k]);
    for (float v : lanes) sum += v;
  }
  return sum;
}

// The FMA peak of `threads` threads running at once, in GFLOP/s: the best of three runs of
// about 100 ms each, with the widest FMA this CPU has (AVX-512, else AVX2; none: 0).
double fma_peak_gflops(int threads) {
  const bool avx512 = __builtin_cpu_supports("avx512f");
  if (!avx512 && !(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))) return 0;
  const int lanes = avx512 ? 16 : 8;
  const std::int64_t iters = avx512 ? 4'000'000 : 8'000'000;
  double best = 0;
  for (int run = 0; run < 3; ++run) {
    std::vector<float> sums(static_cast<std::size_t>(threads));
    std::vector<std::thread> pool;
    const double t0 = bench::now_ms();
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        sums[static_cast<std::size_t>(t)] =
            avx512 ? fma_chains_avx512(iters) : fma_chains_avx2(iters);
      });
    for (std::thread& th : pool) th.join();
    const double ms = bench::now_ms() - t0;
    bench::do_not_optimize(sums);
    const double flops =
        static_cast<double>(threads) * static_cast<double>(iters) * kChains * lanes * 2.0;
    best = std::max(best, flops / (ms * 1e6));
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  bench::Report report("bench_pipeline", argc, argv);
  const datasets::FashionMNIST train(datasets::Split::Train);
  const datasets::FashionMNIST test(datasets::Split::Test);

  // First, so the process's peak RSS is that of a softmax-regression run (data loaded).
  if (report.wants("softmax_regression/peak_rss")) {
    set_num_threads(1);
    Trainer trainer(Kind::Softmax, train, test, 256);
    const double t0 = bench::now_ms();
    for (int e = 0; e < kRssEpochs; ++e) trainer.epoch();
    const double ms = bench::now_ms() - t0;
    bench::Result r = bench::summarize("softmax_regression/peak_rss", 1, {ms});
    r.peak_rss_mb = bench::peak_rss_mb();
    r.test_accuracies = trainer.accuracies();
    report.add(r);
    std::fprintf(stderr, "  softmax regression: %d epochs, test accuracy %.4f, peak RSS %.1f MB\n",
                 kRssEpochs, trainer.accuracy(), r.peak_rss_mb);
  }

  // Epochs are long: one warm-up epoch, at least min_reps timed ones, a larger time cap.
  bench::Budget budget = report.budget();
  budget.warmup = 1;
  budget.max_time_ms *= 4;

  struct Workload {
    const char* name;
    Kind kind;
    std::int64_t batch_size;
  };
  const Workload workloads[] = {
      {"softmax_regression/epoch", Kind::Softmax, 256},
      {"mlp/epoch/b256", Kind::Mlp, 256},
      {"mlp/epoch/b64", Kind::Mlp, 64},
      {"lenet/epoch", Kind::LeNet, 256},
      {"lenet_bn/epoch", Kind::LeNetBN, 256},
  };
  // Every row of a workload starts from make_net's weights: written once for the peer.
  const std::filesystem::path init_dir =
      std::filesystem::read_symlink("/proc/self/exe").parent_path() / "pipeline_init";
  std::filesystem::create_directories(init_dir);
  for (const Workload& w : workloads) {
    if (!report.wants(w.name)) continue;
    std::string file = w.name;
    std::replace(file.begin(), file.end(), '/', '_');
    const std::string init_weights = (init_dir / (file + ".safetensors")).string();
    save_safetensors(make_net(w.kind).state_dict(), init_weights);
    for (int threads : report.threads()) {
      set_num_threads(threads);
      Trainer trainer(w.kind, train, test, w.batch_size);
      bench::Result r = bench::measure(
          w.name, threads, [&] { trainer.epoch(); }, budget);
      r.test_accuracies = trainer.accuracies();
      r.init_weights = init_weights;
      report.add(r);
      std::fprintf(stderr, "    (test accuracy after the last epoch: %.4f)\n", trainer.accuracy());
    }
  }
  // The compute floors (Note [LeNet's FLOPs]) at the FMA peak measured now, per thread count.
  struct Floor {
    const char* name;
    const std::vector<Layer>* layers;
  };
  for (const Floor& f :
       {Floor{"lenet/floor", &kLeNetLayers}, Floor{"lenet_bn/floor", &kLeNetBNLayers}}) {
    if (!report.wants(f.name)) continue;
    const double flops =
        epoch_flops(*f.layers, static_cast<double>(train.size()), static_cast<double>(test.size()));
    for (int threads : report.threads()) {
      const double peak = fma_peak_gflops(threads);
      if (peak <= 0) continue;
      const double ms = flops / (peak * 1e6);
      bench::Result r = bench::summarize(f.name, threads, {ms});
      r.gflops = peak;
      report.add(r);
      std::fprintf(stderr, "  %s: %.1f GFLOP an epoch at %.0f GFLOP/s (%d threads): %.3f s\n",
                   f.name, flops / 1e9, peak, threads, ms / 1e3);
    }
  }
  report.print();
}
