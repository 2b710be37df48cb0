// DataLoader: every sample once per epoch, reproducible shuffles, drop_last, exact /255 values,
// and batches the user keeps are never overwritten.
#include <catch2/catch.hpp>
#include <cstring>
#include <map>
#include <set>

#include <ember/core/parallel.h>
#include <ember/datasets/dataloader.h>

#include "../../datasets/src/kernels/gather.h"

using Catch::Contains;
using ember::Tensor;
using namespace ember::datasets;

namespace {
// n images [n, h, w] whose first pixel is the sample's index (mod 256) and the rest is
// (i * 31 + j) mod 256, so every byte value appears; label i % 10.
ImageDataset make_dataset(std::int64_t n, std::int64_t h = 28, std::int64_t w = 28) {
  Tensor images = ember::empty({n, h, w}, ember::kUInt8);
  std::uint8_t* px = images.data_ptr<std::uint8_t>();
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t j = 0; j < h * w; ++j) {
      px[i * h * w + j] = static_cast<std::uint8_t>(j == 0 ? i : i * 31 + j);
    }
  }
  std::vector<std::int64_t> labels;
  for (std::int64_t i = 0; i < n; ++i) labels.push_back(i % 10);
  return ImageDataset(images, ember::from_vector(labels, {n}),
                      {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"});
}

// The sample indices of one epoch, read back from the labels' and first pixels' content.
std::vector<std::int64_t> epoch_order(DataLoader& loader) {
  std::vector<std::int64_t> order;
  for (const Batch& batch : loader) {
    const std::int64_t b = batch.images.size(0);
    const float* px = batch.images.data_ptr<float>();
    const std::int64_t* labels = batch.labels.data_ptr<std::int64_t>();
    const std::int64_t row = batch.images.size(2) * batch.images.size(3);
    for (std::int64_t i = 0; i < b; ++i) {
      const auto index = static_cast<std::int64_t>(px[i * row] * 255.0f + 0.5f);
      REQUIRE(labels[i] == index % 10);
      order.push_back(index);
    }
  }
  return order;
}
}  // namespace

TEST_CASE("DataLoader batches: shapes, counts, drop_last", "[datasets][dataloader]") {
  const ImageDataset data = make_dataset(10);
  SECTION("ceil(N / B) batches, the last one short") {
    DataLoader loader(data, {.batch_size = 4});
    CHECK(loader.num_batches() == 3);  // 4 + 4 + 2
    std::vector<std::int64_t> sizes;
    for (const Batch& batch : loader) {
      CHECK(batch.images.dtype() == ember::kFloat32);
      CHECK(batch.images.sizes() == ember::Shape{batch.images.size(0), 1, 28, 28});
      CHECK(batch.labels.dtype() == ember::kInt64);
      CHECK(batch.labels.sizes() == ember::Shape{batch.images.size(0)});
      sizes.push_back(batch.images.size(0));
    }
    CHECK(sizes == std::vector<std::int64_t>{4, 4, 2});
  }
  SECTION("drop_last drops the short batch") {
    DataLoader loader(data, {.batch_size = 4, .drop_last = true});
    CHECK(loader.num_batches() == 2);
    CHECK(epoch_order(loader) == std::vector<std::int64_t>{0, 1, 2, 3, 4, 5, 6, 7});
    DataLoader exact(data, {.batch_size = 5, .drop_last = true});
    CHECK(exact.num_batches() == 2);  // nothing to drop
  }
  SECTION("without shuffle, the dataset's order") {
    DataLoader loader(data, {.batch_size = 3});
    CHECK(epoch_order(loader) == std::vector<std::int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  }
  SECTION("batch larger than the dataset, and an empty dataset") {
    DataLoader big(data, {.batch_size = 64});
    CHECK(big.num_batches() == 1);
    CHECK(epoch_order(big).size() == 10);
    DataLoader none(data, {.batch_size = 64, .drop_last = true});
    CHECK(none.num_batches() == 0);
    CHECK(epoch_order(none).empty());
    const ImageDataset empty = make_dataset(0);
    DataLoader empty_loader(empty, {.batch_size = 2, .shuffle = true});
    CHECK(empty_loader.num_batches() == 0);
    CHECK(epoch_order(empty_loader).empty());
  }
  SECTION("options are validated") {
    CHECK_THROWS_WITH(DataLoader(data, {.batch_size = 0}),
                      Contains("DataLoader: batch_size must be at least 1, got 0"));
    CHECK_THROWS_WITH(DataLoader(data, {.batch_size = -3}), Contains("got -3"));
  }
}

TEST_CASE("DataLoader shuffling: every sample once, same seed same epochs, new order each epoch",
          "[datasets][dataloader]") {
  const ImageDataset data = make_dataset(100);
  DataLoader a(data, {.batch_size = 7, .shuffle = true, .seed = 42});
  DataLoader b(data, {.batch_size = 7, .shuffle = true, .seed = 42});
  DataLoader c(data, {.batch_size = 7, .shuffle = true, .seed = 43});
  std::set<std::vector<std::int64_t>> seen;
  for (int epoch = 0; epoch < 3; ++epoch) {
    const std::vector<std::int64_t> order = epoch_order(a);
    CHECK(order.size() == 100);
    CHECK(std::set<std::int64_t>(order.begin(), order.end()).size() == 100);  // a permutation
    CHECK(epoch_order(b) == order);    // same seed, same epoch sequence
    CHECK(epoch_order(c) != order);    // another seed, another order
    CHECK(seen.insert(order).second);  // reshuffled every epoch
  }
  SECTION("the documented Fisher-Yates over Generator::randint: torch.randperm's orders") {
    ember::Generator gen(42);
    std::vector<std::int64_t> expected(100);
    for (std::int64_t i = 0; i < 100; ++i) expected[static_cast<std::size_t>(i)] = i;
    for (std::int64_t i = 0; i < 99; ++i) {
      std::swap(expected[static_cast<std::size_t>(i)],
                expected[static_cast<std::size_t>(i + gen.randint(0, 100 - i))]);
    }
    DataLoader fresh(data, {.batch_size = 7, .shuffle = true, .seed = 42});
    const std::vector<std::int64_t> first = epoch_order(fresh), second = epoch_order(fresh);
    CHECK(first == expected);
    // g = torch.Generator().manual_seed(42)
    // torch.randperm(100, generator=g)[:10] -> [42, 96, 62, 98, 46, 95, 60, 24, 78, 16]
    // torch.randperm(100, generator=g)[:10] -> [64, 53, 31, 63, 15, 12, 17, 10, 19, 95]
    CHECK(std::vector<std::int64_t>(first.begin(), first.begin() + 10) ==
          std::vector<std::int64_t>{42, 96, 62, 98, 46, 95, 60, 24, 78, 16});
    CHECK(std::vector<std::int64_t>(second.begin(), second.begin() + 10) ==
          std::vector<std::int64_t>{64, 53, 31, 63, 15, 12, 17, 10, 19, 95});
  }
  SECTION("drop_last with shuffle drops a different tail each epoch, never repeats a sample") {
    DataLoader d(data, {.batch_size = 30, .shuffle = true, .drop_last = true, .seed = 1});
    const auto first = epoch_order(d);
    const auto second = epoch_order(d);
    CHECK(first.size() == 90);
    CHECK(std::set<std::int64_t>(first.begin(), first.end()).size() == 90);
    CHECK(first != second);
  }
}

TEST_CASE("DataLoader images are exactly uint8 / 255.0f", "[datasets][dataloader]") {
  // Every byte value: x / 255.0f, not x * (1.0f / 255), which differs for some bytes.
  Tensor images = ember::empty({1, 16, 16}, ember::kUInt8);
  for (int x = 0; x < 256; ++x) images.data_ptr<std::uint8_t>()[x] = static_cast<std::uint8_t>(x);
  const ImageDataset data(images, ember::from_vector(std::vector<std::int64_t>{0}, {1}), {"a"});
  DataLoader loader(data, {.batch_size = 1});
  int differs_from_multiply = 0;
  for (const Batch& batch : loader) {
    const float* px = batch.images.data_ptr<float>();
    for (int x = 0; x < 256; ++x) {
      const float want = static_cast<float>(x) / 255.0f;
      CHECK(std::memcmp(&px[x], &want, sizeof(float)) == 0);
      differs_from_multiply += static_cast<float>(x) * (1.0f / 255.0f) != want;
    }
  }
  CHECK(differs_from_multiply > 0);  // the reason for dividing
}

TEST_CASE("gather_scale matches its scalar reference at every tail length",
          "[datasets][dataloader][kernel]") {
  for (std::int64_t d : {0, 1, 7, 8, 9, 17, 784, 1023}) {
    const std::int64_t n = 5;
    std::vector<std::uint8_t> images(static_cast<std::size_t>(n * d));
    for (std::size_t i = 0; i < images.size(); ++i) images[i] = static_cast<std::uint8_t>(i * 7);
    const std::vector<std::int64_t> index = {4, 0, 4, 2};
    std::vector<float> got(index.size() * static_cast<std::size_t>(d), -1.0f);
    std::vector<float> want(got.size(), -2.0f);
    kernels::gather_scale(images.data(), d, index.data(), 4, got.data());
    kernels::gather_scale_reference(images.data(), d, index.data(), 4, want.data());
    CAPTURE(d);
    CHECK((got.empty() || std::memcmp(got.data(), want.data(), got.size() * sizeof(float)) == 0));
  }
  SECTION("a batch large enough to be split over 2 threads, rows in a scrambled order") {
    const std::int64_t n = 50, d = 784, count = 300;
    std::vector<std::uint8_t> images(static_cast<std::size_t>(n * d));
    for (std::size_t i = 0; i < images.size(); ++i) images[i] = static_cast<std::uint8_t>(i * 13);
    std::vector<std::int64_t> index;
    for (std::int64_t b = 0; b < count; ++b) index.push_back((b * 37) % n);
    std::vector<float> want(static_cast<std::size_t>(count * d));
    kernels::gather_scale_reference(images.data(), d, index.data(), count, want.data());
    const int saved = ember::get_num_threads();
    for (int threads : {1, 2}) {
      ember::set_num_threads(threads);
      std::vector<float> got(want.size(), -1.0f);
      kernels::gather_scale(images.data(), d, index.data(), count, got.data());
      CAPTURE(threads);
      CHECK(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)) == 0);
    }
    ember::set_num_threads(saved);
  }
}

TEST_CASE("DataLoader never overwrites a batch the user kept", "[datasets][dataloader]") {
  const ImageDataset data = make_dataset(12);
  DataLoader loader(data, {.batch_size = 4});
  SECTION("a plain loop reuses the buffer") {
    std::set<const void*> buffers;
    for (const Batch& batch : loader) buffers.insert(batch.images.storage()->data);
    CHECK(buffers.size() == 1);
  }
  SECTION("kept batches, tensors and views keep their values") {
    std::vector<Batch> kept;
    Tensor kept_images;
    Tensor kept_view;
    int i = 0;
    for (const Batch& batch : loader) {
      if (i == 0) kept.push_back(batch);
      if (i == 1) kept_images = batch.images;
      if (i == 2) kept_view = batch.labels.narrow(0, 1, 2);
      ++i;
    }
    CHECK(kept[0].labels.to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 1, 2, 3});
    CHECK(kept[0].images.at<float>({3, 0, 0, 0}) == 3.0f / 255.0f);
    CHECK(kept_images.at<float>({0, 0, 0, 0}) == 4.0f / 255.0f);
    CHECK(kept_view.to_vector<std::int64_t>() == std::vector<std::int64_t>{9, 0});  // 9, 10 % 10
  }
  SECTION("the loader keeps the data alive after the dataset object is gone") {
    auto owned = std::make_unique<ImageDataset>(make_dataset(3));
    DataLoader own(*owned, {.batch_size = 3});
    owned.reset();
    CHECK(epoch_order(own) == std::vector<std::int64_t>{0, 1, 2});
  }
}

namespace {
// Visits the even samples backwards: 8, 6, 4, 2, 0 of 10.
class EvensBackwards final : public Sampler {
 public:
  std::int64_t size() const override { return 5; }
  std::vector<std::int64_t> indices() const override { return {8, 6, 4, 2, 0}; }
};
}  // namespace

TEST_CASE("DataLoader with a sampler: its indices, in its order", "[dataloader]") {
  const ImageDataset data = make_dataset(10);
  DataLoader loader(data, {.batch_size = 2}, std::make_shared<EvensBackwards>());
  CHECK(loader.num_batches() == 3);  // ceil(5 / 2)
  CHECK(epoch_order(loader) == std::vector<std::int64_t>{8, 6, 4, 2, 0});
  CHECK_THROWS_WITH(DataLoader(data, {.batch_size = 2}, nullptr),
                    "DataLoader: the sampler is null");
}

TEST_CASE("random_permutation is the DataLoader's shuffle", "[dataloader]") {
  const ImageDataset data = make_dataset(20);
  DataLoader loader(data, {.batch_size = 20, .shuffle = true, .seed = 4});
  ember::Generator gen(4);
  for (int epoch = 0; epoch < 3; ++epoch) CHECK(epoch_order(loader) == random_permutation(20, gen));
}
