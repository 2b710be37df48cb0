// --distributed with MPI: see mpi_training.h.
#include "mpi_training.h"

#include <fmt/core.h>

#include <cstdio>
#include <iostream>
#include <memory>

#include <ember/autograd/grad_mode.h>
#include <ember/distributed/distributed.h>

namespace app::mpi {

namespace {

namespace dist = ember::distributed;
namespace ds = ember::datasets;

struct State {
  bool enabled = false;
  std::unique_ptr<dist::DistributedDataParallel> ddp;
};

State& state() {
  static State s;
  return s;
}

// The DataLoader asks its sampler once per epoch (begin()); the single-process loader reshuffles
// at each begin(), so this sampler moves to the next epoch at each call, and the app's resume
// (one begin() per finished epoch) replays it the same way.
class EpochAdvancingSampler final : public ds::Sampler {
 public:
  EpochAdvancingSampler(std::int64_t n, std::uint64_t seed)
      : inner_(n, dist::DistributedSamplerOptions{.seed = seed}) {}
  std::int64_t size() const override { return inner_.size(); }
  std::vector<std::int64_t> indices() const override {
    inner_.set_epoch(next_epoch_++);
    return inner_.indices();
  }

 private:
  mutable dist::DistributedSampler inner_;
  mutable std::int64_t next_epoch_ = 0;
};

}  // namespace

int rank() {
  return enabled() ? dist::rank() : 0;
}

void init(int* argc, char*** argv) {
  dist::init(argc, argv);
  state().enabled = true;
}

bool enabled() {
  return state().enabled;
}

bool is_root() {
  return !enabled() || dist::rank() == 0;
}

int run_guarded(const std::function<int()>& body) {
  if (!enabled()) return body();
  int code = 1;
  try {
    code = body();
    state().ddp.reset();
    dist::finalize();
    return code;
  } catch (const UsageError& e) {
    // Each message in one write: every rank may fail at once, and mpirun interleaves the ranks'
    // stderr write by write.
    fmt::print(stderr, "error (rank {}): {}\nRun with --help to see the options.\n", dist::rank(),
               e.what());
    code = 2;
  } catch (const RuntimeError& e) {
    fmt::print(stderr, "error (rank {}): {}\nhint: {}\n", dist::rank(), e.what(), e.hint());
  } catch (const std::exception& e) {
    fmt::print(stderr, "error (rank {}): {}\n", dist::rank(), e.what());
  }
  std::cout.flush();
  std::cerr.flush();
  dist::abort(code);
}

void mute_outputs(Settings& s) {
  if (is_root()) return;
  s.save_path.clear();
  s.metrics_path.clear();
  s.plot_path.clear();
  s.predict_path.clear();
  s.export_path.clear();
  s.quiet = true;
  // stdout (printf and std::cout, which writes through it) goes nowhere; stderr stays, for errors.
  std::fflush(stdout);
  if (!std::freopen("/dev/null", "w", stdout)) std::cout.setstate(std::ios::badbit);
}

void wrap(ember::nn::Module& net) {
  if (enabled()) state().ddp = std::make_unique<dist::DistributedDataParallel>(net);
}

void average_buffers(ember::nn::Module& net) {
  if (!enabled()) return;
  ember::NoGradGuard no_grad;
  for (ember::Tensor& buffer : net.buffers()) {
    if (buffer.dtype() != ember::kFloat32) continue;
    ember::Tensor mean = buffer.contiguous().clone();
    dist::all_reduce(mean, dist::ReduceOp::Mean);
    buffer.copy_(mean);
  }
}

ds::DataLoader train_loader(const ds::ImageDataset& data, ds::DataLoaderOptions options) {
  if (!enabled()) return ds::DataLoader(data, options);
  const int n = dist::world_size();
  if (options.batch_size % n != 0)
    throw UsageError("--batch-size " + std::to_string(options.batch_size) +
                     " is not a multiple of the " + std::to_string(n) +
                     " ranks; --distributed splits each batch evenly over them");
  auto sampler = std::make_shared<EpochAdvancingSampler>(data.size(), options.seed);
  return ds::DataLoader(
      data, {.batch_size = options.batch_size / n, .drop_last = options.drop_last}, sampler);
}

ds::DataLoader test_loader(const ds::ImageDataset& data, std::int64_t batch_size) {
  if (!enabled()) return ds::DataLoader(data, {.batch_size = batch_size});
  auto sampler = std::make_shared<dist::DistributedSampler>(
      data.size(), dist::DistributedSamplerOptions{.shuffle = false, .pad = false});
  return ds::DataLoader(data, {.batch_size = batch_size}, sampler);
}

double sum(double value) {
  return enabled() ? dist::all_reduce_sum(value) : value;
}

std::int64_t sum(std::int64_t value) {
  return enabled() ? dist::all_reduce_sum(value) : value;
}

void sum(std::vector<std::vector<std::int64_t>>& counts) {
  if (!enabled()) return;
  std::vector<std::int64_t> flat;
  for (const auto& row : counts) flat.insert(flat.end(), row.begin(), row.end());
  ember::Tensor t = ember::from_vector(flat, {static_cast<std::int64_t>(flat.size())});
  dist::all_reduce(t);
  const std::int64_t* summed = t.data_ptr<std::int64_t>();
  for (auto& row : counts)
    for (auto& v : row) v = *summed++;
}

std::vector<std::int64_t> gather_in_order(const std::vector<std::int64_t>& shard, std::int64_t n) {
  if (!enabled()) return shard;
  // Rank r holds samples r, r + N, r + 2N, ... (test_loader): pad every shard to the longest,
  // gather, and deal them back.
  const std::int64_t ranks = dist::world_size();
  const std::int64_t longest = (n + ranks - 1) / ranks;
  std::vector<std::int64_t> padded = shard;
  padded.resize(static_cast<std::size_t>(longest), -1);
  ember::Tensor all = dist::all_gather(ember::from_vector(padded, {longest}));
  const std::int64_t* values = all.data_ptr<std::int64_t>();
  std::vector<std::int64_t> ordered(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i)
    ordered[static_cast<std::size_t>(i)] = values[(i % ranks) * longest + i / ranks];
  return ordered;
}

}  // namespace app::mpi
