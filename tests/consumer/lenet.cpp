// LeNet (d2l 7.6, with batch normalization as in d2l 8.5) built by a program outside ember against
// the installed package: trained a few steps with Adam on synthetic images, saved and reloaded in
// both formats (ember's checkpoint, safetensors), and checked to give bitwise-identical outputs in
// eval mode, BatchNorm's running statistics included. Exits nonzero on any failure.
// Usage: lenet [DIR]   (DIR: where the two files are written; the system's temporary directory
// by default)
#include <ember/ember.h>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>

using ember::Tensor;
namespace nn = ember::nn;

struct LeNet : nn::Module {
  nn::Conv2d conv1{nullptr}, conv2{nullptr};
  nn::BatchNorm2d bn1{nullptr}, bn2{nullptr};
  nn::MaxPool2d pool1{nullptr};
  nn::AvgPool2d pool2{nullptr};
  nn::Flatten flatten;  // no parameters: registered only so that it prints
  nn::Linear fc1{nullptr}, fc2{nullptr}, fc3{nullptr};
  nn::Dropout dropout{nullptr};

  LeNet() {
    conv1 = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(1, 6, 5).padding(2)));
    bn1 = register_module("bn1", nn::BatchNorm2d(6));
    pool1 = register_module("pool1", nn::MaxPool2d(2));
    conv2 = register_module("conv2", nn::Conv2d(6, 16, 5));
    bn2 = register_module("bn2", nn::BatchNorm2d(16));
    pool2 = register_module("pool2", nn::AvgPool2d(2));
    flatten = register_module("flatten", nn::Flatten());
    fc1 = register_module("fc1", nn::Linear(16 * 5 * 5, 120));
    dropout = register_module("dropout", nn::Dropout(0.5));
    fc2 = register_module("fc2", nn::Linear(120, 84));
    fc3 = register_module("fc3", nn::Linear(84, 10));
  }
  // [N, 1, 28, 28] -> [N, 6, 14, 14] -> [N, 16, 5, 5] -> [N, 400] -> [N, 10]
  Tensor forward(const Tensor& x) override {
    Tensor h = pool1(bn1(conv1(x)).relu());
    h = flatten(pool2(bn2(conv2(h)).relu()));
    return fc3(fc2(dropout(fc1(h).relu())).relu());
  }
};

// True when a and b have the same shape and the same bits.
bool bitwise_equal(const Tensor& a, const Tensor& b) {
  return a.sizes() == b.sizes() &&
         std::memcmp(a.contiguous().data_ptr<float>(), b.contiguous().data_ptr<float>(),
                     static_cast<std::size_t>(a.numel()) * sizeof(float)) == 0;
}

int main(int argc, char** argv) {
  std::filesystem::path dir = argc > 1 ? argv[1] : std::filesystem::temp_directory_path();
  ember::manual_seed(0);
  // 32 synthetic 28x28 images in 10 classes: noise plus a brightness that grows with the class.
  Tensor y = ember::randint(0, 10, {32});
  Tensor x = ember::randn({32, 1, 28, 28}) + y.to(ember::kFloat32).reshape({32, 1, 1, 1}) * 0.2;

  LeNet net;
  ember::optim::Adam opt(net.parameters(), ember::optim::AdamOptions(1e-3));
  float first = 0, last = 0;
  for (int step = 0; step < 20; ++step) {
    opt.zero_grad();
    Tensor loss = nn::functional::cross_entropy(net(x), y);
    loss.backward();
    opt.step();
    (step == 0 ? first : last) = loss.item<float>();
  }
  std::cout << net << "\nloss: " << first << " -> " << last << "\n";
  bool ok = last < 0.8f * first;

  // Save, then load into fresh models (drawn from other random numbers, so a missed tensor shows).
  net.eval();
  Tensor out = net(x);
  std::string checkpoint = (dir / "lenet.ckpt").string();
  std::string safetensors = (dir / "lenet.safetensors").string();
  ember::save(net, checkpoint);
  ember::save_safetensors(net, safetensors);
  LeNet from_checkpoint, from_safetensors;
  ember::load(from_checkpoint, checkpoint);
  from_safetensors.load_state_dict(ember::load_safetensors(safetensors));
  for (LeNet* loaded : {&from_checkpoint, &from_safetensors}) {
    loaded->eval();
    ok = ok && bitwise_equal(loaded->forward(x), out);
  }
  std::filesystem::remove(checkpoint);
  std::filesystem::remove(safetensors);
  std::cout << (ok ? "ok" : "FAILED") << "\n";
  return ok ? 0 : 1;
}
