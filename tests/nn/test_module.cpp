// nn::Module and nn::Sequential: the module tree, parameter names, printing as PyTorch prints,
// apply (d2l's net.apply(init_weights)), train/eval and zero_grad.
#include <catch2/catch.hpp>

#include <cmath>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <ember/autograd/ops.h>
#include <ember/core/generator.h>
#include <ember/nn/flatten.h>
#include <ember/nn/init.h>
#include <ember/nn/linear.h>
#include <ember/nn/module.h>
#include <ember/nn/sequential.h>

using namespace ember;
using Catch::Matchers::Contains;

namespace {

std::string printed(const nn::Module& m) {
  std::ostringstream out;
  out << m;
  return out.str();
}

std::vector<std::string> names_of(const nn::Module& m) {
  std::vector<std::string> names;
  for (const auto& [name, p] : m.named_parameters()) names.push_back(name);
  return names;
}

// A user-defined module, as in libtorch's C++ frontend: parameters and children registered by
// name in the constructor.
struct TwoLayer : nn::Module {
  TwoLayer() : Module("TwoLayer") {
    scale = register_parameter("scale", ones({1}));
    fc1 = register_module("fc1", std::make_shared<nn::Linear>(4, 3));
    fc2 = register_module("fc2", std::make_shared<nn::Linear>(3, 2, false));
  }
  Tensor forward(const Tensor& x) override { return fc2->forward(fc1->forward(x)) * scale; }
  Tensor scale;
  std::shared_ptr<nn::Linear> fc1, fc2;
};

struct Empty : nn::Module {
  Empty() : Module("Empty") {}
};

}  // namespace

TEST_CASE("Module: Sequential prints exactly as PyTorch", "[nn][module]") {
  Generator gen(1);
  nn::Sequential net(nn::Flatten(), nn::Linear(784, 10, true, gen));
  // print(nn.Sequential(nn.Flatten(), nn.Linear(784, 10))) in PyTorch, with bias=true spelled
  // the C++ way.
  CHECK(printed(net) ==
        "Sequential(\n"
        "  (0): Flatten(start_dim=1, end_dim=-1)\n"
        "  (1): Linear(in_features=784, out_features=10, bias=true)\n"
        ")");
  CHECK(printed(nn::Linear(3, 2, false)) == "Linear(in_features=3, out_features=2, bias=false)");
  CHECK(printed(nn::Flatten(0, 2)) == "Flatten(start_dim=0, end_dim=2)");
  CHECK(printed(nn::Sequential()) == "Sequential()");
  CHECK(printed(Empty()) == "Empty()");
}

TEST_CASE("Module: nested modules print indented, as PyTorch's _addindent", "[nn][module]") {
  auto inner = std::make_shared<nn::Sequential>(nn::Linear(4, 3), nn::Flatten());
  nn::Sequential net(inner, nn::Linear(3, 1));
  CHECK(printed(net) ==
        "Sequential(\n"
        "  (0): Sequential(\n"
        "    (0): Linear(in_features=4, out_features=3, bias=true)\n"
        "    (1): Flatten(start_dim=1, end_dim=-1)\n"
        "  )\n"
        "  (1): Linear(in_features=3, out_features=1, bias=true)\n"
        ")");
  CHECK(printed(TwoLayer()) ==
        "TwoLayer(\n"
        "  (fc1): Linear(in_features=4, out_features=3, bias=true)\n"
        "  (fc2): Linear(in_features=3, out_features=2, bias=false)\n"
        ")");
  CHECK(names_of(net) == std::vector<std::string>{"0.0.weight", "0.0.bias", "1.weight", "1.bias"});
}

TEST_CASE("Module: named_parameters are dotted, own parameters first", "[nn][module]") {
  TwoLayer m;
  CHECK(names_of(m) == std::vector<std::string>{"scale", "fc1.weight", "fc1.bias", "fc2.weight"});
  CHECK(m.parameters().size() == 4);
  CHECK(m.parameters(/*recurse=*/false).size() == 1);
  REQUIRE(m.children().size() == 2);
  CHECK(m.named_children()[1].first == "fc2");
  // Parameters are the very tensors the layers use (shared handles), and require grad.
  CHECK(m.parameters()[1].impl() == m.fc1->weight.impl());
  for (const Tensor& p : m.parameters()) {
    CHECK(p.requires_grad());
    CHECK(p.is_leaf());
  }
  CHECK(m.parameters()[1].sizes() == Shape{3, 4});
}

TEST_CASE("Module: a module shared twice yields its parameters once", "[nn][module]") {
  auto fc = std::make_shared<nn::Linear>(3, 3);
  nn::Sequential net(fc, fc);
  CHECK(net.size() == 2);
  CHECK(names_of(net) == std::vector<std::string>{"0.weight", "0.bias"});
}

TEST_CASE("Module: Sequential chains forward and indexes its modules", "[nn][module]") {
  Generator gen(3);
  nn::Sequential net;
  net.push_back(nn::Flatten());
  net.push_back(std::make_shared<nn::Linear>(6, 2, true, gen));
  REQUIRE(net.size() == 2);
  CHECK(net[0]->type_name() == "Flatten");
  auto fc = net.at<nn::Linear>(1);
  CHECK(fc->out_features() == 2);
  CHECK_THROWS_WITH(net.at<nn::Linear>(0), Contains("module 0 is a Flatten"));
  CHECK_THROWS_WITH(net[2], Contains("index 2 out of range for 2 modules"));

  Tensor x = randn({4, 2, 3}, gen);
  Tensor y = net(x);
  CHECK(y.sizes() == Shape{4, 2});
  // The same as calling the layers by hand.
  Tensor want = fc->forward(x.reshape({4, 6}));
  CHECK(y.to_vector<float>() == want.to_vector<float>());
  // An empty Sequential is the identity, as in PyTorch.
  nn::Sequential empty_net;
  CHECK(empty_net(x).to_vector<float>() == x.to_vector<float>());
}

TEST_CASE("Module: registration errors are reported", "[nn][module]") {
  struct Bad : nn::Module {
    Bad() : Module("Bad") {}
    void add(const std::string& name) { register_parameter(name, zeros({2})); }
    void add_int() { register_parameter("i", zeros({2}, kInt64)); }
  };
  Bad bad;
  bad.add("w");
  CHECK_THROWS_WITH(bad.add("w"), Contains("parameter 'w' is already registered"));
  CHECK_THROWS_WITH(bad.add("a.b"), Contains("must not contain '.'"));
  CHECK_THROWS_WITH(bad.add(""), Contains("must not be empty"));
  CHECK_THROWS_WITH(bad.add_int(), Contains("parameters must be float32, got int64"));
  nn::Sequential net;
  net.push_back("head", nn::Linear(2, 2));
  CHECK_THROWS_WITH(net.push_back("head", nn::Flatten()),
                    Contains("submodule 'head' is already registered"));
  // Modules without a one-tensor forward say so.
  CHECK_THROWS_WITH(Empty().forward(zeros({1})), Contains("Empty: forward(input) is not defined"));
}

TEST_CASE("Module: apply visits children first, then self (d2l's init_weights)", "[nn][module]") {
  auto inner = std::make_shared<nn::Sequential>(nn::Linear(2, 2), nn::Flatten());
  nn::Sequential net(nn::Flatten(), inner, nn::Linear(256, 512));
  std::vector<std::string> visited;
  net.apply([&](nn::Module& m) { visited.push_back(m.type_name()); });
  CHECK(visited == std::vector<std::string>{"Flatten", "Linear", "Flatten", "Sequential", "Linear",
                                            "Sequential"});

  // d2l 4.3: def init_weights(m): if type(m) == nn.Linear: nn.init.normal_(m.weight, std=0.01)
  Generator gen(7);
  net.apply([&](nn::Module& m) {
    if (auto* linear = dynamic_cast<nn::Linear*>(&m)) {
      nn::init::normal_(linear->weight, 0, 0.01, gen);
      nn::init::zeros_(linear->bias);
    }
  });
  auto big = net.at<nn::Linear>(2);
  const auto w = big->weight.to_vector<float>();
  double sum = 0, sum_sq = 0;
  for (float v : w) {
    sum += v;
    sum_sq += double(v) * v;
  }
  const double n = static_cast<double>(w.size());  // 131072 draws: std of the std is ~2e-5
  CHECK(std::abs(sum / n) < 2e-4);
  CHECK(std::sqrt(sum_sq / n) == Approx(0.01).epsilon(0.01));
  for (float v : big->bias.to_vector<float>()) CHECK(v == 0.0f);
}

TEST_CASE("Module: train and eval are recursive", "[nn][module]") {
  auto inner = std::make_shared<nn::Sequential>(nn::Linear(2, 2));
  nn::Sequential net(inner, nn::Flatten());
  CHECK(net.is_training());
  net.eval();
  CHECK(!net.is_training());
  CHECK(!inner->is_training());
  CHECK(!(*inner)[0]->is_training());
  net.train();
  CHECK((*inner)[0]->is_training());
}

TEST_CASE("Module: zero_grad clears to none by default, or to zeros", "[nn][module]") {
  Generator gen(5);
  nn::Sequential net(nn::Linear(3, 2, true, gen));
  auto run = [&] {
    net(randn({4, 3}, gen)).sum().backward();
  };
  run();
  for (const Tensor& p : net.parameters()) REQUIRE(p.grad().defined());
  net.zero_grad();
  for (const Tensor& p : net.parameters()) CHECK(!p.grad().defined());
  run();
  net.zero_grad(/*set_to_none=*/false);
  for (const Tensor& p : net.parameters()) {
    REQUIRE(p.grad().defined());
    CHECK(p.grad().sizes() == p.sizes());
    for (float v : p.grad().to_vector<float>()) CHECK(v == 0.0f);
  }
  // Gradients accumulate again from zero.
  run();
  CHECK(net.parameters()[1].grad().to_vector<float>() == std::vector<float>{4.0f, 4.0f});
}
