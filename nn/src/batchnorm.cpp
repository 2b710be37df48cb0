// ember::nn::BatchNorm1d and BatchNorm2d. See batchnorm.h.
#include <ember/nn/batchnorm.h>

#include <sstream>

#include <ember/autograd/grad_mode.h>
#include <ember/core/error.h>
#include <ember/nn/functional/batchnorm.h>

namespace ember::nn {

BatchNormBase::BatchNormBase(const std::string& type_name, const BatchNormOptions& options_)
    : Module(type_name), options(options_) {
  const std::int64_t C = options.num_features();
  EMBER_CHECK(C >= 0, type_name, ": num_features must be >= 0, got ", C);
  if (options.affine()) {
    weight = register_parameter("weight", ones({C}));
    bias = register_parameter("bias", zeros({C}));
  }
  if (options.track_running_stats()) {
    running_mean = register_buffer("running_mean", zeros({C}));
    running_var = register_buffer("running_var", ones({C}));
    num_batches_tracked = register_buffer("num_batches_tracked", zeros({}, kInt64));
  }
}

void BatchNormBase::reset_running_stats() {
  if (!options.track_running_stats()) return;
  NoGradGuard no_grad;
  running_mean.zero_();
  running_var.fill_(1.0);
  num_batches_tracked.zero_();
}

void BatchNormBase::reset_parameters() {
  reset_running_stats();
  if (!options.affine()) return;
  NoGradGuard no_grad;
  weight.fill_(1.0);
  bias.zero_();
}

// As torch.nn.modules.batchnorm._BatchNorm.forward, except that num_batches_tracked is counted
// only once the batch went through (PyTorch counts before F.batch_norm checks the input).
Tensor BatchNormBase::forward(const Tensor& x) {
  check_input_dim(x);
  EMBER_CHECK(x.size(1) == options.num_features(), type_name(), ": input ", to_string(x.sizes()),
              " has ", x.size(1),
              " channels (dim 1), expected num_features = ", options.num_features());
  const bool tracking = options.track_running_stats();
  double factor = options.momentum().value_or(0.0);
  std::int64_t batches = 0;
  if (is_training() && tracking) {
    batches = num_batches_tracked.item<std::int64_t>() + 1;
    // momentum None: the cumulative moving average, 1 / (batches seen, this one included).
    if (!options.momentum()) factor = 1.0 / static_cast<double>(batches);
  }
  // Batch statistics in training, and in evaluation when there are no running ones.
  const bool use_batch_stats = is_training() || !tracking;
  Tensor y = functional::batch_norm(x, tracking ? running_mean : Tensor(),
                                    tracking ? running_var : Tensor(),
                                    functional::BatchNormFuncOptions()
                                        .weight(weight)
                                        .bias(bias)
                                        .training(use_batch_stats)
                                        .momentum(factor)
                                        .eps(options.eps()));
  if (is_training() && tracking) {
    NoGradGuard no_grad;
    num_batches_tracked.fill_(static_cast<double>(batches));
  }
  return y;
}

std::string BatchNormBase::extra_repr() const {
  std::ostringstream out;
  out << options.num_features() << ", eps=" << options.eps() << ", momentum=";
  if (options.momentum())
    out << *options.momentum();
  else
    out << "None";
  out << ", affine=" << (options.affine() ? "true" : "false")
      << ", track_running_stats=" << (options.track_running_stats() ? "true" : "false");
  return out.str();
}

BatchNorm1d::BatchNorm1d(const BatchNorm1dOptions& options_)
    : BatchNormBase("BatchNorm1d", options_) {}

void BatchNorm1d::check_input_dim(const Tensor& x) const {
  EMBER_CHECK(x.defined(), "BatchNorm1d: the input is undefined");
  EMBER_CHECK(x.dim() == 2 || x.dim() == 3,
              "BatchNorm1d: expected 2D or 3D input [N, C] or [N, C, L] (got ", x.dim(), "D input ",
              to_string(x.sizes()), ")");
}

BatchNorm2d::BatchNorm2d(const BatchNorm2dOptions& options_)
    : BatchNormBase("BatchNorm2d", options_) {}

void BatchNorm2d::check_input_dim(const Tensor& x) const {
  EMBER_CHECK(x.defined(), "BatchNorm2d: the input is undefined");
  EMBER_CHECK(x.dim() == 4, "BatchNorm2d: expected 4D input [N, C, H, W] (got ", x.dim(),
              "D input ", to_string(x.sizes()), ")");
}

}  // namespace ember::nn
