// nn::Module::state_dict and load_state_dict: PyTorch's names and order, PyTorch's error messages,
// and a failed load that changes nothing.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <ember/autograd/grad_mode.h>
#include <ember/core/error.h>
#include <ember/core/file.h>
#include <ember/core/ops.h>
#include <ember/nn/checkpoint.h>
#include <ember/nn/linear.h>
#include <ember/nn/module.h>
#include <ember/nn/safetensors.h>
#include <ember/nn/sequential.h>

#include "support/all_close.h"
#include "support/temp_dir.h"

using namespace ember;

namespace {

// torch: class Net(nn.Module): fc1 = nn.Linear(784, 128); fc2 = nn.Linear(128, 10)
struct Net : nn::Module {
  Net() : Module("Net") {
    fc1 = register_module("fc1", nn::Linear(784, 128));
    fc2 = register_module("fc2", nn::Linear(128, 10));
  }
  nn::Linear fc1{nullptr}, fc2{nullptr};
};

// A module with buffers, named as BatchNorm's: parameters first, then buffers (any dtype).
struct Stats : nn::Module {
  Stats() : Module("Stats") {
    weight = register_parameter("weight", ones({3}));
    running_mean = register_buffer("running_mean", zeros({3}));
    num_batches_tracked = register_buffer("num_batches_tracked", zeros({}, kInt64));
  }
  Tensor weight, running_mean, num_batches_tracked;
};

struct WithStats : nn::Module {
  WithStats() : Module("WithStats") {
    fc = register_module("fc", nn::Linear(2, 3));
    bn = register_module("bn", std::make_shared<Stats>());
  }
  nn::Linear fc{nullptr};
  std::shared_ptr<Stats> bn;
};

std::vector<std::string> keys_of(const StateDict& dict) {
  return dict.keys();
}

// Every tensor of the module, cloned: to see that a failed load changed nothing.
std::vector<Tensor> snapshot(const nn::Module& m) {
  std::vector<Tensor> out;
  for (const auto& item : m.state_dict()) out.push_back(item.value().clone());
  return out;
}

bool same(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (!test::bitwise_equal(a[i], b[i])) return false;
  return true;
}

}  // namespace

TEST_CASE("state_dict: PyTorch's names, parameters before buffers module by module",
          "[state_dict]") {
  // torch.nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1)).state_dict().keys()
  nn::Sequential seq{nn::Linear(2, 3), nn::Linear(3, 1)};
  CHECK(keys_of(seq.state_dict()) ==
        std::vector<std::string>{"0.weight", "0.bias", "1.weight", "1.bias"});
  WithStats net;
  CHECK(keys_of(net.state_dict()) == std::vector<std::string>{"fc.weight", "fc.bias", "bn.weight",
                                                              "bn.running_mean",
                                                              "bn.num_batches_tracked"});
  const StateDict dict = net.state_dict();
  CHECK(dict["bn.num_batches_tracked"].dtype() == kInt64);
  CHECK(dict["fc.weight"].sizes() == Shape{3, 2});
  CHECK_FALSE(dict["fc.weight"].requires_grad());  // detached, as keep_vars=False
  // The tensors share the module's storage, as PyTorch's.
  Tensor(dict["fc.bias"]).fill_(7.0);
  CHECK(net.fc.bias.to_vector<float>() == std::vector<float>{7, 7, 7});
}

TEST_CASE("load_state_dict: copies every tensor, converting dtypes as copy_", "[state_dict]") {
  WithStats a, b;
  Tensor(a.bn->num_batches_tracked).fill_(5.0);
  Tensor(a.bn->running_mean).fill_(0.5);
  const nn::IncompatibleKeys keys = b.load_state_dict(a.state_dict());
  CHECK(keys.missing_keys.empty());
  CHECK(keys.unexpected_keys.empty());
  CHECK(same(snapshot(a), snapshot(b)));
  CHECK(b.fc.weight.requires_grad());  // still a parameter

  // An int64 or float64-born tensor into a float32 parameter converts (torch's copy_ does).
  StateDict dict = a.state_dict();
  dict["fc.bias"] = tensor({1, 2, 3});  // int64
  b.load_state_dict(dict);
  CHECK(b.fc.bias.dtype() == kFloat32);
  CHECK(b.fc.bias.to_vector<float>() == std::vector<float>{1, 2, 3});
}

TEST_CASE("load_state_dict: strict errors in PyTorch's words, all at once", "[state_dict]") {
  Net net;
  const std::vector<Tensor> before = snapshot(net);
  StateDict dict;
  dict.insert("fc1.weight", zeros({256, 784}));
  dict.insert("fc1.bias", zeros({3}));
  dict.insert("fc2.weight", zeros({10, 128}));
  dict.insert("fc3.weight", zeros({1}));
  // PyTorch 1.13, the same dict into the same Net (torch.Size([..]) printed as [..] here):
  //   Error(s) in loading state_dict for Net:\n\tMissing key(s) in state_dict: "fc2.bias". \n\t
  //   Unexpected key(s) in state_dict: "fc3.weight". \n\tsize mismatch for fc1.weight: copying a
  //   param with shape torch.Size([256, 784]) from checkpoint, the shape in current model is
  //   torch.Size([128, 784]).\n\tsize mismatch for fc1.bias: ...
  CHECK_THROWS_WITH(
      net.load_state_dict(dict),
      "Error(s) in loading state_dict for Net:\n"
      "\tMissing key(s) in state_dict: \"fc2.bias\". \n"
      "\tUnexpected key(s) in state_dict: \"fc3.weight\". \n"
      "\tsize mismatch for fc1.weight: copying a param with shape [256, 784] from checkpoint, "
      "the shape in current model is [128, 784].\n"
      "\tsize mismatch for fc1.bias: copying a param with shape [3] from checkpoint, the shape in "
      "current model is [128].");
  CHECK(same(before, snapshot(net)));  // fc2.weight matched, yet nothing was copied

  StateDict few;
  few.insert("fc1.weight", ones({128, 784}));
  CHECK_THROWS_WITH(net.load_state_dict(few),
                    "Error(s) in loading state_dict for Net:\n"
                    "\tMissing key(s) in state_dict: \"fc1.bias\", \"fc2.weight\", \"fc2.bias\". ");
  CHECK(same(before, snapshot(net)));
}

TEST_CASE("load_state_dict(strict = false): returns missing and unexpected keys", "[state_dict]") {
  Net net;
  StateDict dict;
  dict.insert("fc1.weight", ones({128, 784}));
  dict.insert("fc3.weight", zeros({1}));
  dict.insert("fc2.extra", zeros({1}));  // under a child, naming nothing in it
  const nn::IncompatibleKeys keys = net.load_state_dict(dict, /*strict=*/false);
  // torch: _IncompatibleKeys(missing_keys=['fc1.bias', 'fc2.weight', 'fc2.bias'],
  //                          unexpected_keys=['fc3.weight', 'fc2.extra'])
  CHECK(keys.missing_keys == std::vector<std::string>{"fc1.bias", "fc2.weight", "fc2.bias"});
  CHECK(keys.unexpected_keys == std::vector<std::string>{"fc3.weight", "fc2.extra"});
  CHECK(net.fc1.weight.sum().item<float>() == 128 * 784);  // what matched was loaded

  // A size mismatch is an error even without strict, as PyTorch.
  StateDict wrong;
  wrong.insert("fc1.weight", zeros({12, 784}));
  CHECK_THROWS_WITH(net.load_state_dict(wrong, false),
                    "Error(s) in loading state_dict for Net:\n"
                    "\tsize mismatch for fc1.weight: copying a param with shape [12, 784] from "
                    "checkpoint, the shape in current model is [128, 784].");
}

TEST_CASE("load_state_dict: a value the dtype cannot hold fails before anything is copied",
          "[state_dict]") {
  WithStats net;
  const std::vector<Tensor> before = snapshot(net);
  StateDict dict = WithStats().state_dict();
  dict["bn.num_batches_tracked"] = scalar_tensor(std::numeric_limits<double>::quiet_NaN());
  CHECK_THROWS_WITH(net.load_state_dict(dict),
                    Catch::Matchers::StartsWith(
                        "Error(s) in loading state_dict for WithStats:\n\tWhile copying the "
                        "parameter named \"bn.num_batches_tracked\", whose dimensions in the "
                        "model are [] and whose dimensions in the checkpoint are [], an "
                        "exception occurred : ('"));
  CHECK(same(before, snapshot(net)));
}

TEST_CASE("save_safetensors(module): the state_dict, buffers included, loads back exactly",
          "[state_dict][safetensors]") {
  test::TempDir dir;
  const std::string path = dir.file("net.safetensors");
  WithStats a, b;
  Tensor(a.bn->num_batches_tracked).fill_(3.0);
  save_safetensors(a, path, {{"format", "pt"}});
  const StateDict loaded = load_safetensors(path);
  CHECK(loaded.keys() == a.state_dict().keys());
  CHECK(loaded["bn.num_batches_tracked"].dtype() == kInt64);
  b.load_state_dict(loaded);
  CHECK(same(snapshot(a), snapshot(b)));  // bitwise
}

TEST_CASE("save_safetensors: written as checkpoints are, a failed write leaves the old file",
          "[state_dict][safetensors]") {
  test::TempDir dir;
  const std::string path = dir.file("net.safetensors");
  WithStats a;
  save_safetensors(a, path);
  const StateDict before = load_safetensors(path);
  {
    NoGradGuard no_grad;
    Tensor(a.fc.bias).fill_(9.0);
  }
  // The crash-safe writer's test hook: fail half-way through writing the temporary file.
  core::detail::set_save_hook([](core::detail::SaveStage stage, const std::string&) {
    if (stage == core::detail::SaveStage::HalfWritten) throw Error("disk full (test)");
  });
  CHECK_THROWS_WITH(save_safetensors(a, path), "disk full (test)");
  core::detail::set_save_hook({});
  CHECK(dir.entries() == std::vector<std::string>{"net.safetensors"});  // no temporary left
  CHECK(test::bitwise_equal(load_safetensors(path)["fc.bias"], before["fc.bias"]));
}
