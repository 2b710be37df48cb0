// MNIST / FashionMNIST: finding the files, checking they agree, and the real Fashion-MNIST.
#include <zlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <iostream>

#include <ember/datasets/datasets.h>

#include "idx_files.h"
#include "support/skip.h"

using Catch::Contains;
using ember::Tensor;
using namespace ember::datasets;
using namespace ember_test;

namespace {
// n images [n, rows, cols] with pixel (i, r, c) = i + r + c (mod 256), labels i % 10 (or `labels`).
Bytes images_file(std::uint32_t n, std::uint32_t rows = 28, std::uint32_t cols = 28) {
  Bytes out = idx_header(0x08, {n, rows, cols});
  for (std::uint32_t i = 0; i < n; ++i)
    for (std::uint32_t r = 0; r < rows; ++r)
      for (std::uint32_t c = 0; c < cols; ++c) out.push_back(static_cast<std::uint8_t>(i + r + c));
  return out;
}
Bytes labels_file(const Bytes& labels) {
  return concat(idx_header(0x08, {static_cast<std::uint32_t>(labels.size())}), labels);
}
}  // namespace

TEST_CASE("MNIST finds the standard files, plain or .gz, and checks them", "[datasets][mnist]") {
  TempDir dir;
  dir.write("train-images-idx3-ubyte", images_file(3));
  dir.write("train-labels-idx1-ubyte", labels_file({7, 0, 9}));
  // The test split gzipped, in torchvision's layout root/MNIST/raw.
  dir.write("MNIST/raw/t10k-images-idx3-ubyte.gz", gzip(images_file(2)));
  dir.write("MNIST/raw/t10k-labels-idx1-ubyte.gz", gzip(labels_file({1, 2})));

  const MNIST train(dir.path(), Split::Train);
  CHECK(train.size() == 3);
  CHECK(train.images().dtype() == ember::kUInt8);
  CHECK(train.images().sizes() == ember::Shape{3, 28, 28});
  CHECK(train.images().at<std::uint8_t>({2, 1, 3}) == 6);  // 2 + 1 + 3
  CHECK(train.labels().dtype() == ember::kInt64);
  CHECK(train.labels().to_vector<std::int64_t>() == std::vector<std::int64_t>{7, 0, 9});
  CHECK(train.class_names() ==
        std::vector<std::string>{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"});

  const MNIST test(dir.path(), Split::Test);
  CHECK(test.size() == 2);
  CHECK(test.labels().to_vector<std::int64_t>() == std::vector<std::int64_t>{1, 2});
}

TEST_CASE("FashionMNIST has d2l's class names and its own error hints", "[datasets][mnist]") {
  TempDir dir;
  dir.write("t10k-images-idx3-ubyte.gz", gzip(images_file(1)));
  dir.write("t10k-labels-idx1-ubyte.gz", gzip(labels_file({9})));
  const FashionMNIST test(dir.path(), Split::Test);
  CHECK(test.class_names() == std::vector<std::string>{"t-shirt", "trouser", "pullover", "dress",
                                                       "coat", "sandal", "shirt", "sneaker", "bag",
                                                       "ankle boot"});
  CHECK(test.class_names()[static_cast<std::size_t>(test.labels().item<std::int64_t>())] ==
        "ankle boot");

  CHECK_THROWS_WITH(
      FashionMNIST(dir.path(), Split::Train),
      Contains("FashionMNIST: cannot find train-images-idx3-ubyte under '" + dir.path() + "'") &&
          Contains("looked for " + dir.path() + "/train-images-idx3-ubyte, " + dir.path() +
                   "/train-images-idx3-ubyte.gz, " + dir.path() +
                   "/FashionMNIST/raw/train-images-idx3-ubyte") &&
          Contains("apt-get install dataset-fashion-mnist") &&
          Contains("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"));
  CHECK_THROWS_WITH(MNIST(dir.path() + "/none", Split::Test),
                    Contains("MNIST: cannot find t10k-images-idx3-ubyte") &&
                        Contains("http://yann.lecun.com/exdb/mnist/"));
}

TEST_CASE("MNIST rejects files that disagree", "[datasets][mnist][errors]") {
  TempDir dir;
  SECTION("counts differ") {
    dir.write("train-images-idx3-ubyte", images_file(3));
    dir.write("train-labels-idx1-ubyte", labels_file({1, 2}));
    CHECK_THROWS_WITH(MNIST(dir.path(), Split::Train),
                      Contains("has 3 images but") && Contains("has 2 labels"));
  }
  SECTION("0 images: refused, naming the file (a mean over 0 samples would be 0/0)") {
    dir.write("train-images-idx3-ubyte", images_file(0));
    dir.write("train-labels-idx1-ubyte", labels_file({}));
    CHECK_THROWS_WITH(MNIST(dir.path(), Split::Train),
                      "MNIST: '" + dir.path() +
                          "/train-images-idx3-ubyte' holds 0 images (the IDX header's count is "
                          "0); expected at least one. Hint: the file is truncated or a "
                          "placeholder; download it again");
    dir.write("FashionMNIST/raw/t10k-images-idx3-ubyte.gz", gzip(images_file(0)));
    dir.write("FashionMNIST/raw/t10k-labels-idx1-ubyte.gz", gzip(labels_file({})));
    CHECK_THROWS_WITH(FashionMNIST(dir.path(), Split::Test),
                      Contains("FashionMNIST: '" + dir.path() +
                               "/FashionMNIST/raw/t10k-images-idx3-ubyte.gz' holds 0 images"));
  }
  SECTION("images not 28x28") {
    dir.write("train-images-idx3-ubyte", images_file(2, 27, 28));
    dir.write("train-labels-idx1-ubyte", labels_file({1, 2}));
    CHECK_THROWS_WITH(MNIST(dir.path(), Split::Train),
                      Contains("expected uint8 images [N, 28, 28], got uint8 [2, 27, 28]"));
  }
  SECTION("labels of the wrong type") {
    dir.write("train-images-idx3-ubyte", images_file(1));
    dir.write("train-labels-idx1-ubyte", concat(idx_header(0x0C, {1}), {0, 0, 0, 1}));
    CHECK_THROWS_WITH(MNIST(dir.path(), Split::Train),
                      Contains("expected uint8 labels [N], got int64 [1]"));
  }
  SECTION("label out of range, with its byte offset") {
    dir.write("train-images-idx3-ubyte", images_file(3));
    dir.write("train-labels-idx1-ubyte", labels_file({1, 10, 2}));
    CHECK_THROWS_WITH(MNIST(dir.path(), Split::Train),
                      Contains("at byte 9 of the IDX data: label 1 is 10: expected a class "
                               "index 0..9"));
  }
  SECTION("a malformed file names itself") {
    dir.write("train-images-idx3-ubyte", {0, 0, 8});
    dir.write("train-labels-idx1-ubyte", labels_file({1}));
    CHECK_THROWS_WITH(MNIST(dir.path(), Split::Train),
                      Contains("train-images-idx3-ubyte': at byte 3: truncated header"));
  }
  SECTION("ImageDataset checks tensors given directly") {
    const Tensor images = ember::from_vector(std::vector<std::uint8_t>(32), {2, 4, 4});
    const Tensor labels = ember::from_vector(std::vector<std::int64_t>{0, 3}, {2});
    CHECK_THROWS_WITH(ImageDataset(images, labels, {"a", "b", "c"}),
                      Contains("label 1 is 3, outside [0, 3)"));
    CHECK_THROWS_WITH(ImageDataset(images.reshape({2, 16}), labels, {"a", "b", "c", "d"}),
                      Contains("images must be uint8 [N, H, W], got uint8 [2, 16]"));
  }
}

// The real Fashion-MNIST from Debian's dataset-fashion-mnist (the README's test command installs
// it). Where the files are absent the case is skipped before any check (tests/support/skip.h:
// CTest reports it skipped), so it never claims to have checked them. Checksums from Python:
//   import gzip, zlib
//   d = gzip.open('/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz').read()
//   hex(zlib.crc32(d[16:]))   # images: skip the 16-byte header (labels: 8-byte header)
// train images 0xae65dccd, train labels 0x2ed6e46a (label sum 270000 = 6000 * 45),
// t10k images 0x12728439, t10k labels 0x242bc73f (label sum 45000 = 1000 * 45).
TEST_CASE("FashionMNIST real files load with the right counts and checksums (SKIPPED if absent)",
          "[datasets][mnist][real]") {
  const std::string root = kFashionMNISTDefaultRoot;
  const bool installed = std::filesystem::exists(root + "/train-images-idx3-ubyte.gz") ||
                         std::filesystem::exists(root + "/train-images-idx3-ubyte");
  if (!ember::test::available_or_skip(installed, "Fashion-MNIST not installed at " + root +
                                                     " (apt-get install dataset-fashion-mnist)"))
    return;
  auto crc = [](const Tensor& t, std::size_t bytes) {
    return crc32(0L, reinterpret_cast<const Bytef*>(t.storage()->data), static_cast<uInt>(bytes));
  };
  const FashionMNIST train(Split::Train);
  CHECK(train.size() == 60000);
  CHECK(train.images().sizes() == ember::Shape{60000, 28, 28});
  CHECK(crc(train.images(), 60000 * 784) == 0xae65dccdUL);
  const std::vector<std::int64_t> labels = train.labels().to_vector<std::int64_t>();
  std::vector<std::uint8_t> label_bytes(labels.begin(), labels.end());
  CHECK(crc32(0L, label_bytes.data(), static_cast<uInt>(label_bytes.size())) == 0x2ed6e46aUL);
  std::int64_t sum = 0;
  for (auto l : labels) sum += l;
  CHECK(sum == 270000);
  CHECK(train.class_names()[static_cast<std::size_t>(labels[0])] == "ankle boot");

  const FashionMNIST test(kFashionMNISTDefaultRoot, Split::Test);
  CHECK(test.size() == 10000);
  CHECK(crc(test.images(), 10000 * 784) == 0x12728439UL);
  const std::vector<std::int64_t> test_labels = test.labels().to_vector<std::int64_t>();
  std::vector<std::uint8_t> test_label_bytes(test_labels.begin(), test_labels.end());
  CHECK(crc32(0L, test_label_bytes.data(), static_cast<uInt>(test_label_bytes.size())) ==
        0x242bc73fUL);
}
