#include <ember/ember.h>
#include <iostream>

using ember::Tensor;
using namespace ember::indexing;  // Slice, None, Ellipsis

struct Net : ember::nn::Module {
  ember::nn::Linear fc1{nullptr}, fc2{nullptr};  // holders, assigned by register_module
  Net() {
    fc1 = register_module("fc1", ember::nn::Linear(4, 16));
    fc2 = register_module("fc2", ember::nn::Linear(16, 2));
  }
  Tensor forward(const Tensor& x) override { return fc2(fc1(x).relu()); }
};

int main() {
  ember::manual_seed(0);
  Tensor x = ember::randn({64, 4});             // 64 points in 4-d
  Tensor y = (x.sum(1) > 0).to(ember::kInt64);  // class: is the sum > 0?
  Net net;
  ember::optim::SGD opt(net.parameters(), {.lr = 0.5});
  for (int step = 0; step < 200; ++step) {
    opt.zero_grad();
    Tensor loss = ember::nn::functional::cross_entropy(net(x), y);
    loss.backward();
    opt.step();
  }
  Tensor accuracy = (net(x).argmax(1) == y).sum() / 64.0;  // int64 / double: float32, as PyTorch
  Tensor p = net(x).softmax(1).index({Slice(0, 3), 1});    // P(class 1) for the first 3 points
  std::cout << net << "\naccuracy: " << accuracy.item<float>() << "\nP(class 1): " << p << "\n";
  return accuracy.item<float>() > 0.95f ? 0 : 1;
}
