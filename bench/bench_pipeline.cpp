// bench_pipeline: whole training epochs on Fashion-MNIST through ember's public API only, written
// exactly as a user would write them (d2l's settings). Prints one JSON object (see harness.h); the
// PyTorch peer is bench/peers/peer_pipeline.py, with the same names and the same epoch:
//   train: 60000 images, shuffled, batch B: loss = CrossEntropyLoss(net(x), y); zero_grad;
//          backward; SGD step (lr 0.1, no momentum);
//   test:  accuracy over the 10000 test images at batch B without a graph (argmax == label).
// Results:
//   softmax_regression/peak_rss   a full 10-epoch softmax-regression run, first in the process, at
//                                 1 thread: peak_rss_mb is getrusage's ru_maxrss, median_ms the
//                                 run's time (one rep)
//   softmax_regression/epoch      Sequential(Flatten, Linear(784, 10)), B = 256
//   mlp/epoch/b256, mlp/epoch/b64 Sequential(Flatten, Linear(784, 256), ReLU, Linear(256, 10))
// each epoch result at 1 and 2 threads, with the test accuracy after every epoch run (warm-up
// included: "test_accuracies"), which bench/report.py compares with PyTorch's. Options: see
// harness.h (--filter, --quick, --min-time-ms, --threads).
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include <ember/autograd/grad_mode.h>
#include <ember/autograd/ops.h>
#include <ember/core/parallel.h>
#include <ember/core/tensor.h>
#include <ember/datasets/datasets.h>
#include <ember/nn/nn.h>
#include <ember/optim/optim.h>

#include "harness.h"

namespace {

using namespace ember;

constexpr int kRssEpochs = 10;

// d2l's init: weights ~ N(0, 0.01^2); biases keep Linear's default.
void init_weights(nn::Module& m) {
  if (auto* linear = dynamic_cast<nn::Linear*>(&m)) nn::init::normal_(linear->weight, 0.0, 0.01);
}

nn::Sequential make_net(bool mlp) {
  nn::Sequential net =
      mlp ? nn::Sequential(nn::Flatten(), nn::Linear(784, 256), nn::ReLU(), nn::Linear(256, 10))
          : nn::Sequential(nn::Flatten(), nn::Linear(784, 10));
  net.apply(init_weights);
  return net;
}

// One model with its optimizer and loaders; epoch() is what the benchmark times.
class Trainer {
 public:
  Trainer(bool mlp, const datasets::FashionMNIST& train, const datasets::FashionMNIST& test,
          std::int64_t batch_size)
      : net_(make_net(mlp)),
        optimizer_(net_.parameters(), optim::SGDOptions(0.1)),
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

}  // namespace

int main(int argc, char** argv) {
  bench::Report report("bench_pipeline", argc, argv);
  const datasets::FashionMNIST train(datasets::Split::Train);
  const datasets::FashionMNIST test(datasets::Split::Test);

  // First, so the process's peak RSS is that of a softmax-regression run (data loaded).
  if (report.wants("softmax_regression/peak_rss")) {
    set_num_threads(1);
    Trainer trainer(false, train, test, 256);
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
    bool mlp;
    std::int64_t batch_size;
  };
  const Workload workloads[] = {
      {"softmax_regression/epoch", false, 256},
      {"mlp/epoch/b256", true, 256},
      {"mlp/epoch/b64", true, 64},
  };
  for (const Workload& w : workloads) {
    if (!report.wants(w.name)) continue;
    for (int threads : report.threads()) {
      set_num_threads(threads);
      Trainer trainer(w.mlp, train, test, w.batch_size);
      bench::Result r = bench::measure(
          w.name, threads, [&] { trainer.epoch(); }, budget);
      r.test_accuracies = trainer.accuracies();
      report.add(r);
      std::fprintf(stderr, "    (test accuracy after the last epoch: %.4f)\n", trainer.accuracy());
    }
  }
  report.print();
}
