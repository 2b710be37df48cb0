// DistributedDataParallel: rank 0's weights on every rank, gradients averaged in buckets during
// backward, and training equivalent to one process with the same global batch -- bitwise for
// N = 1, within 1e-5 relative for N > 1 (float sums in another order; see
// distributed/README.md), and bitwise repeatable at any thread count and with overlap on or off.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>

#include <ember/autograd/ops.h>
#include <ember/core/generator.h>
#include <ember/core/parallel.h>
#include <ember/datasets/dataloader.h>
#include <ember/distributed/distributed.h>
#include <ember/nn/nn.h>
#include <ember/optim/sgd.h>

using ember::Tensor;
namespace ds = ember::datasets;
namespace dist = ember::distributed;
namespace nn = ember::nn;

namespace {

// 48 random 4x4 images; the class (of 3) depends on the pixels, so there is something to learn.
ds::ImageDataset toy_dataset() {
  const std::int64_t n = 48;
  ember::Generator gen(123);
  Tensor images = ember::empty({n, 4, 4}, ember::kUInt8);
  std::vector<std::int64_t> labels;
  std::uint8_t* px = images.data_ptr<std::uint8_t>();
  for (std::int64_t i = 0; i < n; ++i) {
    int top = 0, bottom = 0;
    for (int j = 0; j < 16; ++j) {
      px[i * 16 + j] = static_cast<std::uint8_t>(gen.randint(0, 256));
      (j < 8 ? top : bottom) += px[i * 16 + j];
    }
    labels.push_back(top > bottom + 100 ? 0 : bottom > top + 100 ? 1 : 2);
  }
  return ds::ImageDataset(images, ember::from_vector(labels, {n}), {"top", "bottom", "even"});
}

nn::Sequential toy_mlp(std::uint64_t seed) {
  ember::Generator gen(seed);
  return nn::Sequential(nn::Flatten(), nn::Linear(16, 8, true, gen), nn::ReLU(),
                        nn::Linear(8, 3, true, gen));
}

struct Run {
  std::vector<double> loss;           // per epoch: sum of per-sample losses / samples (global)
  std::vector<std::int64_t> correct;  // per epoch, global
  std::vector<float> params;          // the final weights, flattened
};

std::vector<float> flat_params(const nn::Module& net) {
  std::vector<float> out;
  for (const Tensor& p : net.parameters())
    for (float v : p.to_vector<float>()) out.push_back(v);
  return out;
}

constexpr std::int64_t kGlobalBatch = 12;
constexpr std::int64_t kEpochs = 3;

// One process, the whole global batch: the reference.
Run train_single(const ds::ImageDataset& data) {
  nn::Sequential net = toy_mlp(0);
  ember::optim::SGD sgd(net.parameters(), {.lr = 0.1, .momentum = 0.9});
  ds::DataLoader loader(data, {.batch_size = kGlobalBatch, .shuffle = true, .seed = 9});
  Run run;
  for (std::int64_t e = 0; e < kEpochs; ++e) {
    double loss_sum = 0;
    std::int64_t correct = 0;
    for (const ds::Batch& b : loader) {
      Tensor logits = net(b.images);
      Tensor loss = nn::functional::cross_entropy(logits, b.labels);
      sgd.zero_grad();
      loss.backward();
      sgd.step();
      loss_sum += static_cast<double>(loss.item<float>()) * static_cast<double>(b.labels.size(0));
      correct += (logits.argmax(1) == b.labels).sum().item<std::int64_t>();
    }
    run.loss.push_back(loss_sum / static_cast<double>(data.size()));
    run.correct.push_back(correct);
  }
  run.params = flat_params(net);
  return run;
}

// N ranks, B / N each. Each rank starts from different weights (seed + rank): the broadcast at
// construction must make them rank 0's.
Run train_ddp(const ds::ImageDataset& data, dist::DDPOptions options) {
  nn::Sequential net = toy_mlp(static_cast<std::uint64_t>(dist::rank()) * 1000);
  dist::DistributedDataParallel ddp(net, options);
  ember::optim::SGD sgd(net.parameters(), {.lr = 0.1, .momentum = 0.9});
  auto sampler = std::make_shared<dist::DistributedSampler>(
      data.size(), dist::DistributedSamplerOptions{.seed = 9});
  ds::DataLoader loader(data, {.batch_size = kGlobalBatch / dist::world_size()}, sampler);
  Run run;
  for (std::int64_t e = 0; e < kEpochs; ++e) {
    sampler->set_epoch(e);
    double loss_sum = 0;
    std::int64_t correct = 0;
    for (const ds::Batch& b : loader) {
      Tensor logits = ddp(b.images);
      Tensor loss = nn::functional::cross_entropy(logits, b.labels);
      sgd.zero_grad();
      loss.backward();
      sgd.step();
      loss_sum += static_cast<double>(loss.item<float>()) * static_cast<double>(b.labels.size(0));
      correct += (logits.argmax(1) == b.labels).sum().item<std::int64_t>();
    }
    run.loss.push_back(dist::all_reduce_sum(loss_sum) / static_cast<double>(data.size()));
    run.correct.push_back(dist::all_reduce_sum(correct));
  }
  CHECK(ddp.stats().steps == kEpochs * loader.num_batches());
  run.params = flat_params(net);
  return run;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

double max_relative_difference(const std::vector<float>& a, const std::vector<float>& b) {
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    worst = std::max(worst, std::abs(static_cast<double>(a[i]) - b[i]) /
                                std::max(1e-3, std::abs(static_cast<double>(b[i]))));
  return worst;
}

}  // namespace

TEST_CASE("DDP broadcasts rank 0's parameters at construction", "[distributed][ddp]") {
  nn::Sequential net = toy_mlp(static_cast<std::uint64_t>(dist::rank()) + 1);
  nn::Sequential rank0 = toy_mlp(1);
  dist::DistributedDataParallel ddp(net);
  CHECK(same_bits(flat_params(net), flat_params(rank0)));
}

TEST_CASE("DDP buckets parameters in reverse order up to the cap", "[distributed][ddp]") {
  nn::Sequential net = toy_mlp(0);  // parameters: 0.weight 1.bias... indices 0..3
  dist::DistributedDataParallel one(net);
  CHECK(one.num_buckets() == 1);
  CHECK(one.bucket_parameters(0) == std::vector<std::int64_t>{3, 2, 1, 0});
  nn::Sequential net2 = toy_mlp(0);
  // 3.bias 12 B, 3.weight 96 B, 1.bias 32 B, 1.weight 512 B: a 128-byte cap groups the first two.
  dist::DistributedDataParallel capped(net2, {.bucket_cap_bytes = 128});
  REQUIRE(capped.num_buckets() == 3);
  CHECK(capped.bucket_parameters(0) == std::vector<std::int64_t>{3, 2});
  CHECK(capped.bucket_parameters(1) == std::vector<std::int64_t>{1});
  CHECK(capped.bucket_parameters(2) == std::vector<std::int64_t>{0});
}

TEST_CASE("DDP trains like one process with the same global batch", "[distributed][ddp]") {
  ds::ImageDataset data = toy_dataset();
  const Run single = train_single(data);
  const Run ddp = train_ddp(data, {.bucket_cap_bytes = 128});
  REQUIRE(ddp.loss.size() == single.loss.size());
  if (dist::world_size() == 1) {
    // One rank: the same batches, the same sums, a mean over one rank: bitwise.
    CHECK(ddp.loss == single.loss);
    CHECK(ddp.correct == single.correct);
    CHECK(same_bits(ddp.params, single.params));
  } else {
    // N ranks: each sums its B / N samples' gradients, then the N partial means are averaged --
    // another order of float additions than one sum over B, so within float rounding only.
    for (std::size_t e = 0; e < single.loss.size(); ++e) {
      INFO("epoch " << e << ": ddp " << ddp.loss[e] << ", single " << single.loss[e]);
      CHECK(std::abs(ddp.loss[e] - single.loss[e]) <= 1e-5 * std::abs(single.loss[e]));
      CHECK(ddp.correct[e] == single.correct[e]);
    }
    CHECK(max_relative_difference(ddp.params, single.params) < 1e-4);
  }
  // Every rank ends with the same bits.
  Tensor mine = ember::from_vector(ddp.params, {static_cast<std::int64_t>(ddp.params.size())});
  Tensor all = dist::all_gather(mine);
  for (int r = 1; r < dist::world_size(); ++r)
    CHECK(std::memcmp(all.select(0, r).data_ptr<float>(), mine.data_ptr<float>(),
                      ddp.params.size() * sizeof(float)) == 0);
}

TEST_CASE("DDP is bitwise repeatable: overlap on or off, 1 or 2 threads", "[distributed][ddp]") {
  ds::ImageDataset data = toy_dataset();
  const int threads = ember::get_num_threads();
  ember::set_num_threads(1);
  const Run base = train_ddp(data, {.bucket_cap_bytes = 128, .overlap = true});
  const Run no_overlap = train_ddp(data, {.bucket_cap_bytes = 128, .overlap = false});
  const Run one_bucket = train_ddp(data, {.overlap = true});
  ember::set_num_threads(2);
  const Run two_threads = train_ddp(data, {.bucket_cap_bytes = 128, .overlap = true});
  ember::set_num_threads(threads);
  for (const Run* other : {&no_overlap, &one_bucket, &two_threads}) {
    CHECK(other->loss == base.loss);
    CHECK(same_bits(other->params, base.params));
  }
}

namespace {
// Uses only its first Linear: the second never gets a gradient.
class OneHeadUsed : public nn::Module {
 public:
  explicit OneHeadUsed(ember::Generator& gen) : Module("OneHeadUsed") {
    used_ = register_module("used", std::make_shared<nn::Linear>(4, 2, true, gen));
    unused_ = register_module("unused", std::make_shared<nn::Linear>(4, 2, true, gen));
  }
  Tensor forward(const Tensor& x) override { return (*used_)(x); }

 private:
  std::shared_ptr<nn::Linear> used_, unused_;
};
}  // namespace

TEST_CASE("DDP refuses a parameter that got no gradient", "[distributed][ddp]") {
  ember::Generator gen(0);
  OneHeadUsed net(gen);
  // One parameter per bucket; the unused ones come first (reverse order), so no all-reduce ever
  // starts and the group stays usable.
  dist::DistributedDataParallel ddp(net, {.bucket_cap_bytes = 1});
  Tensor x = ember::ones({1, 4});
  ddp(x).sum().backward();
  CHECK_THROWS_WITH(ddp(x), "DistributedDataParallel (rank " + std::to_string(dist::rank()) +
                                " of " + std::to_string(dist::world_size()) +
                                "): the last backward gave no gradient to 'unused.weight', "
                                "'unused.bias'; every parameter must get a gradient in every "
                                "backward");
  dist::barrier();
}
