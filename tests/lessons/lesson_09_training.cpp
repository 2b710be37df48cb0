// Lesson 9: a whole tiny training run.
//
// Everything so far, in the loop every model is trained with:
//   for each epoch, for each mini-batch (x, y):
//     zero_grad();  loss = cross_entropy(model(x), y);  loss.backward();  optimizer.step();
// The problem: K = 3 classes of points in the plane, each a small cloud (noise 0.3) around its
// own centre on a circle of radius 2, 120 degrees apart. The clouds are far apart, so a linear
// classifier (softmax regression: one Linear(2, 3) layer) can separate them perfectly, and we
// assert that it does: 100 % accuracy on the training set. Everything random comes from
// ember::Generator with a fixed seed, so the run is exactly reproducible.
// Evaluation runs under a NoGradGuard: it needs no gradients, so no graph is built.
//
// Step into: the loop below; then optim/src/sgd.cpp (SGD::step), nn/src/functional/loss.cpp
// (cross_entropy), nn/src/functional/linear.cpp (linear), autograd/src/engine.cpp (backward).
#include <catch2/catch.hpp>

#include <cmath>

#include <ember/autograd/grad_mode.h>
#include <ember/autograd/ops.h>
#include <ember/core/generator.h>
#include <ember/nn/functional.h>
#include <ember/nn/linear.h>
#include <ember/optim/sgd.h>

using namespace ember;
namespace F = ember::nn::functional;

namespace {
constexpr std::int64_t N = 60;  // examples
constexpr std::int64_t D = 2;   // features: a point (x, y)
constexpr std::int64_t K = 3;   // classes

struct Dataset {
  Tensor x;  // [N, D] float32
  Tensor y;  // [N] int64 class indices
};

// Example i belongs to class i % K (so every mini-batch holds every class), at
// centre_k + 0.3 * noise, centre_k = 2 (cos(2 pi k / 3), sin(2 pi k / 3)).
Dataset make_clouds(Generator& gen) {
  std::vector<float> points;
  std::vector<std::int64_t> labels;
  for (std::int64_t i = 0; i < N; ++i) {
    const std::int64_t k = i % K;
    const double angle = 2.0 * M_PI * static_cast<double>(k) / static_cast<double>(K);
    points.push_back(static_cast<float>(2.0 * std::cos(angle) + 0.3 * gen.normal()));
    points.push_back(static_cast<float>(2.0 * std::sin(angle) + 0.3 * gen.normal()));
    labels.push_back(k);
  }
  return {from_vector(points, {N, D}), from_vector(labels, {N})};
}

double accuracy(nn::Linear& model, const Dataset& data) {
  NoGradGuard no_grad;
  Tensor predicted = model(data.x).argmax(1);  // [N] int64: the most likely class
  const auto correct = (predicted == data.y).sum().item<std::int64_t>();
  return static_cast<double>(correct) / static_cast<double>(N);
}

float full_loss(nn::Linear& model, const Dataset& data) {
  NoGradGuard no_grad;
  return F::cross_entropy(model(data.x), data.y).item<float>();
}

struct RunResult {
  double accuracy_before = 0, accuracy_after = 0;
  float loss_before = 0, loss_after = 0;     // over the whole training set
  std::vector<float> epoch_losses;           // mean loss over each epoch's mini-batches
  std::vector<std::int64_t> centre_classes;  // what the trained model says at the 3 centres
};

RunResult train(std::uint64_t seed) {
  Generator gen(seed);
  const Dataset data = make_clouds(gen);
  nn::Linear model(D, K, /*has_bias=*/true, gen);
  optim::SGD sgd(model.parameters(), {.lr = 0.5});
  constexpr std::int64_t batch = 20;
  RunResult run;
  run.accuracy_before = accuracy(model, data);
  run.loss_before = full_loss(model, data);
  for (int epoch = 0; epoch < 30; ++epoch) {
    float total = 0.0f;
    for (std::int64_t start = 0; start < N; start += batch) {
      Tensor x = data.x.narrow(0, start, batch);  // a view: no copy
      Tensor y = data.y.narrow(0, start, batch);
      sgd.zero_grad();                              // lesson 4
      Tensor loss = F::cross_entropy(model(x), y);  // lesson 7
      loss.backward();                              // lessons 2, 3, 5, 6
      sgd.step();                                   // lesson 8
      total += loss.item<float>();
    }
    run.epoch_losses.push_back(total / static_cast<float>(N / batch));
  }
  run.accuracy_after = accuracy(model, data);
  run.loss_after = full_loss(model, data);
  NoGradGuard no_grad;
  Tensor centres =
      from_vector(std::vector<float>{2, 0, -1, std::sqrt(3.0f), -1, -std::sqrt(3.0f)}, {K, D});
  run.centre_classes = model(centres).argmax(1).to_vector<std::int64_t>();
  return run;
}
}  // namespace

TEST_CASE("Lesson 9: softmax regression learns three separable clouds", "[lesson9]") {
  const RunResult run = train(/*seed=*/9);

  SECTION("before training the model is no better than a guess") {
    CHECK(run.accuracy_before < 0.5);  // a guess gets 1/3 right
    // Linear's default init (PyTorch's: weights and biases in +-1/sqrt(2) here) moves the logits
    // of a point at radius 2 by a few units at most, so the loss is of the order of
    // ln 3 = 1.0986 (p = 1/3 each): 2.0 here, where training ends below 0.05.
    CHECK(run.loss_before > 0.9f);
    CHECK(run.loss_before < 3.0f);
  }

  SECTION("the loss goes down") {
    REQUIRE(run.epoch_losses.size() == 30);
    CHECK(run.epoch_losses.back() < run.epoch_losses.front() / 10);
    CHECK(run.loss_after < 0.05f);
  }

  SECTION("after training every point is classified correctly") {
    CHECK(run.accuracy_after == 1.0);
    CHECK(run.centre_classes == std::vector<std::int64_t>{0, 1, 2});
  }
}

TEST_CASE("Lesson 9: a fixed seed makes the run reproducible", "[lesson9]") {
  const RunResult a = train(9), b = train(9);
  CHECK(a.epoch_losses == b.epoch_losses);  // bit for bit
}
