/// \file
/// DataLoader: (shuffled) batches of an ImageDataset, as float32 images in [0, 1].
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <vector>

#include <ember/core/generator.h>
#include <ember/core/tensor.h>
#include <ember/datasets/mnist.h>

namespace ember::datasets {

/// Options of a DataLoader, as torch.utils.data.DataLoader's arguments.
struct DataLoaderOptions {
  std::int64_t batch_size = 1;  ///< B >= 1.
  bool shuffle = false;         ///< A new random order every epoch.
  bool drop_last = false;       ///< Drop the last batch when it has fewer than B samples.
  std::uint64_t seed = 0;       ///< Seeds the shuffling Generator.
};

/// Which samples an epoch visits, in which order (e.g. ember::distributed::DistributedSampler,
/// which gives each rank its shard), as torch.utils.data.Sampler.
///
/// The DataLoader asks once per epoch, at begin().
class Sampler {
 public:
  virtual ~Sampler() = default;
  /// The number of indices per epoch.
  virtual std::int64_t size() const = 0;
  /// This epoch's indices, each in [0, dataset size); size() of them.
  virtual std::vector<std::int64_t> indices() const = 0;
};

/// A random order of 0..n-1, the DataLoader's shuffle: n int64 indices (none for n <= 0).
///
/// torch.randperm's: Fisher-Yates from the identity, for i = 0 up to n-2:
/// swap(order[i], order[i + gen.randint(0, n - i)]). So `Generator(s)` gives the order
/// `torch.randperm(n, generator=torch.Generator().manual_seed(s))` gives, on every machine (no
/// std::shuffle, whose order depends on the standard library).
std::vector<std::int64_t> random_permutation(std::int64_t n, Generator& gen);

/// One batch: B is options.batch_size except for a short last batch.
struct Batch {
  /// float32 [B, 1, H, W] = uint8 / 255.0f exactly (as torchvision's ToTensor).
  Tensor images;
  Tensor labels;  ///< int64 [B].
};

/// Iterates an ImageDataset in batches, epoch after epoch, as torch.utils.data.DataLoader.
///
/// \code
///   DataLoader loader(train, {.batch_size = 256, .shuffle = true, .seed = 42});
///   for (int epoch = 0; epoch < 10; ++epoch)
///     for (const Batch& batch : loader) { ... batch.images, batch.labels ... }
/// \endcode
///
/// Each begin() starts a new epoch. With shuffle, its order is random_permutation(N) drawn from
/// one Generator seeded with options.seed at construction and advancing epoch after epoch: the
/// same seed gives the same sequence of epochs on every machine, and the sequence of orders
/// `torch.randperm(N, generator=g)` gives epoch after epoch from `g.manual_seed(seed)`. Every
/// sample appears exactly once per epoch (minus the dropped tail with drop_last).
///
/// Each batch is gathered and converted to float in one vectorized pass (no float copy of the
/// whole dataset). Buffers: the iterator reuses its batch tensors for the next batch only when
/// nothing else refers to them (no copy of the Batch or of its tensors, no view, no autograd
/// graph, no requires_grad); otherwise it allocates new ones. So a batch you keep (e.g. pushed
/// into a vector) is never overwritten, and a plain loop allocates nothing after the first batch.
/// Keep a copy (cheap: tensors are handles), not a reference: `const Batch&` refers to the
/// iterator's current batch and is valid only until it advances. (The check counts references, so
/// do not copy a batch's tensors on another thread while the loop advances.)
///
/// The loader holds handles to the dataset's tensors: it stays valid if the dataset object dies.
class DataLoader {
 public:
  /// What end() returns: an iterator equals it after the epoch's last batch.
  struct Sentinel {};
  class Iterator;

  /// Batches of every sample of `dataset`, in order or shuffled.
  /// \throws ember::Error if options.batch_size < 1.
  DataLoader(const ImageDataset& dataset, DataLoaderOptions options);
  /// Batches of the samples `sampler` picks, in its order (options.shuffle must be off: the
  /// sampler decides the order).
  /// \throws ember::Error if options.batch_size < 1, the sampler is null or options.shuffle is
  ///   on.
  DataLoader(const ImageDataset& dataset, DataLoaderOptions options,
             std::shared_ptr<const Sampler> sampler);

  /// ceil(N / B), or floor(N / B) with drop_last (N: the sampler's size when there is one).
  std::int64_t num_batches() const;
  /// The dataset's N (all samples, whatever the sampler picks).
  std::int64_t dataset_size() const { return images_.size(0); }
  /// The options given at construction.
  const DataLoaderOptions& options() const { return options_; }

  /// Starts a new epoch (reshuffles when shuffle is on; asks the sampler for its indices) and
  /// returns an iterator at its first batch.
  /// \throws ember::Error if the sampler gives a count other than its size() or an index
  ///   outside [0, N).
  Iterator begin();
  /// The end of the epoch, for range-for.
  Sentinel end() const { return {}; }

 private:
  Tensor images_;  // uint8 [N, H, W]
  Tensor labels_;  // int64 [N]
  DataLoaderOptions options_;
  Generator generator_;
  std::shared_ptr<const Sampler> sampler_;  // null: every sample, shuffled or in order
};

/// An input iterator over one epoch's batches (see DataLoader for when its batch is reused).
class DataLoader::Iterator {
 public:
  using iterator_category = std::input_iterator_tag;  ///< An input iterator: one pass.
  using value_type = Batch;                           ///< What it yields.
  using difference_type = std::ptrdiff_t;             ///< Required of an iterator.
  using pointer = const Batch*;                       ///< What operator->() returns.
  using reference = const Batch&;                     ///< What operator*() returns.

  /// An empty iterator, with no batch: it equals the Sentinel.
  Iterator() = default;
  /// The current batch, valid until the iterator advances.
  const Batch& operator*() const { return batch_; }
  /// \overload
  const Batch* operator->() const { return &batch_; }
  /// Gathers the next batch.
  Iterator& operator++();
  /// \overload
  void operator++(int) { ++*this; }
  /// The index of the current batch in the epoch: 0 .. num_batches() - 1.
  std::int64_t batch_index() const { return index_; }
  /// True after the epoch's last batch.
  friend bool operator==(const Iterator& it, Sentinel) { return it.index_ >= it.num_batches_; }

 private:
  friend class DataLoader;
  Iterator(Tensor images, Tensor labels, std::int64_t batch_size, std::int64_t num_batches,
           std::vector<std::int64_t> order);
  void load();  // gathers batch index_ into batch_

  Tensor images_;
  Tensor labels_;
  std::int64_t batch_size_ = 1;
  std::int64_t num_batches_ = 0;
  std::int64_t index_ = 0;
  std::vector<std::int64_t> order_;  // this epoch's sample order
  Batch batch_;
};

}  // namespace ember::datasets
