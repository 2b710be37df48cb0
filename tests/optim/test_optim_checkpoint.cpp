// ember::save / ember::load for an SGD optimizer: resuming from a checkpoint continues the exact
// trajectory; mismatched or wrong-kind files are rejected with the optimizer unchanged.
#include <catch2/catch.hpp>

#include "support/temp_dir.h"

#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <ember/autograd/ops.h>
#include <ember/core/generator.h>
#include <ember/nn/checkpoint.h>
#include <ember/nn/linear.h>
#include <ember/nn/sequential.h>
#include <ember/optim/optim.h>

using namespace ember;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

using ember::test::TempDir;

namespace {

std::vector<float> flat(const nn::Module& m) {
  std::vector<float> all;
  for (const Tensor& p : m.parameters()) {
    const auto v = p.to_vector<float>();
    all.insert(all.end(), v.begin(), v.end());
  }
  return all;
}

void train_step(nn::Module& net, optim::SGD& sgd, const Tensor& x) {
  sgd.zero_grad();
  Tensor y = net(x);
  (y * y).mean().backward();
  sgd.step();
}

}  // namespace

TEST_CASE("Optimizer checkpoint: resuming continues the exact trajectory", "[optim][checkpoint]") {
  TempDir dir;
  Generator gen(1);
  Tensor x = randn({8, 4}, gen);
  const auto options = optim::SGDOptions(0.05).momentum(0.9).weight_decay(1e-3).nesterov(true);

  nn::Sequential a(nn::Linear(4, 3, true, gen), nn::Linear(3, 2, true, gen));
  optim::SGD sgd_a(a.parameters(), options);
  for (int i = 0; i < 3; ++i) train_step(a, sgd_a, x);
  save(a, dir.file("model.ckpt"));
  save(sgd_a, dir.file("optim.ckpt"));
  sgd_a.param_groups()[0].options.lr(0.05);  // unchanged; loaded below as saved

  // A fresh model and optimizer with other options, restored from the files.
  Generator other(99);
  nn::Sequential b(nn::Linear(4, 3, true, other), nn::Linear(3, 2, true, other));
  optim::SGD sgd_b(b.parameters(), {.lr = 1.0});
  load(b, dir.file("model.ckpt"));
  load(sgd_b, dir.file("optim.ckpt"));
  CHECK(sgd_b.param_groups()[0].options.lr() == 0.05);
  CHECK(sgd_b.param_groups()[0].options.momentum() == 0.9);
  CHECK(sgd_b.param_groups()[0].options.weight_decay() == 1e-3);
  CHECK(sgd_b.param_groups()[0].options.nesterov());
  for (std::size_t i = 0; i < 4; ++i) {
    CHECK(sgd_b.param_groups()[0].momentum_buffers[i].to_vector<float>() ==
          sgd_a.param_groups()[0].momentum_buffers[i].to_vector<float>());
  }
  for (int i = 0; i < 3; ++i) {
    train_step(a, sgd_a, x);
    train_step(b, sgd_b, x);
  }
  CHECK(flat(a) == flat(b));
}

TEST_CASE("Optimizer checkpoint: buffers not yet created load as none", "[optim][checkpoint]") {
  TempDir dir;
  nn::Linear fc(2, 2);
  optim::SGD fresh(fc.parameters(), {.lr = 0.1, .momentum = 0.5});
  save(fresh, dir.file("o.ckpt"));
  optim::SGD trained(fc.parameters(), {.lr = 0.1, .momentum = 0.5});
  fc(ones({1, 2})).sum().backward();
  trained.step();
  REQUIRE(trained.param_groups()[0].momentum_buffers[0].defined());
  load(trained, dir.file("o.ckpt"));
  CHECK(!trained.param_groups()[0].momentum_buffers[0].defined());
}

TEST_CASE("Optimizer checkpoint: mismatches are rejected, the optimizer unchanged",
          "[optim][checkpoint]") {
  TempDir dir;
  const std::string path = dir.file("o.ckpt");
  nn::Linear fc(3, 2);
  optim::SGD sgd(fc.parameters(), {.lr = 0.1, .momentum = 0.5});
  fc(ones({1, 3})).sum().backward();
  sgd.step();
  const auto buffer_before = sgd.param_groups()[0].momentum_buffers[0].to_vector<float>();

  SECTION("a different number of parameters") {
    nn::Linear no_bias(3, 2, false);
    save(optim::SGD(no_bias.parameters(), {.lr = 0.3}), path);
    CHECK_THROWS_WITH(load(sgd, path), Contains("parameter group 0: expected 2 parameters, got 1"));
  }
  SECTION("a different shape") {
    nn::Linear wider(4, 2);
    optim::SGD other(wider.parameters(), {.lr = 0.3, .momentum = 0.5});
    wider(ones({1, 4})).sum().backward();
    other.step();
    save(other, path);
    CHECK_THROWS_WITH(load(sgd, path),
                      Contains("'state.0.0.momentum_buffer': expected shape [2, 3] (its "
                               "parameter's), got [2, 4]"));
  }
  SECTION("more parameter groups in the file") {
    nn::Linear extra(1, 1);
    optim::SGD other({optim::ParamGroup{fc.parameters()}, optim::ParamGroup{extra.parameters()}},
                     {.lr = 0.3});
    save(other, path);
    CHECK_THROWS_WITH(load(sgd, path), Contains("holds 'param_groups.1."));
  }
  SECTION("a module checkpoint is not an optimizer checkpoint") {
    save(fc, path);
    CHECK_THROWS_WITH(load(sgd, path),
                      Contains("is a module checkpoint, expected an optimizer checkpoint"));
    // And the other way round.
    save(sgd, path);
    CHECK_THROWS_WITH(load(fc, path),
                      Contains("is an optimizer checkpoint, expected a module checkpoint"));
  }
  CHECK(sgd.param_groups()[0].options.lr() == 0.1);
  CHECK(sgd.param_groups()[0].momentum_buffers[0].to_vector<float>() == buffer_before);
}

namespace {

template <class Opt>
void adam_train_step(nn::Module& net, Opt& opt, optim::LRScheduler& scheduler, const Tensor& x) {
  opt.zero_grad();
  Tensor y = net(x);
  (y * y).mean().backward();
  opt.step();
  scheduler.step();
}

// Trains 3 steps, saves model, optimizer and scheduler, trains 4 more; a fresh run restored from
// the files trains the same 4 steps: parameters, every state tensor and the lrs are bitwise equal.
template <class Opt, class Scheduler, class Options, class Make>
void check_resume(const Options& options, const Make& make_scheduler) {
  TempDir dir;
  Generator gen(1);
  Tensor x = randn({8, 4}, gen);
  nn::Sequential a(nn::Linear(4, 3, true, gen), nn::Linear(3, 2, true, gen));
  Opt opt_a(a.parameters(), options);
  Scheduler sched_a = make_scheduler(opt_a);
  for (int i = 0; i < 3; ++i) adam_train_step(a, opt_a, sched_a, x);
  save(a, dir.file("model.ckpt"));
  save(opt_a, dir.file("optim.ckpt"));
  save(sched_a, dir.file("sched.ckpt"));
  const auto saved_options = opt_a.param_groups()[0].options;
  for (int i = 0; i < 4; ++i) adam_train_step(a, opt_a, sched_a, x);

  Generator other(99);
  nn::Sequential b(nn::Linear(4, 3, true, other), nn::Linear(3, 2, true, other));
  Opt opt_b(b.parameters(), 0.5);  // other options: all restored from the file
  Scheduler sched_b = make_scheduler(opt_b);
  load(b, dir.file("model.ckpt"));
  load(opt_b, dir.file("optim.ckpt"));
  load(sched_b, dir.file("sched.ckpt"));
  CHECK(sched_b.last_epoch() == 3);
  CHECK(opt_b.param_groups()[0].options == saved_options);
  for (int i = 0; i < 4; ++i) adam_train_step(b, opt_b, sched_b, x);

  const auto bits = [](const std::vector<float>& v) {
    std::vector<std::uint32_t> u(v.size());
    std::memcpy(u.data(), v.data(), v.size() * 4);
    return u;
  };
  CHECK(bits(flat(a)) == bits(flat(b)));
  CHECK(sched_a.get_last_lr() == sched_b.get_last_lr());
  CHECK(sched_a.last_epoch() == sched_b.last_epoch());
  const std::vector<optim::AdamParamState>& sa = opt_a.param_groups()[0].state;
  const std::vector<optim::AdamParamState>& sb = opt_b.param_groups()[0].state;
  REQUIRE(sa.size() == 4);
  for (std::size_t i = 0; i < sa.size(); ++i) {
    CHECK(sa[i].step == 7);
    CHECK(sb[i].step == 7);
    CHECK(bits(sa[i].exp_avg.to_vector<float>()) == bits(sb[i].exp_avg.to_vector<float>()));
    CHECK(bits(sa[i].exp_avg_sq.to_vector<float>()) == bits(sb[i].exp_avg_sq.to_vector<float>()));
    CHECK(sa[i].max_exp_avg_sq.defined() == sb[i].max_exp_avg_sq.defined());
    if (sa[i].max_exp_avg_sq.defined()) {
      CHECK(bits(sa[i].max_exp_avg_sq.to_vector<float>()) ==
            bits(sb[i].max_exp_avg_sq.to_vector<float>()));
    }
  }
}

}  // namespace

TEST_CASE("Optimizer checkpoint: a resumed Adam run is bitwise the uninterrupted one",
          "[optim][checkpoint][adam]") {
  SECTION("Adam with weight decay, StepLR") {
    check_resume<optim::Adam, optim::StepLR>(
        optim::AdamOptions(0.05).weight_decay(1e-3),
        [](optim::Optimizer& o) { return optim::StepLR(o, 2, 0.5); });
  }
  SECTION("AdamW with amsgrad and maximize, CosineAnnealingLR") {
    check_resume<optim::AdamW, optim::CosineAnnealingLR>(
        optim::AdamWOptions(0.05).amsgrad(true).maximize(true).betas({0.8, 0.9}),
        [](optim::Optimizer& o) { return optim::CosineAnnealingLR(o, 3, 0.001); });
  }
}

TEST_CASE("Optimizer checkpoint: Adam state not yet created loads as none",
          "[optim][checkpoint][adam]") {
  TempDir dir;
  nn::Linear fc(2, 2);
  optim::Adam fresh(fc.parameters(), {.lr = 0.1});
  save(fresh, dir.file("o.ckpt"));
  optim::Adam trained(fc.parameters(), {.lr = 0.2, .amsgrad = true});
  fc(ones({1, 2})).sum().backward();
  trained.step();
  REQUIRE(trained.param_groups()[0].state[0].step == 1);
  load(trained, dir.file("o.ckpt"));
  CHECK(trained.param_groups()[0].state[0].step == 0);
  CHECK(!trained.param_groups()[0].state[0].exp_avg.defined());
  CHECK(!trained.param_groups()[0].state[0].max_exp_avg_sq.defined());
  CHECK(trained.param_groups()[0].options == optim::AdamOptions(0.1));
}

TEST_CASE("Optimizer checkpoint: Adam and scheduler mismatches are rejected, nothing changed",
          "[optim][checkpoint][adam]") {
  TempDir dir;
  const std::string path = dir.file("o.ckpt");
  nn::Linear fc(3, 2);
  optim::Adam adam(fc.parameters(), {.lr = 0.1});
  fc(ones({1, 3})).sum().backward();
  adam.step();
  const auto before = adam.param_groups()[0].state[0].exp_avg.to_vector<float>();

  SECTION("an AdamW file") {
    save(optim::AdamW(fc.parameters(), {.lr = 0.3}), path);
    CHECK_THROWS_WITH(load(adam, path), Contains("holds the state of AdamW, not of Adam"));
  }
  SECTION("an SGD file") {
    save(optim::SGD(fc.parameters(), {.lr = 0.3}), path);
    CHECK_THROWS_WITH(load(adam, path), Contains("holds no Adam state"));
  }
  SECTION("a different shape") {
    nn::Linear wider(4, 2);
    optim::Adam other(wider.parameters(), {.lr = 0.3});
    wider(ones({1, 4})).sum().backward();
    other.step();
    save(other, path);
    CHECK_THROWS_WITH(load(adam, path), Contains("'state.0.0.exp_avg': expected shape [2, 3] (its "
                                                 "parameter's), got [2, 4]"));
  }
  SECTION("a scheduler of another class or other arguments") {
    optim::SGD sgd(fc.parameters(), {.lr = 0.3});
    optim::StepLR step(sgd, 2);
    save(step, path);
    optim::CosineAnnealingLR cosine(sgd, 5);
    CHECK_THROWS_WITH(load(cosine, path),
                      Contains("holds the state of a StepLR, not of a CosineAnnealingLR"));
    optim::StepLR other_step(sgd, 3);
    CHECK_THROWS_WITH(load(other_step, path),
                      Contains("whose hyperparameter 0 is 2, this one's is 3"));
    CHECK(other_step.last_epoch() == 0);
  }
  CHECK(adam.param_groups()[0].options.lr() == 0.1);
  CHECK(adam.param_groups()[0].state[0].exp_avg.to_vector<float>() == before);
}
