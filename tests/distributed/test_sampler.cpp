// DistributedSampler: disjoint, complete shards of one seeded order per epoch; uneven tails padded
// (as PyTorch), dropped, or left uneven; the same orders as a single-process DataLoader, so the
// ranks' batches of step k together are the single-process batch k.
#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <set>

#include <ember/datasets/dataloader.h>
#include <ember/distributed/process_group.h>
#include <ember/distributed/sampler.h>

using ember::distributed::DistributedSampler;
using ember::distributed::DistributedSamplerOptions;
namespace ds = ember::datasets;
namespace dist = ember::distributed;

namespace {
// n images 1x1 whose pixel is the sample index (n <= 256), label i % 3.
ds::ImageDataset indexed_dataset(std::int64_t n) {
  ember::Tensor images = ember::empty({n, 1, 1}, ember::kUInt8);
  std::vector<std::int64_t> labels;
  for (std::int64_t i = 0; i < n; ++i) {
    images.data_ptr<std::uint8_t>()[i] = static_cast<std::uint8_t>(i);
    labels.push_back(i % 3);
  }
  return ds::ImageDataset(images, ember::from_vector(labels, {n}), {"a", "b", "c"});
}

std::vector<std::int64_t> sample_ids(const ds::Batch& batch) {
  std::vector<std::int64_t> ids;
  for (float v : batch.images.to_vector<float>())
    ids.push_back(static_cast<std::int64_t>(v * 255.0f + 0.5f));
  return ids;
}

std::vector<std::vector<std::int64_t>> shards(std::int64_t n, int ranks,
                                              DistributedSamplerOptions options,
                                              std::int64_t epoch = 0) {
  std::vector<std::vector<std::int64_t>> out;
  for (int r = 0; r < ranks; ++r) {
    options.num_replicas = ranks;
    options.rank = r;
    DistributedSampler sampler(n, options);
    sampler.set_epoch(epoch);
    REQUIRE(static_cast<std::int64_t>(sampler.indices().size()) == sampler.size());
    out.push_back(sampler.indices());
  }
  return out;
}
}  // namespace

TEST_CASE("shards are disjoint and complete when N divides n", "[distributed][sampler]") {
  auto parts = shards(12, 3, {.seed = 5});
  std::multiset<std::int64_t> all;
  for (const auto& part : parts) {
    CHECK(part.size() == 4);
    all.insert(part.begin(), part.end());
  }
  std::multiset<std::int64_t> expected;
  for (std::int64_t i = 0; i < 12; ++i) expected.insert(i);
  CHECK(all == expected);
}

TEST_CASE("uneven tails: padded by wrapping, dropped, or left uneven", "[distributed][sampler]") {
  // n = 10, N = 3, no shuffle: the order is 0..9.
  SECTION("pad (default, as PyTorch): ceil(10 / 3) = 4 each, 0 and 1 appear twice") {
    auto parts = shards(10, 3, {.shuffle = false});
    CHECK(parts[0] == std::vector<std::int64_t>{0, 3, 6, 9});
    CHECK(parts[1] == std::vector<std::int64_t>{1, 4, 7, 0});
    CHECK(parts[2] == std::vector<std::int64_t>{2, 5, 8, 1});
  }
  SECTION("drop_last: floor(10 / 3) = 3 each, the order's last sample dropped") {
    auto parts = shards(10, 3, {.shuffle = false, .drop_last = true});
    CHECK(parts[0] == std::vector<std::int64_t>{0, 3, 6});
    CHECK(parts[1] == std::vector<std::int64_t>{1, 4, 7});
    CHECK(parts[2] == std::vector<std::int64_t>{2, 5, 8});
  }
  SECTION("pad = false: 4, 3, 3 -- every sample exactly once (evaluation)") {
    auto parts = shards(10, 3, {.shuffle = false, .pad = false});
    CHECK(parts[0] == std::vector<std::int64_t>{0, 3, 6, 9});
    CHECK(parts[1] == std::vector<std::int64_t>{1, 4, 7});
    CHECK(parts[2] == std::vector<std::int64_t>{2, 5, 8});
  }
  SECTION("shuffled and padded: every sample at least once, the 2 padded ones twice") {
    auto parts = shards(10, 4, {.seed = 3});  // ceil(10 / 4) = 3 each, 2 padded
    std::map<std::int64_t, int> count;
    for (const auto& part : parts)
      for (std::int64_t i : part) ++count[i];
    CHECK(count.size() == 10);
    int twice = 0;
    for (auto& [i, c] : count) twice += c == 2;
    CHECK(twice == 2);
  }
}

TEST_CASE("each epoch is the single-process DataLoader's epoch, dealt round-robin",
          "[distributed][sampler]") {
  const std::int64_t n = 24;
  ds::ImageDataset data = indexed_dataset(n);
  ds::DataLoader single(data, {.batch_size = n, .shuffle = true, .seed = 7});
  DistributedSampler sampler(n, {.num_replicas = 1, .rank = 0, .seed = 7});
  std::vector<std::int64_t> previous;
  for (std::int64_t epoch = 0; epoch < 3; ++epoch) {
    sampler.set_epoch(epoch);
    auto it = single.begin();
    const std::vector<std::int64_t> order = sample_ids(*it);
    CHECK(sampler.indices() == order);
    CHECK(order != previous);  // epoch-dependent
    previous = order;
    // Rank r of 3 holds order[r], order[r + 3], ...
    auto parts = shards(n, 3, {.seed = 7}, epoch);
    for (std::size_t k = 0; k < order.size(); ++k) CHECK(parts[k % 3][k / 3] == order[k]);
  }
  // Going back replays from the seed.
  auto again = shards(n, 3, {.seed = 7}, 1);
  sampler.set_epoch(1);
  std::vector<std::int64_t> epoch1 = sampler.indices();
  for (std::size_t k = 0; k < epoch1.size(); ++k) CHECK(again[k % 3][k / 3] == epoch1[k]);
}

TEST_CASE("step k's batches of all ranks are the single-process batch k",
          "[distributed][sampler]") {
  // n = 24, global batch 6: with 2 ranks, 3 per rank; with 3 ranks, 2 per rank. 24 = 4 batches.
  const std::int64_t n = 24, global_batch = 6;
  ds::ImageDataset data = indexed_dataset(n);
  for (int ranks : {2, 3}) {
    ds::DataLoader single(data, {.batch_size = global_batch, .shuffle = true, .seed = 11});
    std::vector<std::shared_ptr<DistributedSampler>> samplers;
    std::vector<ds::DataLoader> loaders;
    for (int r = 0; r < ranks; ++r) {
      samplers.push_back(std::make_shared<DistributedSampler>(
          n, DistributedSamplerOptions{.num_replicas = ranks, .rank = r, .seed = 11}));
      loaders.emplace_back(data, ds::DataLoaderOptions{.batch_size = global_batch / ranks},
                           samplers.back());
    }
    for (std::int64_t epoch = 0; epoch < 2; ++epoch) {
      std::vector<ds::DataLoader::Iterator> its;
      for (int r = 0; r < ranks; ++r) {
        samplers[static_cast<std::size_t>(r)]->set_epoch(epoch);
        its.push_back(loaders[static_cast<std::size_t>(r)].begin());
      }
      int steps = 0;
      for (const ds::Batch& batch : single) {
        std::vector<std::int64_t> want = sample_ids(batch), got;
        for (auto& it : its) {
          REQUIRE(!(it == loaders[0].end()));
          for (std::int64_t i : sample_ids(*it)) got.push_back(i);
          ++it;
        }
        std::sort(want.begin(), want.end());
        std::sort(got.begin(), got.end());
        CHECK(got == want);
        ++steps;
      }
      CHECK(steps == 4);
    }
  }
}

TEST_CASE("the ranks' default shards are disjoint and complete", "[distributed][sampler]") {
  // Under mpirun: rank() and world_size() by default; n = 10 is uneven for N = 3 (4, 3, 3).
  const int n_ranks = dist::world_size();
  DistributedSampler sampler(10, {.seed = 1, .pad = false});
  CHECK(sampler.size() == 10 / n_ranks + (dist::rank() < 10 % n_ranks ? 1 : 0));
  // Gather everyone's indices: pad to 10 with -1 so the tensors agree in shape.
  std::vector<std::int64_t> mine = sampler.indices();
  mine.resize(10, -1);
  ember::Tensor all = dist::all_gather(ember::from_vector(mine, {10}));
  std::vector<std::int64_t> seen;
  for (std::int64_t v : all.to_vector<std::int64_t>())
    if (v >= 0) seen.push_back(v);
  std::sort(seen.begin(), seen.end());
  std::vector<std::int64_t> expected(10);
  for (std::int64_t i = 0; i < 10; ++i) expected[static_cast<std::size_t>(i)] = i;
  CHECK(seen == expected);
}

TEST_CASE("DistributedSampler refuses a bad rank or contradicting options",
          "[distributed][sampler]") {
  CHECK_THROWS_WITH(DistributedSampler(10, {.num_replicas = 2, .rank = 2}),
                    "DistributedSampler: rank 2 is not in [0, 2)");
  CHECK_THROWS_WITH(DistributedSampler(10, {.num_replicas = 0, .rank = 0}),
                    "DistributedSampler: num_replicas must be at least 1, got 0");
  CHECK_THROWS_WITH(
      DistributedSampler(10, {.num_replicas = 2, .rank = 0, .drop_last = true, .pad = false}),
      "DistributedSampler: drop_last and pad = false contradict each other (drop_last evens the "
      "shards by dropping, pad = false leaves them uneven)");
  ds::ImageDataset data = indexed_dataset(4);
  auto sampler = std::make_shared<DistributedSampler>(
      4, DistributedSamplerOptions{.num_replicas = 1, .rank = 0});
  CHECK_THROWS_WITH(
      ds::DataLoader(data, {.batch_size = 2, .shuffle = true}, sampler),
      "DataLoader: shuffle must be off with a sampler (the sampler decides the order)");
  // A sampler for a bigger dataset than the loader's: begin() names the bad index.
  auto big = std::make_shared<DistributedSampler>(
      8, DistributedSamplerOptions{.num_replicas = 1, .rank = 0, .shuffle = false});
  ds::DataLoader loader(data, {.batch_size = 2}, big);
  CHECK_THROWS_WITH(loader.begin(),
                    "DataLoader: the sampler's index 4 is 4, outside the dataset's [0, 4)");
}
