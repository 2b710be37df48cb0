/// \file
/// ember::save / ember::load for an SGD optimizer's state, so training can resume exactly.
#pragma once

#include <string>

#include <ember/core/file.h>
#include <ember/optim/sgd.h>

namespace ember {

/// Writes the optimizer's options and momentum buffers to `path`, crash-safely.
///
/// The format is the record format of <ember/core/record_format.h> with kind 2 (optimizer).
/// Entries, for every group g and its i-th parameter: \code{.unparsed}
///   param_groups.<g>.num_params                  int64 scalar
///   param_groups.<g>.lr, .momentum, .dampening, .weight_decay   float64 scalars
///   param_groups.<g>.nesterov, .maximize         int64 scalars (0 or 1)
///   state.<g>.<i>.momentum_buffer                float32, the parameter's shape; only where the
///                                                buffer exists (after a step with momentum)
/// \endcode
/// Parameters themselves are not saved: save the module too.
/// \throws ember::Error on failure, naming the path and the system's reason (errno text);
///   `path` is then untouched (core::write_file_atomically).
void save(const optim::SGD& optimizer, const std::string& path);

/// Restores options and momentum buffers saved by save(const optim::SGD&, const std::string&).
///
/// Buffers absent from the file are cleared (as before a first step).
/// \throws ember::Error naming the mismatch, leaving the optimizer unchanged: everything is
///   checked first (kind, version, CRC, the number of groups and of parameters per group, every
///   buffer's dtype and shape against its parameter, the options' validity), as well as the file
///   errors of core::read_checkpoint (cannot open, truncated, bad CRC, ...).
void load(optim::SGD& optimizer, const std::string& path);

}  // namespace ember
