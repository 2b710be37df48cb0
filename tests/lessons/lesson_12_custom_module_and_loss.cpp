// Lesson 12: your own module and your own loss, written as libtorch users write them.
//
// A module is a class deriving from nn::Module. Its layers are members in the holder form,
// `nn::Linear fc1{nullptr};`, assigned in the constructor from register_module: registration is
// what puts a layer's parameters into parameters() (so the optimizer and checkpoints see them).
// An activation with no parameters is a module with just a forward. A loss is a module whose
// forward takes (input, target). Here:
//   Swish(x) = x * sigmoid(x)                              (a custom activation)
//   HingeLoss(s, y) = mean_i sum_{k != y_i} max(0, 1 + s_ik - s_iy_i)   (multi-class hinge)
// The PyTorch lines they mirror are quoted above each piece.
//
// Step into: nn/src/module.cpp (register_module, named_parameters), autograd/src/ops/math.cpp
// (clamp_min: the hinge's max(0, .)), autograd/src/ops/indexing.cpp (gather).
#include <catch2/catch.hpp>

#include <sstream>

#include "support/gradcheck.h"

#include <ember/autograd/grad_mode.h>
#include <ember/autograd/ops.h>
#include <ember/core/generator.h>
#include <ember/datasets/mnist.h>
#include <ember/nn/linear.h>
#include <ember/optim/sgd.h>

using namespace ember;
using namespace ember::indexing;
using Ts = std::vector<Tensor>;

namespace {

// class Swish(nn.Module):
//     def forward(self, x):
//         return x * torch.sigmoid(x)
struct Swish : nn::Module {
  Tensor forward(const Tensor& x) override { return x * x.sigmoid(); }
};

// class HingeLoss(nn.Module):
//     def __init__(self, margin=1.0):
//         super().__init__(); self.margin = margin
//     def forward(self, scores, target):
//         true = scores.gather(1, target.unsqueeze(1))
//         loss = (self.margin + scores - true).clamp_min(0)
//         loss = loss.masked_fill(F.one_hot(target, scores.shape[1]).bool(), 0)
//         return loss.sum(1).mean()
struct HingeLoss : nn::Module {
  explicit HingeLoss(double margin_ = 1.0) : margin(margin_) {}
  Tensor forward(const Tensor& scores, const Tensor& target) {
    const Tensor true_score = scores.gather(1, target.unsqueeze(1));         // [N, 1]
    Tensor loss = (margin + scores - true_score).clamp_min(0);               // [N, K]
    const Tensor is_target = arange(scores.size(1)) == target.unsqueeze(1);  // one-hot mask
    return loss.masked_fill(is_target, 0).sum(1).mean();
  }
  double margin;
};

// class Net(nn.Module):
//     def __init__(self):
//         super().__init__()
//         self.fc1 = nn.Linear(784, 64); self.act = Swish(); self.fc2 = nn.Linear(64, 10)
//     def forward(self, x):
//         return self.fc2(self.act(self.fc1(x.flatten(1))))
struct Net : nn::Module {
  nn::Linear fc1{nullptr}, fc2{nullptr};
  Swish act;
  Net() {
    fc1 = register_module("fc1", nn::Linear(784, 64));
    act = register_module("act", Swish());
    fc2 = register_module("fc2", nn::Linear(64, 10));
  }
  Tensor forward(const Tensor& x) override { return fc2(act(fc1(x.flatten(1)))); }
};

}  // namespace

TEST_CASE("Lesson 12: a custom activation and a custom loss", "[lessons][lesson12]") {
  SECTION("forward") {
    // Swish()(torch.tensor([0., 1.])) -> tensor([0.0000, 0.7311])  (1 * sigmoid(1))
    Swish swish;
    CHECK(swish.type_name() == "Swish");  // the name comes from the class
    const Tensor s = swish(tensor({0.f, 1.f}));
    CHECK(s.at<float>({0}) == 0.0f);
    CHECK(s.at<float>({1}) == Approx(0.7311).margin(1e-4));
    // HingeLoss()(torch.tensor([[3., 1., 2.5], [0., 0., 0.]]), torch.tensor([0, 2]))
    //   row 0: max(0, 1 + 1 - 3) + max(0, 1 + 2.5 - 3) = 0 + 0.5
    //   row 1: max(0, 1 + 0 - 0) * 2 = 2          -> mean (0.5 + 2) / 2 = 1.25
    HingeLoss hinge;
    const Tensor scores = tensor({{3.f, 1.f, 2.5f}, {0.f, 0.f, 0.f}});
    CHECK(hinge.forward(scores, tensor({0, 2})).item<float>() == 1.25f);
  }
  SECTION("backward") {
    // Each active margin term pushes its wrong class down by 1/N and the true class up by 1/N.
    Tensor scores = tensor({{3.f, 1.f, 2.5f}, {0.f, 0.f, 0.f}}).requires_grad_();
    HingeLoss().forward(scores, tensor({0, 2})).backward();
    CHECK(scores.grad().to_vector<float>() ==
          std::vector<float>{-0.5f, 0.f, 0.5f, 0.5f, 0.5f, -1.0f});
    Generator gen(3);
    Tensor s = randn({4, 5}, gen).requires_grad_();
    CHECK_GRADCHECK([](const Ts& t) { return HingeLoss().forward(t[0], tensor({0, 4, 2, 2})); }, s);
    CHECK_GRADCHECK([](const Ts& t) { return Swish()(t[0]); }, s);
  }
}

TEST_CASE("Lesson 12: a custom module trains with a custom loss", "[lessons][lesson12]") {
  manual_seed(0);
  Net net;
  // Registered layers are what parameters() sees: 784*64 + 64 + 64*10 + 10.
  std::int64_t count = 0;
  for (const Tensor& p : net.parameters()) count += p.numel();
  CHECK(count == 784 * 64 + 64 + 64 * 10 + 10);
  std::ostringstream printed;
  printed << net;
  CHECK(printed.str() ==
        "Net(\n  (fc1): Linear(in_features=784, out_features=64, bias=true)\n"
        "  (act): Swish()\n"
        "  (fc2): Linear(in_features=64, out_features=10, bias=true)\n)");

  datasets::FashionMNIST train(EMBER_TEST_DATA_DIR "/fashion-mnist-small", datasets::Split::Train);
  const Tensor x = train.images().to(kFloat32) / 255.0, y = train.labels();
  // optimizer = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
  optim::SGD opt(net.parameters(), {.lr = 0.05, .momentum = 0.9});
  HingeLoss loss_fn;
  const double before = loss_fn.forward(net(x), y).item<double>();
  for (int epoch = 0; epoch < 5; ++epoch) {
    for (std::int64_t start = 0; start < 600; start += 50) {
      opt.zero_grad();
      Tensor loss = loss_fn.forward(net(x.index({Slice(start, start + 50)})),
                                    y.index({Slice(start, start + 50)}));
      loss.backward();
      opt.step();
    }
  }
  NoGradGuard no_grad;
  const double after = loss_fn.forward(net(x), y).item<double>();
  const double acc = ((net(x).argmax(1) == y).sum() / 600.0).item<double>();
  INFO("hinge loss " << before << " -> " << after << ", train accuracy " << acc);
  CHECK(after < before / 2);
  // Linear's init draws PyTorch's numbers (Note [PyTorch's draws]), so this run starts where
  // PyTorch's does after torch.manual_seed(0), and PyTorch's run ends at 0.607: seed 0 is an
  // unlucky start (seeds 1-9 give 0.73-0.83 in PyTorch).
  CHECK(acc == Approx(0.607).margin(0.02));
}
