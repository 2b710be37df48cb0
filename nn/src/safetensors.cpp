// save_safetensors for a module. See <ember/nn/safetensors.h>.
#include <ember/nn/safetensors.h>

namespace ember {

void save_safetensors(const nn::Module& module, const std::string& path,
                      const SafetensorsMetadata& metadata) {
  save_safetensors(module.state_dict(), path, metadata);
}

}  // namespace ember
