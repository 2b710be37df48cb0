// Issue 13, kinds A and B for the DataLoader: the batch count is computed without overflow, and
// a batch size that cannot be one is refused.
#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>

#include <ember/datasets/dataloader.h>

using namespace ember;
using namespace ember::datasets;
using Catch::Contains;

namespace {
ImageDataset tiny(std::int64_t n) {
  return ImageDataset(zeros({n, 2, 2}, kUInt8), zeros({n}, kInt64), {"only"});
}
}  // namespace

TEST_CASE("DataLoader: the batch count never overflows, whatever the batch size", "[hostile]") {
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  const ImageDataset data = tiny(5);
  // ceil(5 / B) was (5 + B - 1) / B, which overflowed int64 for B near INT64_MAX (and gave 0
  // batches or a negative count).
  for (std::int64_t b : {kMax, kMax - 1, kMax - 4, std::int64_t{1} << 62}) {
    DataLoader loader(data, {.batch_size = b});
    CHECK(loader.num_batches() == 1);
    std::int64_t rows = 0, batches = 0;
    for (const Batch& batch : loader) rows += batch.labels.size(0), ++batches;
    CHECK(batches == 1);
    CHECK(rows == 5);
    CHECK(DataLoader(data, {.batch_size = b, .drop_last = true}).num_batches() == 0);
  }
  CHECK(DataLoader(data, {.batch_size = 2}).num_batches() == 3);
  CHECK(DataLoader(data, {.batch_size = 2, .drop_last = true}).num_batches() == 2);
  CHECK(DataLoader(data, {.batch_size = 5}).num_batches() == 1);
  CHECK(DataLoader(tiny(0), {.batch_size = kMax}).num_batches() == 0);
  CHECK_THROWS_WITH(DataLoader(data, {.batch_size = 0}),
                    "DataLoader: batch_size must be at least 1, got 0");
  CHECK_THROWS_WITH(DataLoader(data, {.batch_size = std::numeric_limits<std::int64_t>::min()}),
                    Contains("batch_size must be at least 1, got -9223372036854775808"));
}
