// ember::nn::Dropout. See dropout.h.
#include <ember/nn/dropout.h>

#include <sstream>

#include <ember/core/error.h>
#include <ember/nn/functional/dropout.h>

namespace ember::nn {

Dropout::Dropout(const DropoutOptions& options_) : Module("Dropout"), options(options_) {
  EMBER_CHECK(options.p() >= 0.0 && options.p() <= 1.0,
              "Dropout: dropout probability has to be between 0 and 1, but got ", options.p());
}

Tensor Dropout::forward(const Tensor& x) {
  return functional::dropout(x, options.p(), is_training());
}

std::string Dropout::extra_repr() const {
  std::ostringstream out;
  out << "p=" << options.p();
  return out.str();
}

}  // namespace ember::nn
