// ember::save / ember::load for an SGD optimizer's state, so training can resume exactly.
#pragma once

#include <string>

#include <ember/nn/checkpoint.h>
#include <ember/optim/sgd.h>

namespace ember {

// Writes the optimizer's options and momentum buffers to `path`, crash-safely, in the format of
// <ember/nn/checkpoint.h> with kind 2 (optimizer). Entries, for every group g and its i-th
// parameter:
//   param_groups.<g>.num_params                  int64 scalar
//   param_groups.<g>.lr, .momentum, .dampening, .weight_decay   float64 scalars
//   param_groups.<g>.nesterov, .maximize         int64 scalars (0 or 1)
//   state.<g>.<i>.momentum_buffer                float32, the parameter's shape; only where the
//                                                buffer exists (after a step with momentum)
// Parameters themselves are not saved: save the module too. Throws ember::Error as save(module).
void save(const optim::SGD& optimizer, const std::string& path);

// Restores options and momentum buffers saved by save(). Checks everything first (kind,
// version, CRC, the number of groups and of parameters per group, every buffer's shape against
// its parameter, the options' validity) and throws ember::Error naming the mismatch, leaving
// the optimizer unchanged. Buffers absent from the file are cleared (as before a first step).
void load(optim::SGD& optimizer, const std::string& path);

}  // namespace ember
