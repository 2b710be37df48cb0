// MNIST and Fashion-MNIST: find the four standard IDX files, read them, check they agree.
#include <ember/datasets/mnist.h>

#include <filesystem>
#include <utility>

#include <ember/core/error.h>
#include <ember/core/ops.h>
#include <ember/datasets/idx.h>

namespace ember::datasets {

ImageDataset::ImageDataset(Tensor images, Tensor labels, std::vector<std::string> class_names)
    : images_(std::move(images)), labels_(std::move(labels)), class_names_(std::move(class_names)) {
  EMBER_CHECK(images_.defined() && labels_.defined(), "ImageDataset: images or labels undefined");
  EMBER_CHECK(images_.dtype() == kUInt8 && images_.dim() == 3,
              "ImageDataset: images must be uint8 [N, H, W], got ", images_.dtype(), " ",
              to_string(images_.sizes()));
  EMBER_CHECK(labels_.dtype() == kInt64 && labels_.dim() == 1,
              "ImageDataset: labels must be int64 [N], got ", labels_.dtype(), " ",
              to_string(labels_.sizes()));
  EMBER_CHECK(labels_.size(0) == images_.size(0), "ImageDataset: ", images_.size(0), " images but ",
              labels_.size(0), " labels; they must agree");
  EMBER_CHECK(!class_names_.empty(), "ImageDataset: no class names");
  images_ = core::contiguous(images_);  // integer tensors: no graph to keep (ember::core)
  labels_ = core::contiguous(labels_);
  const std::int64_t k = static_cast<std::int64_t>(class_names_.size());
  const std::int64_t* label = labels_.data_ptr<std::int64_t>();
  for (std::int64_t i = 0; i < labels_.size(0); ++i) {
    EMBER_CHECK(label[i] >= 0 && label[i] < k, "ImageDataset: label ", i, " is ", label[i],
                ", outside [0, ", k, ") for ", k, " classes");
  }
}

namespace {

namespace fs = std::filesystem;

struct Source {
  const char* dataset;   // "MNIST"
  const char* subdir;    // torchvision's folder: root/<subdir>/raw
  const char* download;  // how to get the files
};

// The first of root/name, root/name.gz, root/<subdir>/raw/name, root/<subdir>/raw/name.gz that
// exists; throws naming every path tried.
std::string find_file(const std::string& root, const std::string& name, const Source& source) {
  const fs::path dirs[] = {fs::path(root), fs::path(root) / source.subdir / "raw"};
  std::string tried;
  for (const fs::path& dir : dirs) {
    for (const char* suffix : {"", ".gz"}) {
      const fs::path candidate = dir / (name + suffix);
      std::error_code ec;
      if (fs::is_regular_file(candidate, ec)) return candidate.string();
      tried += (tried.empty() ? "" : ", ") + candidate.string();
    }
  }
  detail::throw_error(std::string(source.dataset) + ": cannot find " + name + " under '" + root +
                      "': looked for " + tried + ". Hint: " + source.download);
}

// Reads images [N, 28, 28] uint8 and labels [N] uint8 < 10 and checks that they agree.
std::pair<Tensor, Tensor> load_split(const std::string& root, Split split, const Source& source) {
  const std::string prefix = split == Split::Train ? "train" : "t10k";
  const std::string images_path = find_file(root, prefix + "-images-idx3-ubyte", source);
  const std::string labels_path = find_file(root, prefix + "-labels-idx1-ubyte", source);
  Tensor images = read_idx(images_path);
  Tensor labels = read_idx(labels_path);
  const std::string hint =
      std::string(". Hint: the files are not ") + source.dataset + "'s; " + source.download;
  EMBER_CHECK(
      images.dtype() == kUInt8 && images.dim() == 3 && images.size(1) == 28 && images.size(2) == 28,
      source.dataset, ": '", images_path, "': expected uint8 images [N, 28, 28], got ",
      images.dtype(), " ", to_string(images.sizes()), hint);
  EMBER_CHECK(labels.dtype() == kUInt8 && labels.dim() == 1, source.dataset, ": '", labels_path,
              "': expected uint8 labels [N], got ", labels.dtype(), " ", to_string(labels.sizes()),
              hint);
  EMBER_CHECK(images.size(0) == labels.size(0), source.dataset, ": '", images_path, "' has ",
              images.size(0), " images but '", labels_path, "' has ", labels.size(0),
              " labels; expected the same count",
              ". Hint: the two files come from different downloads; download both again");
  // Labels as int64 (class indices), checked below 10 with the byte offset of a bad one.
  const std::int64_t n = labels.size(0);
  Tensor labels64 = empty({n}, kInt64);
  const std::uint8_t* in = labels.data_ptr<std::uint8_t>();
  std::int64_t* out = labels64.data_ptr<std::int64_t>();
  for (std::int64_t i = 0; i < n; ++i) {
    EMBER_CHECK(in[i] < 10, source.dataset, ": '", labels_path, "': at byte ", 8 + i,
                " of the IDX data: label ", i, " is ", int{in[i]}, ": expected a class index 0..9",
                hint);
    out[i] = in[i];
  }
  return {std::move(images), std::move(labels64)};
}

const Source kMNIST{"MNIST", "MNIST",
                    "download train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
                    "t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz from "
                    "http://yann.lecun.com/exdb/mnist/ (mirror: "
                    "https://ossci-datasets.s3.amazonaws.com/mnist/) into that folder"};
const Source kFashionMNIST{
    "FashionMNIST", "FashionMNIST",
    "install them with `apt-get install dataset-fashion-mnist` (into "
    "/usr/share/datasets/fashion-mnist), or download train-images-idx3-ubyte.gz, "
    "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz from "
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/ (see "
    "https://github.com/zalandoresearch/fashion-mnist) into that folder"};

ImageDataset make(const std::string& root, Split split, const Source& source,
                  std::vector<std::string> names) {
  auto [images, labels] = load_split(root, split, source);
  return ImageDataset(std::move(images), std::move(labels), std::move(names));
}

}  // namespace

MNIST::MNIST(const std::string& root, Split split)
    : ImageDataset(make(root, split, kMNIST, {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"})) {}

FashionMNIST::FashionMNIST(Split split) : FashionMNIST(kFashionMNISTDefaultRoot, split) {}

FashionMNIST::FashionMNIST(const std::string& root, Split split)
    : ImageDataset(make(root, split, kFashionMNIST,
                        {"t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt",
                         "sneaker", "bag", "ankle boot"})) {}

}  // namespace ember::datasets
