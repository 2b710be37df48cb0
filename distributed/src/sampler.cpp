// DistributedSampler: the DataLoader's epoch orders, dealt out to the ranks round-robin.
#include <ember/distributed/sampler.h>

#include <numeric>

#include <ember/core/error.h>
#include <ember/distributed/process_group.h>

namespace ember::distributed {

DistributedSampler::DistributedSampler(std::int64_t dataset_size, DistributedSamplerOptions options)
    : dataset_size_(dataset_size),
      options_(options),
      n_ranks_(options.num_replicas < 0 ? world_size() : options.num_replicas),
      rank_(options.rank < 0 ? rank() : options.rank),
      generator_(options.seed) {
  EMBER_CHECK(dataset_size_ >= 0, "DistributedSampler: dataset size must be >= 0, got ",
              dataset_size_);
  EMBER_CHECK(n_ranks_ >= 1, "DistributedSampler: num_replicas must be at least 1, got ", n_ranks_);
  EMBER_CHECK(rank_ >= 0 && rank_ < n_ranks_, "DistributedSampler: rank ", rank_, " is not in [0, ",
              n_ranks_, ")");
  EMBER_CHECK(!(options_.drop_last && !options_.pad),
              "DistributedSampler: drop_last and pad = false contradict each other (drop_last "
              "evens the shards by dropping, pad = false leaves them uneven)");
  const std::int64_t n = dataset_size_, ranks = n_ranks_;
  if (!options_.pad)
    per_rank_ = n / ranks + (rank_ < n % ranks ? 1 : 0);
  else if (options_.drop_last)
    per_rank_ = n / ranks;
  else
    per_rank_ = (n + ranks - 1) / ranks;
  set_epoch(0);
}

void DistributedSampler::set_epoch(std::int64_t epoch) {
  EMBER_CHECK(epoch >= 0, "DistributedSampler::set_epoch: epoch must be >= 0, got ", epoch);
  if (epoch == epoch_) return;
  if (!options_.shuffle) {
    order_.resize(static_cast<std::size_t>(dataset_size_));
    std::iota(order_.begin(), order_.end(), std::int64_t{0});
    epoch_ = epoch;
    return;
  }
  if (epoch < epoch_) {  // going back: replay from the seed
    generator_.manual_seed(options_.seed);
    epoch_ = -1;
  }
  // The DataLoader draws one permutation per epoch from one generator; so do we, to give the
  // same order as a single-process DataLoader with this seed.
  while (epoch_ < epoch) {
    order_ = datasets::random_permutation(dataset_size_, generator_);
    ++epoch_;
  }
}

std::int64_t DistributedSampler::size() const {
  return per_rank_;
}

std::vector<std::int64_t> DistributedSampler::indices() const {
  std::vector<std::int64_t> shard;
  shard.reserve(static_cast<std::size_t>(per_rank_));
  const std::int64_t n = dataset_size_;  // > 0 whenever per_rank_ > 0
  for (std::int64_t k = 0; k < per_rank_; ++k) {
    // Past the end only with padding: wrap around to the order's start, as PyTorch.
    const std::int64_t i = (rank_ + k * n_ranks_) % n;
    shard.push_back(order_[static_cast<std::size_t>(i)]);
  }
  return shard;
}

}  // namespace ember::distributed
