// DataLoader: epoch orders from the Generator, batches gathered by kernels::gather_scale.
#include <ember/datasets/dataloader.h>

#include <algorithm>
#include <numeric>
#include <utility>

#include <ember/core/error.h>

#include "kernels/gather.h"

namespace ember::datasets {

DataLoader::DataLoader(const ImageDataset& dataset, DataLoaderOptions options)
    : images_(dataset.images()),
      labels_(dataset.labels()),
      options_(options),
      generator_(options.seed) {
  EMBER_CHECK(options_.batch_size >= 1, "DataLoader: batch_size must be at least 1, got ",
              options_.batch_size);
}

DataLoader::DataLoader(const ImageDataset& dataset, DataLoaderOptions options,
                       std::shared_ptr<const Sampler> sampler)
    : DataLoader(dataset, options) {
  EMBER_CHECK(sampler != nullptr, "DataLoader: the sampler is null");
  EMBER_CHECK(!options.shuffle,
              "DataLoader: shuffle must be off with a sampler (the sampler decides the order)");
  sampler_ = std::move(sampler);
}

std::vector<std::int64_t> random_permutation(std::int64_t n, Generator& gen) {
  std::vector<std::int64_t> order(static_cast<std::size_t>(std::max<std::int64_t>(n, 0)));
  std::iota(order.begin(), order.end(), std::int64_t{0});
  // torch.randperm's CPU loop (Note [PyTorch's draws]): a forward Fisher-Yates from the
  // identity, where randint(0, n - i) is ATen's random() % (n - i) for every real dataset (n - i
  // below 2^32).
  for (std::int64_t i = 0; i + 1 < n; ++i) {
    const std::int64_t j = i + gen.randint(0, n - i);
    std::swap(order[static_cast<std::size_t>(i)], order[static_cast<std::size_t>(j)]);
  }
  return order;
}

std::int64_t DataLoader::num_batches() const {
  const std::int64_t n = sampler_ ? sampler_->size() : dataset_size();
  const std::int64_t b = options_.batch_size;
  // n / b rounded up without n + b - 1, which overflows for a batch size near INT64_MAX.
  return options_.drop_last ? n / b : n / b + (n % b != 0 ? 1 : 0);
}

DataLoader::Iterator DataLoader::begin() {
  const std::int64_t n = dataset_size();
  std::vector<std::int64_t> order;
  if (sampler_) {
    order = sampler_->indices();
    EMBER_CHECK(static_cast<std::int64_t>(order.size()) == sampler_->size(),
                "DataLoader: the sampler gave ", order.size(), " indices but its size() is ",
                sampler_->size());
    for (std::size_t i = 0; i < order.size(); ++i)
      EMBER_CHECK(order[i] >= 0 && order[i] < n, "DataLoader: the sampler's index ", i, " is ",
                  order[i], ", outside the dataset's [0, ", n, ")");
  } else if (options_.shuffle) {
    order = random_permutation(n, generator_);
  } else {
    order.resize(static_cast<std::size_t>(n));
    std::iota(order.begin(), order.end(), std::int64_t{0});
  }
  return Iterator(images_, labels_, options_.batch_size, num_batches(), std::move(order));
}

DataLoader::Iterator::Iterator(Tensor images, Tensor labels, std::int64_t batch_size,
                               std::int64_t num_batches, std::vector<std::int64_t> order)
    : images_(std::move(images)),
      labels_(std::move(labels)),
      batch_size_(batch_size),
      num_batches_(num_batches),
      order_(std::move(order)) {
  load();
}

DataLoader::Iterator& DataLoader::Iterator::operator++() {
  ++index_;
  load();
  return *this;
}

namespace {
// A batch tensor may be overwritten only if this iterator holds the sole reference to it and
// to its storage (no copy of the handle, no view, no graph node saved it) and it is a plain
// tensor of the right size.
bool reusable(const Tensor& t, std::int64_t rows) {
  return t.defined() && t.size(0) == rows && t.impl_ptr().use_count() == 1 &&
         t.storage().use_count() == 1 && t.impl()->autograd == nullptr;
}
}  // namespace

void DataLoader::Iterator::load() {
  if (index_ >= num_batches_) {
    batch_ = Batch{};  // release the buffers at the end of the epoch
    return;
  }
  const std::int64_t start = index_ * batch_size_;
  const std::int64_t rows =
      std::min<std::int64_t>(batch_size_, static_cast<std::int64_t>(order_.size()) - start);
  const std::int64_t h = images_.size(1);
  const std::int64_t w = images_.size(2);
  if (!reusable(batch_.images, rows)) batch_.images = empty({rows, 1, h, w}, kFloat32);
  if (!reusable(batch_.labels, rows)) batch_.labels = empty({rows}, kInt64);

  const std::int64_t* index = order_.data() + start;
  kernels::gather_scale(images_.data_ptr<std::uint8_t>(), h * w, index, rows,
                        batch_.images.data_ptr<float>());
  const std::int64_t* labels = labels_.data_ptr<std::int64_t>();
  std::int64_t* out = batch_.labels.data_ptr<std::int64_t>();
  for (std::int64_t b = 0; b < rows; ++b) out[b] = labels[index[b]];
}

}  // namespace ember::datasets
