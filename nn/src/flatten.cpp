// ember::nn::Flatten. See flatten.h.
#include <ember/nn/flatten.h>

namespace ember::nn {

Flatten::Flatten(std::int64_t start_dim, std::int64_t end_dim)
    : Module("Flatten"), start_dim_(start_dim), end_dim_(end_dim) {}

// Tensor::flatten is the view (and its backward, a reshape of grad_output back).
Tensor Flatten::forward(const Tensor& x) {
  return x.flatten(start_dim_, end_dim_);
}

std::string Flatten::extra_repr() const {
  return "start_dim=" + std::to_string(start_dim_) + ", end_dim=" + std::to_string(end_dim_);
}

}  // namespace ember::nn
