// The model factory and the optimizer: model.h.
//
// Note [d2l's models and settings]
// Each model is built as the PyTorch edition of d2l builds it (version 0.17, whose chapter
// numbers the issue and --help use), with the settings it trains it with:
//   softmax      3.7  Sequential(Flatten(), Linear(784, 10)); init_weights: normal(0, 0.01) on
//                     Linear weights; SGD lr 0.1, batch 256, 10 epochs.
//   mlp          4.3  Flatten, Linear(784, 256), ReLU, Linear(256, 10); same init and settings.
//   mlp-dropout  4.6  (5.6 in d2l 1.0) Flatten, Linear(784, 256), ReLU, Dropout(0.2),
//                     Linear(256, 256), ReLU, Dropout(0.5), Linear(256, 10); normal(0, 0.01);
//                     lr 0.5, batch 256, 10 epochs.
//   lenet        6.6  (7.6) Conv2d(1, 6, 5, padding=2), Sigmoid, AvgPool2d(2, 2), Conv2d(6, 16, 5),
//                     Sigmoid, AvgPool2d(2, 2), Flatten, Linear(400, 120), Sigmoid,
//                     Linear(120, 84), Sigmoid, Linear(84, 10); train_ch6's init: xavier_uniform_
//                     on every Conv2d and Linear weight (biases keep their defaults); lr 0.9,
//                     batch 256, 10 epochs.
//   lenet-bn     7.5  (8.5) BatchNorm after each convolution and hidden Linear, BEFORE its
//                     sigmoid, and no padding on the first convolution (so Linear(256, 120)):
//                     Conv2d(1, 6, 5), BatchNorm2d(6), Sigmoid, AvgPool2d(2, 2), Conv2d(6, 16, 5),
//                     BatchNorm2d(16), Sigmoid, AvgPool2d(2, 2), Flatten, Linear(256, 120),
//                     BatchNorm1d(120), Sigmoid, Linear(120, 84), BatchNorm1d(84), Sigmoid,
//                     Linear(84, 10); train_ch6's xavier init; lr 1.0, batch 256, 10 epochs.
//                     (d2l 1.0 trains its BNLeNet with lr 0.1 and batch 128 through its Trainer;
//                     the app keeps 0.17's settings, which train_ch6 shares with lenet.)
// The layers are constructed first, in order, each drawing PyTorch's default init from the
// generator, then the init function is applied in module order, as net.apply(init_weights) does:
// so --seed S gives lenet and lenet-bn the weights PyTorch's code gets after
// torch.manual_seed(S) (Note [PyTorch's draws] in core/include/ember/core/generator.h).
#include "model.h"

#include <sstream>
#include <utility>

#include "json.h"

namespace app {

namespace nn = ember::nn;
namespace optim = ember::optim;

const std::vector<ModelSpec>& models() {
  static const std::vector<ModelSpec> specs = {
      {"softmax", "Flatten-Linear(784,10)", "d2l 3.7", 0.1, 256, 10},
      {"mlp", "Flatten-Linear(784,256)-ReLU-Linear(256,10)", "d2l 4.3", 0.1, 256, 10},
      {"mlp-dropout",
       "Flatten-Linear(784,256)-ReLU-Dropout(0.2)-Linear(256,256)-ReLU-Dropout(0.5)-"
       "Linear(256,10)",
       "d2l 4.6/5.6", 0.5, 256, 10},
      {"lenet",
       "Conv2d(1,6,5,padding=2)-Sigmoid-AvgPool2d(2)-Conv2d(6,16,5)-Sigmoid-AvgPool2d(2)-Flatten-"
       "Linear(400,120)-Sigmoid-Linear(120,84)-Sigmoid-Linear(84,10)",
       "d2l 6.6/7.6", 0.9, 256, 10},
      {"lenet-bn",
       "Conv2d(1,6,5)-BatchNorm2d(6)-Sigmoid-AvgPool2d(2)-Conv2d(6,16,5)-BatchNorm2d(16)-Sigmoid-"
       "AvgPool2d(2)-Flatten-Linear(256,120)-BatchNorm1d(120)-Sigmoid-Linear(120,84)-"
       "BatchNorm1d(84)-Sigmoid-Linear(84,10)",
       "d2l 7.5/8.5", 1.0, 256, 10},
  };
  return specs;
}

std::vector<std::string> model_names() {
  std::vector<std::string> names;
  for (const ModelSpec& m : models()) names.push_back(m.name);
  return names;
}

const ModelSpec& model_spec(const std::string& name) {
  std::string known;
  for (const ModelSpec& m : models()) {
    if (m.name == name) return m;
    known += (known.empty() ? "" : ", ") + m.name;
  }
  throw UsageError("--model " + name + " is not a model this program knows (" + known + ")");
}

nn::Sequential make_model(const std::string& name, std::int64_t height, std::int64_t width,
                          std::int64_t classes, ember::Generator& gen) {
  (void)model_spec(name);  // refuses an unknown name
  const std::int64_t inputs = height * width;
  nn::Sequential net;
  bool xavier = false;  // Note [d2l's models and settings]
  // One push_back per statement, so the layers draw their default init in order, as PyTorch's do:
  // the arguments of one call, nn::Sequential(a, b, c), are constructed in an order C++ leaves
  // unspecified (GCC: the last first).
  auto add = [&net](auto&& module) {
    net.push_back(std::forward<decltype(module)>(module));
  };
  if (name == "softmax") {
    add(nn::Flatten());
    add(nn::Linear(inputs, classes, true, gen));
  } else if (name == "mlp") {
    add(nn::Flatten());
    add(nn::Linear(inputs, 256, true, gen));
    add(nn::ReLU());
    add(nn::Linear(256, classes, true, gen));
  } else if (name == "mlp-dropout") {
    add(nn::Flatten());
    add(nn::Linear(inputs, 256, true, gen));
    add(nn::ReLU());
    add(nn::Dropout(0.2));
    add(nn::Linear(256, 256, true, gen));
    add(nn::ReLU());
    add(nn::Dropout(0.5));
    add(nn::Linear(256, classes, true, gen));
  } else if (name == "lenet") {
    // 28x28 -> conv 5 pad 2: 28 -> pool: 14 -> conv 5: 10 -> pool: 5; 16 * 5 * 5 = 400.
    const std::int64_t h2 = (height / 2 - 4) / 2, w2 = (width / 2 - 4) / 2;
    add(nn::Conv2d(nn::Conv2dOptions(1, 6, 5).padding(2), gen));
    add(nn::Sigmoid());
    add(nn::AvgPool2d(2));
    add(nn::Conv2d(6, 16, 5, gen));
    add(nn::Sigmoid());
    add(nn::AvgPool2d(2));
    add(nn::Flatten());
    add(nn::Linear(16 * h2 * w2, 120, true, gen));
    add(nn::Sigmoid());
    add(nn::Linear(120, 84, true, gen));
    add(nn::Sigmoid());
    add(nn::Linear(84, classes, true, gen));
    xavier = true;
  } else {  // lenet-bn
    // 28x28 -> conv 5: 24 -> pool: 12 -> conv 5: 8 -> pool: 4; 16 * 4 * 4 = 256.
    const std::int64_t h2 = ((height - 4) / 2 - 4) / 2, w2 = ((width - 4) / 2 - 4) / 2;
    add(nn::Conv2d(1, 6, 5, gen));
    add(nn::BatchNorm2d(6));
    add(nn::Sigmoid());
    add(nn::AvgPool2d(2));
    add(nn::Conv2d(6, 16, 5, gen));
    add(nn::BatchNorm2d(16));
    add(nn::Sigmoid());
    add(nn::AvgPool2d(2));
    add(nn::Flatten());
    add(nn::Linear(16 * h2 * w2, 120, true, gen));
    add(nn::BatchNorm1d(120));
    add(nn::Sigmoid());
    add(nn::Linear(120, 84, true, gen));
    add(nn::BatchNorm1d(84));
    add(nn::Sigmoid());
    add(nn::Linear(84, classes, true, gen));
    xavier = true;
  }
  net.apply([&gen, xavier](nn::Module& m) {
    if (auto* linear = dynamic_cast<nn::Linear*>(&m)) {
      if (xavier)
        nn::init::xavier_uniform_(linear->weight, 1.0, gen);
      else
        nn::init::normal_(linear->weight, 0.0, 0.01, gen);
    } else if (auto* conv = dynamic_cast<nn::Conv2d*>(&m)) {
      nn::init::xavier_uniform_(conv->weight, 1.0, gen);
    }
  });
  return net;
}

// --- Optimizer ---

Optimizer::Optimizer(const Settings& s, std::vector<ember::Tensor> params) {
  if (s.optimizer == "adam")
    adam_ = std::make_unique<optim::Adam>(std::move(params),
                                          optim::AdamOptions(s.lr).weight_decay(s.weight_decay));
  else
    sgd_ = std::make_unique<optim::SGD>(
        std::move(params),
        optim::SGDOptions(s.lr).momentum(s.momentum).weight_decay(s.weight_decay));
}

void Optimizer::zero_grad() {
  if (adam_)
    adam_->zero_grad();
  else
    sgd_->zero_grad();
}

void Optimizer::step() {
  if (adam_)
    adam_->step();
  else
    sgd_->step();
}

void Optimizer::set_hyperparameters(const Settings& s) {
  if (adam_) {
    for (auto& group : adam_->param_groups()) group.options.lr(s.lr).weight_decay(s.weight_decay);
  } else {
    for (auto& group : sgd_->param_groups())
      group.options.lr(s.lr).momentum(s.momentum).weight_decay(s.weight_decay);
  }
}

std::string Optimizer::describe() const {
  std::ostringstream out;
  if (adam_) {
    const auto& o = adam_->param_groups().front().options;
    out << "Adam lr " << json::number(o.lr()) << " betas (" << json::number(std::get<0>(o.betas()))
        << ", " << json::number(std::get<1>(o.betas())) << ") eps " << json::number(o.eps())
        << " weight decay " << json::number(o.weight_decay());
  } else {
    const auto& o = sgd_->param_groups().front().options;
    out << "SGD lr " << json::number(o.lr()) << " momentum " << json::number(o.momentum())
        << " weight decay " << json::number(o.weight_decay());
  }
  return out.str();
}

void Optimizer::save(const std::string& path) const {
  if (adam_)
    ember::save(*adam_, path);
  else
    ember::save(*sgd_, path);
}

void Optimizer::load(const std::string& path) {
  if (adam_)
    ember::load(*adam_, path);
  else
    ember::load(*sgd_, path);
}

}  // namespace app
