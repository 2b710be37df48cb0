/// \file
/// DistributedDataParallel: data-parallel training over the process group, as
/// torch.nn.parallel.DistributedDataParallel.
///
/// Why a model wrapper (PyTorch's DDP) rather than Horovod's DistributedOptimizer: the two do the
/// same communication (hooks on gradient accumulation start bucketed all-reduces during backward),
/// but the wrapper owns everything that belongs to the model -- the broadcast of rank 0's
/// parameters at construction, the parameter order that fixes the buckets, the check that every
/// parameter got a gradient -- and leaves the optimizer untouched, so SGD (and any later optimizer)
/// and its checkpoints work unchanged. A DistributedOptimizer would have to wrap each optimizer and
/// still be told about the model to broadcast it.
///
/// \code
///   ember::distributed::init(&argc, &argv);
///   nn::Sequential net = ...;                      // same construction on every rank
///   distributed::DistributedDataParallel ddp(net);  // rank 0's weights now on every rank
///   optim::SGD sgd(net.parameters(), {.lr = 0.1});
///   for (const Batch& batch : loader) {            // loader: a DistributedSampler's shard
///     Tensor loss = loss_fn(ddp(batch.images), batch.labels);
///     sgd.zero_grad();
///     loss.backward();  // returns with every grad averaged over the ranks
///     sgd.step();       // identical on every rank: the weights stay identical
///   }
/// \endcode
///
/// Gradients: parameters are grouped into buckets of about bucket_cap_bytes, in reverse
/// registration order (the order backward produces them). A hook on each parameter
/// (autograd::register_post_accumulate_grad_hook) copies its gradient into its bucket; when a
/// bucket is full it is all-reduced (mean over ranks) with Note [Deterministic all-reduce] in
/// process_group.h, in bucket order on every rank. With overlap, a bucket's all-reduce starts as
/// soon as it is full and is advanced by later hooks while backward computes the rest; without,
/// every bucket starts after the last gradient. When the last parameter's hook has run, the
/// averaged gradients are copied back into each .grad(), so backward returns with them.
///
/// Frozen parameters (requires_grad false at construction, the usual fine-tuning setup) are
/// broadcast from rank 0 like the others but get no hook and no place in a bucket: only the
/// parameters that require grad are averaged, as PyTorch. Every one of those must receive a
/// gradient in every backward (as PyTorch with find_unused_parameters=False); the next forward
/// throws otherwise.
///
/// Buffers (a module's non-trained state, such as BatchNorm's running statistics) are broadcast
/// from rank 0 at construction and, with DDPOptions::broadcast_buffers (the default, as
/// PyTorch's broadcast_buffers=True), again before every forward, in one broadcast per dtype: a
/// module whose forward reads a buffer then computes the same on every rank, and rank 0's
/// updates to it (a training BatchNorm's running statistics) are the ones every rank keeps.
///
/// The result of a step is bitwise the same in every run with the same N and seed, at any thread
/// count.
#pragma once

#include <cstdint>
#include <memory>

#include <ember/core/tensor.h>
#include <ember/nn/module.h>

namespace ember::distributed {

/// Options of DistributedDataParallel.
struct DDPOptions {
  /// Bytes of gradient per bucket (at least one parameter each). PyTorch uses 25 MiB; ember's
  /// models are small, so 1 MiB, which still splits a 784x256 MLP's 0.8 MB of gradients from its
  /// last layer's when made smaller (bench/README.md measures it).
  std::int64_t bucket_cap_bytes = std::int64_t{1} << 20;
  /// Start each bucket's all-reduce during backward, as soon as it is full.
  bool overlap = true;
  /// Broadcast rank 0's buffers before every forward (they are always broadcast at
  /// construction), as PyTorch's broadcast_buffers.
  bool broadcast_buffers = true;
};

/// Where the time of the gradient averaging went, summed over steps (bench/bench_distributed).
struct DDPStats {
  std::int64_t steps = 0;      ///< Backward passes synchronized.
  double hook_seconds = 0.0;   ///< In hooks before the last one: copies, starts, progress.
  double final_seconds = 0.0;  ///< From the last hook to backward's end: the exposed waiting.
};

/// Data-parallel training of a module over the process group, as
/// torch.nn.parallel.DistributedDataParallel (Li et al.\ 2020, "PyTorch Distributed: Experiences
/// on Accelerating Data Parallel Training"); see this file's documentation.
class DistributedDataParallel {
 public:
  /// Broadcasts rank 0's parameters and buffers to every rank and registers the gradient hooks
  /// on the parameters that require grad.
  ///
  /// The module must outlive this object; the hooks are removed by the destructor.
  /// \throws ember::Error (on every rank if the ranks' modules differ in parameter, frozen
  ///   parameter or buffer count, or in shapes) for a bucket_cap_bytes below 1, a module without
  ///   a parameter that requires grad, a parameter that is not a contiguous float32 tensor, a
  ///   buffer that is not a contiguous float32 or int64 tensor, or before init().
  explicit DistributedDataParallel(nn::Module& module, DDPOptions options = {});
  /// Removes the gradient hooks.
  ~DistributedDataParallel();
  DistributedDataParallel(const DistributedDataParallel&) = delete;
  DistributedDataParallel& operator=(const DistributedDataParallel&) = delete;

  /// module.forward(input), after checking that the previous backward synchronized every
  /// gradient and (with broadcast_buffers) broadcasting rank 0's buffers; shapes and dtypes are
  /// the module's.
  /// \throws ember::Error naming the parameters that got no gradient in the last backward (the
  ///   group is then broken if an all-reduce was in flight), and what the module throws.
  Tensor forward(const Tensor& input);
  /// forward(input).
  Tensor operator()(const Tensor& input) { return forward(input); }
  /// The wrapped module.
  nn::Module& module() { return module_; }

  /// The number of gradient buckets.
  std::int64_t num_buckets() const;
  /// The parameters of bucket b, by index into module.parameters() (frozen ones are in none).
  /// \throws ember::Error if b is not in [0, num_buckets()).
  std::vector<std::int64_t> bucket_parameters(std::int64_t b) const;
  /// The time spent averaging gradients since construction or reset_stats().
  const DDPStats& stats() const;
  /// Zeroes stats().
  void reset_stats();

  struct State;  // shared with the hooks (ddp.cpp)

 private:
  void sync_buffers();

  nn::Module& module_;
  bool broadcast_buffers_;
  std::shared_ptr<State> state_;
};

}  // namespace ember::distributed
