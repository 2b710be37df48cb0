// Modules the libtorch way: names from the class, the holder form, register_* in public,
// named_modules / named_buffers, buffers in checkpoints, handle semantics of a copy, and
// LinearOptions.
#include <catch2/catch.hpp>

#include <sstream>

#include "support/temp_dir.h"

#include <ember/autograd/grad_mode.h>
#include <ember/autograd/ops.h>
#include <ember/nn/checkpoint.h>
#include <ember/nn/linear.h>
#include <ember/nn/sequential.h>

using namespace ember;

namespace {

// The libtorch holder form: empty holders as members, assigned from register_module.
struct Net : nn::Module {
  nn::Linear fc1{nullptr}, fc2{nullptr};
  Tensor steps;
  Net() {
    fc1 = register_module("fc1", nn::Linear(4, 3));
    fc2 = register_module("fc2", nn::Linear(nn::LinearOptions(3, 2).bias(false)));
    steps = register_buffer("steps", zeros({}, kInt64));
  }
  Tensor forward(const Tensor& x) override { return fc2(fc1(x).relu()); }
};

// The mistake the holder form avoids: a plain member never registered.
struct Forgetful : nn::Module {
  nn::Linear fc{4, 3};
  Tensor forward(const Tensor& x) override { return fc(x); }
};

std::vector<std::string> names(const std::vector<std::pair<std::string, Tensor>>& named) {
  std::vector<std::string> out;
  for (const auto& [name, t] : named) out.push_back(name);
  return out;
}

}  // namespace

TEST_CASE("modules: the holder form registers, names default from the class", "[module]") {
  Net net;
  CHECK(net.type_name() == "Net");
  CHECK(names(net.named_parameters()) ==
        std::vector<std::string>{"fc1.weight", "fc1.bias", "fc2.weight"});
  CHECK(names(net.named_buffers()) == std::vector<std::string>{"steps"});
  std::vector<std::string> modules;
  for (const auto& [name, m] : net.named_modules()) modules.push_back(name + ":" + m->type_name());
  CHECK(modules == std::vector<std::string>{":Net", "fc1:Linear", "fc2:Linear"});
  CHECK(net.modules().size() == 3);
  // The member holder IS the registered module: training it trains the net.
  CHECK(net.fc1.weight.impl() == net.named_parameters()[0].second.impl());
  net.eval();
  CHECK_FALSE(net.fc1.is_training());
  CHECK(net(zeros({5, 4})).sizes() == Shape{5, 2});
  std::ostringstream printed;
  printed << net;
  CHECK(printed.str() ==
        "Net(\n  (fc1): Linear(in_features=4, out_features=3, bias=true)\n"
        "  (fc2): Linear(in_features=3, out_features=2, bias=false)\n)");
  // An unregistered layer is not part of the module: parameters() is empty, easy to test.
  Forgetful forgetful;
  CHECK(forgetful.parameters().empty());
  // An empty holder says what to do.
  nn::Linear empty{nullptr};
  CHECK(empty.is_empty());
  CHECK_THROWS_WITH(empty.parameters(),
                    "Linear: this module is an empty holder (made from nullptr); assign it first, "
                    "e.g. fc = register_module(\"fc\", nn::Linear(784, 64))");
}

TEST_CASE("modules: a copy is a handle to the same module, clone() is independent", "[module]") {
  nn::Linear a(2, 2);
  nn::Linear b = a;  // the same module, as libtorch's holders
  CHECK(b.weight.impl() == a.weight.impl());
  a.eval();
  CHECK_FALSE(b.is_training());
  nn::Linear c = a.clone();  // new parameters with the same values
  CHECK(c.weight.impl() != a.weight.impl());
  CHECK(c.weight.to_vector<float>() == a.weight.to_vector<float>());
  CHECK(c.parameters().size() == 2);
  CHECK_FALSE(c.is_training());
  {
    NoGradGuard guard;
    c.weight.fill_(0.0);
  }
  CHECK(a.weight.to_vector<float>() != c.weight.to_vector<float>());
}

TEST_CASE("modules: buffers go into checkpoints", "[module][checkpoint]") {
  test::TempDir dir;
  const std::string path = dir.file("net.ckpt");
  Net net;
  {
    NoGradGuard guard;
    net.steps.fill_(41);
  }
  save(net, path);
  Net other;
  load(other, path);
  CHECK(other.steps.item<std::int64_t>() == 41);
  CHECK(other.fc1.weight.to_vector<float>() == net.fc1.weight.to_vector<float>());

  // Errors about a buffer call it a buffer (issue 22), and count parameters and buffers apart.
  struct NoSteps : nn::Module {
    NoSteps() {
      register_module("fc1", nn::Linear(4, 3));
      register_module("fc2", nn::Linear(nn::LinearOptions(3, 2).bias(false)));
    }
    Tensor forward(const Tensor& x) override { return x; }
  };
  save(NoSteps(), path);
  CHECK_THROWS_WITH(load(other, path),
                    "load: buffer 'steps' [] of the module is missing from '" + path +
                        "' (the module has 3 parameters and 1 buffer, the file 3)");
  struct FloatSteps : NoSteps {
    FloatSteps() { register_buffer("steps", zeros({})); }
  };
  save(FloatSteps(), path);
  CHECK_THROWS_WITH(load(other, path),
                    "load: buffer 'steps': expected dtype int64, got float32 in '" + path + "'");
  CHECK(other.steps.item<std::int64_t>() == 41);  // unchanged (no partial load)
}

TEST_CASE("modules: register_* are public, and errors name the module", "[module]") {
  nn::Module m;
  CHECK(m.type_name() == "Module");
  m.register_parameter("w", zeros({2}));
  m.register_buffer("mask", ones({2}, kUInt8));
  CHECK_THROWS_WITH(m.register_buffer("w", zeros({2})), "Module: 'w' is already a parameter");
  CHECK_THROWS_WITH(m.register_buffer("mask", zeros({2})),
                    "Module: buffer 'mask' is already registered");
  CHECK(m.parameters().size() == 1);
  CHECK(m.buffers().size() == 1);
  CHECK_FALSE(m.buffers()[0].requires_grad());
}
