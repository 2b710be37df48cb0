#include <ember/ember.h>
#include <iostream>

int main() {
  ember::Generator gen(0);
  ember::Tensor x = ember::randn({64, 4}, gen);                       // 64 points in 4-d
  ember::Tensor y = (x.sum(1) > ember::zeros({})).to(ember::kInt64);  // class: is the sum > 0?
  ember::nn::Linear net(4, 2, /*bias=*/true, gen);
  ember::optim::SGD opt(net.parameters(), {.lr = 0.5});
  for (int step = 0; step < 200; ++step) {
    opt.zero_grad();
    ember::Tensor loss = ember::nn::functional::cross_entropy(net(x), y);
    loss.backward();
    opt.step();
  }
  ember::Tensor accuracy = (net(x).argmax(1) == y).to(ember::kFloat32).mean();
  std::cout << net << "\naccuracy: " << accuracy.item<float>() << "\n";
  return accuracy.item<float>() > 0.95f ? 0 : 1;
}
