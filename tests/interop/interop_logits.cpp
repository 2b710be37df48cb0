// Test helper of torch_interop.py: the logits ember computes on the test images with the given
// weights, written as safetensors for the script to compare with PyTorch's (issue 21).
//
//   interop_logits MODEL WEIGHTS.safetensors DATA_DIR OUT.safetensors
//
// MODEL is one of the app's --model names, built by the app's own factory (apps/softmax_regression,
// make_model), so PyTorch is compared with the very layers the app trains. OUT holds "logits"
// [N, 10] float32 and "labels" [N] int64, the test set in order, in evaluation mode (BatchNorm on
// its running statistics).
#include <ember/ember.h>

#include "model.h"

#include <iostream>
#include <string>

namespace nn = ember::nn;
namespace ds = ember::datasets;

int main(int argc, char** argv) {
  if (argc != 5) {
    std::cerr << "usage: interop_logits MODEL WEIGHTS.safetensors DATA_DIR OUT.safetensors\n";
    return 2;
  }
  try {
    ember::Generator gen(0);  // the initial weights are all replaced
    nn::Sequential net = app::make_model(argv[1], 28, 28, 10, gen);
    net.load_state_dict(ember::load_safetensors(argv[2]));
    net.eval();
    ember::NoGradGuard no_grad;
    ds::FashionMNIST test(argv[3], ds::Split::Test);
    ds::DataLoader loader(test, {.batch_size = test.size()});
    auto it = loader.begin();
    const ds::Batch batch = *it;  // a copy: the iterator's buffers are reused
    ember::StateDict out;
    out.insert("logits", net(batch.images));
    out.insert("labels", batch.labels);
    ember::save_safetensors(out, argv[4]);
  } catch (const std::exception& e) {
    std::cerr << "interop_logits: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
