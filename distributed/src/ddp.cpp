// DistributedDataParallel: the broadcast at construction, the buckets, and the hooks that
// average gradients during backward.
#include <ember/distributed/ddp.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include <ember/autograd/hooks.h>
#include <ember/core/error.h>
#include <ember/distributed/process_group.h>

#include "comm.h"

namespace ember::distributed {

namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}
}  // namespace

struct Bucket {
  std::vector<std::int64_t> params;  // indices into State::params
  Tensor flat;                       // float32 [total numel of params]
  std::int64_t pending = 0;          // parameters whose gradient has not arrived this step
  detail::OrderedAllReduce reduce;
};

struct DistributedDataParallel::State {
  // The parameters that require grad (the others are broadcast once and never averaged).
  std::vector<std::string> names;
  std::vector<Tensor> params;
  std::vector<std::int64_t> module_index;  // per parameter: its index in module.parameters()
  std::vector<std::int64_t> bucket_of;     // per parameter
  std::vector<std::int64_t> offset_of;     // per parameter, in its bucket's flat
  std::vector<bool> arrived;               // per parameter, this step
  std::deque<Bucket> buckets;  // bucket 0 holds the last parameters (a deque: Bucket cannot move)
  std::vector<autograd::HookId> hooks;  // per parameter
  bool overlap = true;
  std::int64_t arrived_count = 0;
  std::size_t next_to_start = 0;  // buckets start strictly in order, the same on every rank
  DDPStats stats;

  void on_grad(std::int64_t i, const Tensor& param);
  void start_ready_buckets();
  void finish();
};

void DistributedDataParallel::State::start_ready_buckets() {
  while (next_to_start < buckets.size() && buckets[next_to_start].pending == 0) {
    Bucket& b = buckets[next_to_start++];
    b.reduce.start(b.flat.data_ptr<float>(), b.flat.numel(), /*mean=*/true,
                   "DistributedDataParallel gradient all_reduce");
  }
}

void DistributedDataParallel::State::on_grad(std::int64_t i, const Tensor& param) {
  const auto index = static_cast<std::size_t>(i);
  EMBER_CHECK(!arrived[index], "DistributedDataParallel: parameter '", names[index],
              "' got two gradients in one backward");
  const auto start = Clock::now();
  Bucket& b = buckets[static_cast<std::size_t>(bucket_of[index])];
  b.flat.narrow(0, offset_of[index], param.numel()).view(param.sizes()).copy_(param.grad());
  arrived[index] = true;
  ++arrived_count;
  --b.pending;
  if (arrived_count == static_cast<std::int64_t>(params.size())) {
    stats.hook_seconds += seconds_since(start);
    const auto final_start = Clock::now();
    finish();
    stats.final_seconds += seconds_since(final_start);
    return;
  }
  if (overlap) {
    start_ready_buckets();
    // MPI advances a nonblocking collective only inside MPI calls: poke the ones in flight.
    // In bucket order, stopping at the first still scattering (Note [Deterministic all-reduce]).
    for (std::size_t k = 0; k < next_to_start; ++k) {
      if (!buckets[k].reduce.active()) continue;
      buckets[k].reduce.progress();
      if (buckets[k].reduce.scattering()) break;
    }
  }
  stats.hook_seconds += seconds_since(start);
}

void DistributedDataParallel::State::finish() {
  start_ready_buckets();  // without overlap: all of them, now
  for (Bucket& b : buckets) b.reduce.wait();
  for (std::size_t i = 0; i < params.size(); ++i) {
    const Bucket& b = buckets[static_cast<std::size_t>(bucket_of[i])];
    Tensor grad = params[i].grad();  // a handle: copy_ writes into the grad itself
    grad.copy_(b.flat.narrow(0, offset_of[i], params[i].numel()).view(params[i].sizes()));
  }
  for (Bucket& b : buckets) b.pending = static_cast<std::int64_t>(b.params.size());
  std::fill(arrived.begin(), arrived.end(), false);
  arrived_count = 0;
  next_to_start = 0;
  ++stats.steps;
}

DistributedDataParallel::DistributedDataParallel(nn::Module& module, DDPOptions options)
    : module_(module),
      broadcast_buffers_(options.broadcast_buffers),
      state_(std::make_shared<State>()) {
  const char* op = "DistributedDataParallel";
  detail::comm(op);  // throws if init() has not run
  EMBER_CHECK(options.bucket_cap_bytes >= 1, op, ": bucket_cap_bytes must be positive, got ",
              options.bucket_cap_bytes);
  State& s = *state_;
  s.overlap = options.overlap;
  const auto named = module.named_parameters();
  const auto buffers = module.named_buffers();
  for (std::size_t i = 0; i < named.size(); ++i) {
    if (!named[i].second.requires_grad()) continue;  // frozen: not averaged, as PyTorch
    s.names.push_back(named[i].first);
    s.params.push_back(named[i].second);
    s.module_index.push_back(static_cast<std::int64_t>(i));
  }
  // Every rank must hold the same module: the counts of parameters, of those that require grad
  // and of buffers first, then each tensor's shape (checked by broadcast on every rank), then
  // rank 0's values -- of every parameter, frozen ones included, and of every buffer.
  const auto all = static_cast<std::int64_t>(named.size());
  const auto count = static_cast<std::int64_t>(s.params.size());
  const auto buffer_count = static_cast<std::int64_t>(buffers.size());
  const std::int64_t totals[3] = {all_reduce_sum(all), all_reduce_sum(count),
                                  all_reduce_sum(buffer_count)};
  EMBER_CHECK(totals[0] == all * world_size() && totals[1] == count * world_size() &&
                  totals[2] == buffer_count * world_size(),
              detail::where(op), ": the ranks' modules differ: this rank has ", all,
              " parameters (", count, " requiring grad) and ", buffer_count,
              " buffers, the ranks together ", totals[0], " (", totals[1], ") and ", totals[2],
              "; build the same model, with the same frozen parameters, on every rank");
  EMBER_CHECK(count > 0, op, ": the module has no parameter that requires grad (", all,
              " parameters, all frozen): there is nothing to average");
  for (const auto& [name, param] : named) {
    EMBER_CHECK(param.dtype() == kFloat32 && param.is_contiguous(), op, ": parameter '", name,
                "' must be a contiguous float32 tensor");
    Tensor t = param;
    broadcast(t, 0);
  }
  for (const auto& [name, buffer] : buffers) {
    EMBER_CHECK((buffer.dtype() == kFloat32 || buffer.dtype() == kInt64) && buffer.is_contiguous(),
                op, ": buffer '", name, "' must be a contiguous float32 or int64 tensor, got ",
                buffer.dtype(), buffer.is_contiguous() ? "" : " (not contiguous)");
    Tensor t = buffer;
    broadcast(t, 0);
  }

  // Buckets over the parameters in reverse order, each up to bucket_cap_bytes.
  s.bucket_of.assign(s.params.size(), 0);
  s.offset_of.assign(s.params.size(), 0);
  std::int64_t bytes = 0;
  for (std::int64_t i = count - 1; i >= 0; --i) {
    const std::int64_t param_bytes = s.params[static_cast<std::size_t>(i)].numel() * 4;
    if (s.buckets.empty() ||
        (!s.buckets.back().params.empty() && bytes + param_bytes > options.bucket_cap_bytes)) {
      s.buckets.emplace_back();
      bytes = 0;
    }
    s.buckets.back().params.push_back(i);
    bytes += param_bytes;
  }
  for (std::size_t b = 0; b < s.buckets.size(); ++b) {
    std::int64_t offset = 0;
    for (std::int64_t i : s.buckets[b].params) {
      s.bucket_of[static_cast<std::size_t>(i)] = static_cast<std::int64_t>(b);
      s.offset_of[static_cast<std::size_t>(i)] = offset;
      offset += s.params[static_cast<std::size_t>(i)].numel();
    }
    s.buckets[b].flat = zeros({offset});
    s.buckets[b].pending = static_cast<std::int64_t>(s.buckets[b].params.size());
  }
  s.arrived.assign(s.params.size(), false);

  // The hooks hold the state weakly: a hook left behind by a destroyed wrapper does nothing.
  std::weak_ptr<State> weak = state_;
  for (std::size_t i = 0; i < s.params.size(); ++i) {
    const auto index = static_cast<std::int64_t>(i);
    s.hooks.push_back(autograd::register_post_accumulate_grad_hook(
        s.params[i], [weak, index](const Tensor& param) {
          if (auto state = weak.lock()) state->on_grad(index, param);
        }));
  }
}

DistributedDataParallel::~DistributedDataParallel() {
  for (std::size_t i = 0; i < state_->params.size(); ++i)
    autograd::remove_post_accumulate_grad_hook(state_->params[i], state_->hooks[i]);
}

Tensor DistributedDataParallel::forward(const Tensor& input) {
  State& s = *state_;
  if (s.arrived_count > 0) {
    std::string missing;
    for (std::size_t i = 0; i < s.params.size(); ++i)
      if (!s.arrived[i]) missing += (missing.empty() ? "'" : ", '") + s.names[i] + "'";
    // A bucket already in flight will never complete its pairing on the other ranks' side in
    // step with ours: the group is no longer usable.
    for (const Bucket& b : s.buckets)
      if (b.reduce.active()) detail::mark_broken();
    throw Error(detail::where("DistributedDataParallel") +
                ": the last backward gave no gradient to " + missing +
                "; every parameter must get a gradient in every backward");
  }
  if (broadcast_buffers_) sync_buffers();
  return module_.forward(input);
}

void DistributedDataParallel::sync_buffers() {
  // Rank 0's buffers, in one broadcast per dtype: every buffer of that dtype packed into one
  // flat tensor (the shapes were checked alike on every rank at construction).
  const auto buffers = module_.buffers();
  if (buffers.empty()) return;
  for (const Dtype dtype : {kFloat32, kInt64}) {
    std::int64_t total = 0;
    for (const Tensor& b : buffers)
      if (b.dtype() == dtype) total += b.numel();
    if (total == 0) continue;
    Tensor flat = empty({total}, dtype);
    std::int64_t offset = 0;
    for (const Tensor& b : buffers) {
      if (b.dtype() != dtype) continue;
      flat.narrow(0, offset, b.numel()).view(b.sizes()).copy_(b);
      offset += b.numel();
    }
    broadcast(flat, 0);
    if (rank() == 0) continue;
    offset = 0;
    for (const Tensor& b : buffers) {
      if (b.dtype() != dtype) continue;
      Tensor target = b;  // a handle: copy_ writes into the buffer itself
      target.copy_(flat.narrow(0, offset, b.numel()).view(b.sizes()));
      offset += b.numel();
    }
  }
}

std::int64_t DistributedDataParallel::num_buckets() const {
  return static_cast<std::int64_t>(state_->buckets.size());
}

std::vector<std::int64_t> DistributedDataParallel::bucket_parameters(std::int64_t b) const {
  EMBER_CHECK(b >= 0 && b < num_buckets(), "DistributedDataParallel::bucket_parameters: bucket ", b,
              " of ", num_buckets());
  std::vector<std::int64_t> out;
  for (std::int64_t i : state_->buckets[static_cast<std::size_t>(b)].params)
    out.push_back(state_->module_index[static_cast<std::size_t>(i)]);
  return out;
}

const DDPStats& DistributedDataParallel::stats() const {
  return state_->stats;
}

void DistributedDataParallel::reset_stats() {
  state_->stats = DDPStats{};
}

}  // namespace ember::distributed
