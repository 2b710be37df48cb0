// ember::nn::Sequential. See sequential.h.
#include <ember/nn/sequential.h>

namespace ember::nn {

std::shared_ptr<Module> Sequential::operator[](std::size_t i) const {
  EMBER_CHECK(i < size(), "Sequential: index ", i, " out of range for ", size(), " modules");
  return named_children()[i].second;
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor out = x;
  for (const auto& [name, module] : named_children()) out = module->forward(out);
  return out;
}

}  // namespace ember::nn
