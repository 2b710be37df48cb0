/// \file
/// ember::save_safetensors for a module: its state_dict() in the safetensors format.
#pragma once

#include <string>

#include <ember/core/safetensors.h>
#include <ember/nn/module.h>

namespace ember {

/// Writes `module.state_dict()` (parameters and buffers under PyTorch's names) to `path` in the
/// safetensors format, crash-safely; see save_safetensors(const StateDict&, ...). PyTorch reads it
/// back with `model.load_state_dict(tensors)` (README: "Moving weights to and from PyTorch"); ember
/// with `module.load_state_dict(load_safetensors(path))`.
/// \throws ember::Error as save_safetensors(const StateDict&, ...).
void save_safetensors(const nn::Module& module, const std::string& path,
                      const SafetensorsMetadata& metadata = {});

}  // namespace ember
