// MNIST and Fashion-MNIST: 28x28 grayscale images with one of 10 class labels.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <ember/core/tensor.h>

namespace ember::datasets {

enum class Split { Train, Test };  // 60000 and 10000 samples in both datasets

// Images uint8 [N, H, W] (values 0..255, as stored) and labels int64 [N] in [0, K), K =
// class_names().size(). Tensors are cheap handles: copies share the data.
class ImageDataset {
 public:
  // Checks that images is uint8 [N, H, W], labels int64 [N] with values in [0, K), K =
  // class_names.size() >= 1; throws ember::Error naming the mismatch otherwise.
  ImageDataset(Tensor images, Tensor labels, std::vector<std::string> class_names);
  virtual ~ImageDataset() = default;

  std::int64_t size() const { return images_.size(0); }                         // N
  const Tensor& images() const { return images_; }                              // uint8 [N, H, W]
  const Tensor& labels() const { return labels_; }                              // int64 [N]
  const std::vector<std::string>& class_names() const { return class_names_; }  // K names

 private:
  Tensor images_;
  Tensor labels_;
  std::vector<std::string> class_names_;
};

// MNIST handwritten digits; class names "0".."9".
// Looks under `root`, then `root`/MNIST/raw (torchvision's layout), for the standard files
// train-images-idx3-ubyte, train-labels-idx1-ubyte (Split::Train) or t10k-images-idx3-ubyte,
// t10k-labels-idx1-ubyte (Split::Test), each plain or with `.gz` (plain preferred when both
// exist). Checks that images are [N, 28, 28] uint8, labels [N] uint8 below 10, same N.
// Throws ember::Error when a file is missing (saying where it looked and where to download the
// files) or malformed (see read_idx in <ember/datasets/idx.h>).
class MNIST : public ImageDataset {
 public:
  MNIST(const std::string& root, Split split);
};

// Debian's `dataset-fashion-mnist` package installs the four .gz files here.
inline constexpr const char* kFashionMNISTDefaultRoot = "/usr/share/datasets/fashion-mnist";

// Fashion-MNIST (Zalando): same format and file names as MNIST; class names as in
// torchvision / d2l: "t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt",
// "sneaker", "bag", "ankle boot". Looks under `root`, then `root`/FashionMNIST/raw.
// A missing dataset's error suggests `apt-get install dataset-fashion-mnist` and the official
// download URLs.
class FashionMNIST : public ImageDataset {
 public:
  explicit FashionMNIST(Split split);  // from kFashionMNISTDefaultRoot
  FashionMNIST(const std::string& root, Split split);
};

}  // namespace ember::datasets
