// bench_distributed: data-parallel training over MPI, run as `mpirun -np N bench_distributed`
// with OMP_NUM_THREADS=1 (one thread per rank). Rank 0 prints one JSON object (harness.h's
// schema plus "world_size" and per-result extras); the PyTorch peer is
// bench/peers/peer_distributed.py (DistributedDataParallel, gloo). Results:
//   allreduce/mlp_grads      mean all-reduce of the MLP's 203530 gradient floats (814 KB) with
//                            ember::distributed::all_reduce (the ordered all-reduce of Note
//                            [Deterministic all-reduce], after its dtype and shape check, as
//                            torch's dist.all_reduce); "mpi_ms" is MPI_Allreduce on the same
//                            buffer, for comparison
//   allreduce/softmax_grads  the same for softmax regression's 7850 floats (31 KB)
//   mlp/epoch/b256/local     one rank's epoch share without any communication: its
//   DistributedSampler
//                            shard, batch 256 / N (the compute the ranks do in parallel)
//   mlp/epoch/b256/ddp_overlap     DDP, 4 buckets (cap 10 KiB: one parameter each, so the last
//                                  layer's two are ready while the first layer's backward still
//                                  runs), all-reduces started during backward
//   mlp/epoch/b256/ddp_no_overlap  DDP, the same 4 buckets, all-reduced after backward
//   mlp/epoch/b256/ddp_one_bucket  DDP, one bucket (the default 1 MiB cap), after backward
//   softmax/epoch/b256/{local,ddp_overlap}
// An epoch is the 60000 Fashion-MNIST training images (shuffled, global batch 256, SGD lr 0.1);
// each DDP result carries comm_ms_per_step: DDP's own time in hooks and final waits per step
// (DDPStats), and steps. Options: --reps R (default 5), --data DIR.
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <ember/autograd/ops.h>
#include <ember/core/parallel.h>
#include <ember/datasets/datasets.h>
#include <ember/distributed/distributed.h>
#include <ember/nn/nn.h>
#include <ember/optim/optim.h>

#include "harness.h"

namespace {

using namespace ember;
namespace dist = ember::distributed;
using Clock = std::chrono::steady_clock;

struct Row {
  std::string name{};
  std::vector<double> ms{};  // per rep
  double comm_ms_per_step = -1;
  double mpi_ms = -1;
  std::int64_t steps = -1;
  std::int64_t buckets = -1;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

nn::Sequential make_net(bool mlp) {
  Generator gen(0);
  nn::Sequential net = mlp ? nn::Sequential(nn::Flatten(), nn::Linear(784, 256, true, gen),
                                            nn::ReLU(), nn::Linear(256, 10, true, gen))
                           : nn::Sequential(nn::Flatten(), nn::Linear(784, 10, true, gen));
  net.apply([&gen](nn::Module& m) {
    if (auto* linear = dynamic_cast<nn::Linear*>(&m))
      nn::init::normal_(linear->weight, 0, 0.01, gen);
  });
  return net;
}

// Times `reps` training epochs of this rank's shard; with ddp_options, through DDP.
Row time_epochs(const std::string& name, bool mlp, const datasets::ImageDataset& train, int reps,
                const dist::DDPOptions* ddp_options) {
  const std::int64_t global_batch = 256;
  nn::Sequential net = make_net(mlp);
  std::unique_ptr<dist::DistributedDataParallel> ddp;
  if (ddp_options) ddp = std::make_unique<dist::DistributedDataParallel>(net, *ddp_options);
  optim::SGD sgd(net.parameters(), {.lr = 0.1});
  auto sampler = std::make_shared<dist::DistributedSampler>(
      train.size(), dist::DistributedSamplerOptions{.seed = 0});
  datasets::DataLoader loader(train, {.batch_size = global_batch / dist::world_size()}, sampler);
  nn::CrossEntropyLoss loss_fn;
  Row row{.name = name};
  for (int rep = -1; rep < reps; ++rep) {  // rep -1: warm-up
    if (rep == 0 && ddp) ddp->reset_stats();
    sampler->set_epoch(rep + 1);
    dist::barrier();
    const auto start = Clock::now();
    for (const datasets::Batch& batch : loader) {
      Tensor logits = ddp ? (*ddp)(batch.images) : net(batch.images);
      Tensor loss = loss_fn(logits, batch.labels);
      sgd.zero_grad();
      loss.backward();
      sgd.step();
    }
    dist::barrier();
    if (rep >= 0)
      row.ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  if (ddp) {
    const dist::DDPStats& s = ddp->stats();
    row.steps = s.steps / reps;
    row.comm_ms_per_step = 1e3 * (s.hook_seconds + s.final_seconds) / static_cast<double>(s.steps);
    row.buckets = ddp->num_buckets();
  }
  return row;
}

Row time_allreduce(const std::string& name, std::int64_t count, int reps) {
  Tensor data = ones({count});
  Row row{.name = name};
  std::vector<double> mpi;
  for (int rep = -3; rep < reps * 20; ++rep) {
    dist::barrier();
    auto start = Clock::now();
    dist::all_reduce(data, dist::ReduceOp::Mean);
    const double ours = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    dist::barrier();
    start = Clock::now();
    MPI_Allreduce(MPI_IN_PLACE, data.data_ptr<float>(), static_cast<int>(count), MPI_FLOAT, MPI_SUM,
                  MPI_COMM_WORLD);
    const double theirs = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (rep >= 0) {
      row.ms.push_back(ours);
      mpi.push_back(theirs);
    }
  }
  row.mpi_ms = median(mpi);
  return row;
}

}  // namespace

int main(int argc, char** argv) {
  dist::init(&argc, &argv);
  int reps = 5;
  std::string data_dir = datasets::kFashionMNISTDefaultRoot;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--reps") == 0)
      reps = std::max(1, std::atoi(argv[++i]));
    else if (std::strcmp(argv[i], "--data") == 0)
      data_dir = argv[++i];
  }
  datasets::FashionMNIST train(data_dir, datasets::Split::Train);
  std::vector<Row> rows;
  rows.push_back(time_allreduce("allreduce/mlp_grads", 784 * 256 + 256 + 256 * 10 + 10, reps));
  rows.push_back(time_allreduce("allreduce/softmax_grads", 784 * 10 + 10, reps));
  const dist::DDPOptions overlap{.bucket_cap_bytes = 10 << 10, .overlap = true};
  const dist::DDPOptions no_overlap{.bucket_cap_bytes = 10 << 10, .overlap = false};
  const dist::DDPOptions one_bucket{.overlap = false};
  rows.push_back(time_epochs("mlp/epoch/b256/local", true, train, reps, nullptr));
  rows.push_back(time_epochs("mlp/epoch/b256/ddp_overlap", true, train, reps, &overlap));
  rows.push_back(time_epochs("mlp/epoch/b256/ddp_no_overlap", true, train, reps, &no_overlap));
  rows.push_back(time_epochs("mlp/epoch/b256/ddp_one_bucket", true, train, reps, &one_bucket));
  rows.push_back(time_epochs("softmax/epoch/b256/local", false, train, reps, nullptr));
  rows.push_back(time_epochs("softmax/epoch/b256/ddp_overlap", false, train, reps, &overlap));

  if (dist::rank() == 0) {
    nlohmann::ordered_json results = nlohmann::ordered_json::array();
    for (const Row& r : rows) {
      nlohmann::ordered_json row = {{"name", r.name},
                                    {"median_ms", median(r.ms)},
                                    {"min_ms", *std::min_element(r.ms.begin(), r.ms.end())},
                                    {"max_ms", *std::max_element(r.ms.begin(), r.ms.end())},
                                    {"reps", r.ms.size()}};
      if (r.mpi_ms >= 0) row["mpi_allreduce_ms"] = r.mpi_ms;
      if (r.steps >= 0) {
        row["steps"] = r.steps;
        row["buckets"] = r.buckets;
        row["comm_ms_per_step"] = r.comm_ms_per_step;
      }
      results.push_back(std::move(row));
    }
    const nlohmann::ordered_json report = {
        {"program", "bench_distributed"},           {"implementation", "ember"},
        {"provenance", ember::bench::provenance()}, {"world_size", dist::world_size()},
        {"threads_per_rank", get_num_threads()},    {"results", std::move(results)}};
    std::printf("%s\n", report.dump(1).c_str());
  }
  dist::finalize();
  return 0;
}
