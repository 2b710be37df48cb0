/// \file
/// MNIST and Fashion-MNIST: 28x28 grayscale images with one of 10 class labels.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <ember/core/tensor.h>

namespace ember::datasets {

/// Which part of a dataset to read: 60000 and 10000 samples in both MNIST and Fashion-MNIST.
enum class Split {
  Train,  ///< The training set (train-*-ubyte files).
  Test    ///< The test set (t10k-*-ubyte files).
};

/// A dataset of images uint8 [N, H, W] (values 0..255, as stored) and labels int64 [N] in
/// [0, K), K = class_names().size().
///
/// Tensors are cheap handles: copies share the data.
class ImageDataset {
 public:
  /// Checks and keeps (contiguous) the images, labels and class names.
  /// \throws ember::Error naming the mismatch unless images is uint8 [N, H, W], labels int64
  ///   [N] with values in [0, K), and K = class_names.size() >= 1.
  ImageDataset(Tensor images, Tensor labels, std::vector<std::string> class_names);
  virtual ~ImageDataset() = default;

  std::int64_t size() const { return images_.size(0); }  ///< N, the number of samples.
  const Tensor& images() const { return images_; }       ///< uint8 [N, H, W], contiguous.
  const Tensor& labels() const { return labels_; }       ///< int64 [N], contiguous.
  /// The K class names, label k naming class_names()[k].
  const std::vector<std::string>& class_names() const { return class_names_; }

 private:
  Tensor images_;
  Tensor labels_;
  std::vector<std::string> class_names_;
};

/// MNIST handwritten digits (LeCun et al.\ 1998), as torchvision.datasets.MNIST: images uint8
/// [N, 28, 28], labels int64 [N]; class names "0".."9".
///
/// Looks under `root`, then `root`/MNIST/raw (torchvision's layout), for the standard files
/// train-images-idx3-ubyte, train-labels-idx1-ubyte (Split::Train) or t10k-images-idx3-ubyte,
/// t10k-labels-idx1-ubyte (Split::Test), each plain or with `.gz` (plain preferred when both
/// exist). Checks that images are [N, 28, 28] uint8 with N >= 1, labels [N] uint8 below 10.
class MNIST : public ImageDataset {
 public:
  /// Reads the `split` files under `root`.
  /// \throws ember::Error when a file is missing (saying where it looked and where to download
  ///   the files) or malformed (see read_idx in <ember/datasets/idx.h>), or its dtype, shape,
  ///   count or a label is not as above (naming the file and the byte offset), and for a file
  ///   of 0 images.
  MNIST(const std::string& root, Split split);
};

/// Debian's `dataset-fashion-mnist` package installs the four .gz files here.
inline constexpr const char* kFashionMNISTDefaultRoot = "/usr/share/datasets/fashion-mnist";

/// Fashion-MNIST (Zalando; Xiao et al.\ 2017), as torchvision.datasets.FashionMNIST: images uint8
/// [N, 28, 28], labels int64 [N].
///
/// Same format and file names as MNIST; class names as in torchvision / d2l: "t-shirt",
/// "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot".
/// Looks under `root`, then `root`/FashionMNIST/raw.
class FashionMNIST : public ImageDataset {
 public:
  /// Reads the `split` files from kFashionMNISTDefaultRoot.
  /// \throws ember::Error as FashionMNIST(const std::string&, Split).
  explicit FashionMNIST(Split split);
  /// Reads the `split` files under `root`.
  /// \throws ember::Error when a file is missing (the message suggests `apt-get install
  ///   dataset-fashion-mnist` and the official download URLs) or malformed, as MNIST.
  FashionMNIST(const std::string& root, Split split);
};

}  // namespace ember::datasets
