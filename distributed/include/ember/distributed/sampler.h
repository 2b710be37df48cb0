/// \file
/// DistributedSampler: each rank's shard of one seeded order per epoch, as
/// torch.utils.data.distributed.DistributedSampler.
#pragma once

#include <cstdint>
#include <vector>

#include <ember/core/generator.h>
#include <ember/datasets/dataloader.h>

namespace ember::distributed {

/// Options of DistributedSampler, as torch.utils.data.distributed.DistributedSampler's
/// arguments (plus pad).
///
/// Uneven tails (dataset size n not a multiple of N):
///   - drop_last = false, pad = true (default, as PyTorch): every rank gets ceil(n / N) indices;
///     the order is padded by wrapping around to its start, so a few samples appear twice;
///   - drop_last = true: every rank gets floor(n / N); the order's last n mod N are dropped;
///   - pad = false: rank r gets order[r], order[r + N], ... -- every sample exactly once, ranks
///     differ by at most one (for evaluation, where counts summed across ranks must be exact).
struct DistributedSamplerOptions {
  int num_replicas = -1;   ///< N; -1: world_size().
  int rank = -1;           ///< This rank, in [0, N); -1: rank().
  bool shuffle = true;     ///< A new seeded order every epoch; false: 0..n-1.
  std::uint64_t seed = 0;  ///< Every rank must pass the same seed.
  bool drop_last = false;  ///< Drop the order's tail so every rank gets floor(n / N).
  bool pad = true;         ///< Pad the order so every rank gets ceil(n / N).
};

/// Each rank's shard of one seeded order per epoch, as
/// torch.utils.data.distributed.DistributedSampler.
///
/// Epoch e's order is the DataLoader's e-th shuffled epoch for the same seed (random_permutation
/// drawn from Generator(seed), one permutation per epoch before it), or 0..n-1 without shuffle.
/// Rank r takes order[r], order[r + N], order[r + 2N], ... So with a per-rank batch of B / N, step
/// k's batches of all ranks together hold exactly the samples of a single process's batch k of
/// size B (when N divides n: no padding), which is what makes N ranks train like one process.
///
/// \code
///   auto sampler = std::make_shared<DistributedSampler>(train.size(), options);
///   DataLoader loader(train, {.batch_size = B / world_size()}, sampler);
///   for (int epoch = 0; epoch < E; ++epoch) {
///     sampler->set_epoch(epoch);  // forget it and every epoch repeats epoch 0's order
///     for (const Batch& batch : loader) ...
///   }
/// \endcode
class DistributedSampler final : public datasets::Sampler {
 public:
  /// A sampler of `dataset_size` samples (n), starting at epoch 0.
  /// \throws ember::Error if n < 0, N < 1, rank is not in [0, N), or drop_last with pad = false.
  DistributedSampler(std::int64_t dataset_size, DistributedSamplerOptions options = {});

  /// Selects epoch e's order (e >= 0). Replays the generator from the seed when going back.
  /// \throws ember::Error if epoch < 0.
  void set_epoch(std::int64_t epoch);
  /// The epoch selected last.
  std::int64_t epoch() const { return epoch_; }

  /// This rank's indices per epoch.
  std::int64_t size() const override;
  /// This rank's shard of the epoch: int64 indices in [0, n), size() of them.
  std::vector<std::int64_t> indices() const override;
  /// size() * N: the indices per epoch over all ranks, padded or dropped to a multiple of N
  /// (without pad, this rank's size() times N).
  std::int64_t total_size() const { return per_rank_ * n_ranks_; }

 private:
  std::int64_t dataset_size_;
  DistributedSamplerOptions options_;
  int n_ranks_;
  int rank_;
  std::int64_t per_rank_;  // with pad or drop_last; without pad, rank_'s own count
  std::int64_t epoch_ = -1;
  Generator generator_;
  std::vector<std::int64_t> order_;  // epoch_'s order of 0..n-1
};

}  // namespace ember::distributed
