/// \file
/// ember::nn::BatchNorm1d and BatchNorm2d: batch normalization with running statistics.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <ember/core/tensor.h>
#include <ember/nn/module.h>

namespace ember::nn {

/// Options of BatchNorm1d/2d, as libtorch's BatchNormOptions:
/// `BatchNorm2d(BatchNorm2dOptions(16).eps(1e-3).momentum(std::nullopt).affine(false))`.
class BatchNormOptions {
 public:
  /// C = num_features channels; eps 1e-5, momentum 0.1, affine and track_running_stats on.
  BatchNormOptions(std::int64_t num_features)  // NOLINT: implicit, as libtorch's
      : num_features_(num_features) {}
  /// Added to the variance under the square root. Returns *this for chaining.
  BatchNormOptions& eps(double value) {
    eps_ = value;
    return *this;
  }
  /// The running statistics' update factor; std::nullopt (PyTorch's None) for the cumulative
  /// moving average, factor 1 / num_batches_tracked.
  BatchNormOptions& momentum(std::optional<double> value) {
    momentum_ = value;
    return *this;
  }
  /// With a learned per-channel weight (init 1) and bias (init 0).
  BatchNormOptions& affine(bool on) {
    affine_ = on;
    return *this;
  }
  /// Keep running_mean, running_var and num_batches_tracked (buffers) and normalize with them in
  /// evaluation; without, the batch's statistics are used in both modes.
  BatchNormOptions& track_running_stats(bool on) {
    track_running_stats_ = on;
    return *this;
  }
  std::int64_t num_features() const { return num_features_; }          ///< C
  double eps() const { return eps_; }                                  ///< Default 1e-5.
  const std::optional<double>& momentum() const { return momentum_; }  ///< Default 0.1.
  bool affine() const { return affine_; }                              ///< Default true.
  bool track_running_stats() const { return track_running_stats_; }    ///< Default true.

 private:
  std::int64_t num_features_;
  double eps_ = 1e-5;
  std::optional<double> momentum_ = 0.1;
  bool affine_ = true;
  bool track_running_stats_ = true;
};
using BatchNorm1dOptions = BatchNormOptions;  ///< As libtorch.
using BatchNorm2dOptions = BatchNormOptions;  ///< As libtorch.

/// What BatchNorm1d and BatchNorm2d share, as torch.nn.modules.batchnorm._BatchNorm: parameters,
/// buffers and forward; the subclasses check the input's dims.
///
/// Parameters (affine): weight [C] (init 1), bias [C] (init 0). Buffers (track_running_stats):
/// running_mean [C] (init 0), running_var [C] (init 1), num_batches_tracked int64 0-d (init 0);
/// saved in checkpoints with the parameters, as PyTorch's state_dict.
///
/// forward(x), x [N, C, *]:
/// - training mode with running statistics: num_batches_tracked += 1; normalize with the batch's
///   statistics; running_mean and running_var move towards the batch's mean and unbiased
///   variance by momentum (or by 1 / num_batches_tracked when momentum is std::nullopt);
/// - evaluation mode with running statistics: normalize with them;
/// - without running statistics (track_running_stats false): the batch's, in both modes.
class BatchNormBase : public Module {
 public:
  /// Resets running_mean to 0, running_var to 1 and num_batches_tracked to 0 (in place).
  void reset_running_stats();
  /// reset_running_stats(), and weight to 1, bias to 0.
  void reset_parameters();

  /// Normalizes x [N, C, *] (dims checked by the subclass) -> [N, C, *].
  /// \throws ember::Error for a wrong number of dims (naming the module and the shape), a
  ///   channel count other than num_features, training with one value per channel ("Expected
  ///   more than 1 value per channel when training, got input size [1, 3]").
  Tensor forward(const Tensor& x) override;
  /// "3, eps=1e-05, momentum=0.1, affine=true, track_running_stats=true"
  std::string extra_repr() const override;

  BatchNormOptions options;    ///< As constructed.
  Tensor weight;               ///< float32 [C] (affine), else undefined
  Tensor bias;                 ///< float32 [C] (affine), else undefined
  Tensor running_mean;         ///< float32 [C] buffer (track_running_stats), else undefined
  Tensor running_var;          ///< float32 [C] buffer (track_running_stats), else undefined
  Tensor num_batches_tracked;  ///< int64 0-d buffer (track_running_stats), else undefined

 protected:
  /// A module named `type_name` ("BatchNorm2d") with `options`.
  /// \throws ember::Error for num_features < 0.
  BatchNormBase(const std::string& type_name, const BatchNormOptions& options);
  /// An empty holder (the subclasses' `BatchNorm2d bn{nullptr}`).
  explicit BatchNormBase(std::nullptr_t) : Module(nullptr), options(0) {}
  /// Throws unless x has the dims this module takes.
  virtual void check_input_dim(const Tensor& x) const = 0;
};

/// Batch normalization of [N, C] or [N, C, L], as torch.nn.BatchNorm1d (statistics per channel
/// over N, and L). Prints as "BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=true,
/// track_running_stats=true)".
class BatchNorm1d : public BatchNormBase {
 public:
  /// As BatchNorm1dOptions(C) with the options set; `BatchNorm1d(3)` takes the defaults.
  explicit BatchNorm1d(const BatchNorm1dOptions& options);
  /// An empty holder, to be assigned later.
  explicit BatchNorm1d(std::nullptr_t) : BatchNormBase(nullptr) {}

 protected:
  /// "BatchNorm1d: expected 2D or 3D input [N, C] or [N, C, L] (got 4D input [2, 3, 4, 5])"
  void check_input_dim(const Tensor& x) const override;
};

/// Batch normalization of [N, C, H, W], as torch.nn.BatchNorm2d (statistics per channel over N,
/// H and W). Prints as "BatchNorm2d(3, eps=1e-05, ...)".
class BatchNorm2d : public BatchNormBase {
 public:
  /// As BatchNorm2dOptions(C) with the options set; `BatchNorm2d(16)` takes the defaults.
  explicit BatchNorm2d(const BatchNorm2dOptions& options);
  /// An empty holder, to be assigned later.
  explicit BatchNorm2d(std::nullptr_t) : BatchNormBase(nullptr) {}

 protected:
  /// "BatchNorm2d: expected 4D input [N, C, H, W] (got 3D input [2, 3, 4])"
  void check_input_dim(const Tensor& x) const override;
};

}  // namespace ember::nn
