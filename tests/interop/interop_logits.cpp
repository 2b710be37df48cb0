// Test helper of torch_interop.py: the logits ember computes on the test images with the given
// weights, written as safetensors for the script to compare with PyTorch's (issue 21).
//
//   interop_logits softmax|mlp WEIGHTS.safetensors DATA_DIR OUT.safetensors
//
// The model is the app's (apps/softmax_regression, make_model): Sequential(Flatten(),
// Linear(784, 10)), or Sequential(Flatten(), Linear(784, 256), ReLU(), Linear(256, 10)). OUT holds
// "logits" [N, 10] float32 and "labels" [N] int64, the test set in order.
#include <ember/ember.h>

#include <iostream>
#include <string>

namespace nn = ember::nn;
namespace ds = ember::datasets;

int main(int argc, char** argv) {
  if (argc != 5) {
    std::cerr << "usage: interop_logits softmax|mlp WEIGHTS.safetensors DATA_DIR OUT.safetensors\n";
    return 2;
  }
  try {
    const std::string model = argv[1];
    nn::Sequential net = model == "mlp" ? nn::Sequential(nn::Flatten(), nn::Linear(784, 256),
                                                         nn::ReLU(), nn::Linear(256, 10))
                                        : nn::Sequential(nn::Flatten(), nn::Linear(784, 10));
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
