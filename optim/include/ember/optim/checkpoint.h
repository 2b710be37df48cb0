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

#include <ember/optim/adam.h>
#include <ember/optim/lr_scheduler.h>

namespace ember {

/// Writes an Adam or AdamW optimizer's options and state to `path`, crash-safely, in the format
/// of save(const optim::SGD&, const std::string&) (kind 2). Entries, for every group g and its
/// i-th parameter:
/// \code{.unparsed}
///   optimizer.Adam (or optimizer.AdamW)          int64 scalar 1: which optimizer wrote it
///   param_groups.<g>.num_params                  int64 scalar
///   param_groups.<g>.lr, .beta1, .beta2, .eps, .weight_decay   float64 scalars
///   param_groups.<g>.amsgrad, .maximize          int64 scalars (0 or 1)
///   state.<g>.<i>.step                           int64 scalar; the rest only where step > 0:
///   state.<g>.<i>.exp_avg, .exp_avg_sq           float32, the parameter's shape
///   state.<g>.<i>.max_exp_avg_sq                 float32, where it exists (amsgrad)
/// \endcode
/// Parameters themselves are not saved: save the module too.
/// \throws ember::Error as save(const nn::Module&, const std::string&).
/// \{
void save(const optim::Adam& optimizer, const std::string& path);
void save(const optim::AdamW& optimizer, const std::string& path);
/// \}

/// Restores options and state saved by save(const optim::Adam&, ...) (or AdamW's): training
/// then continues bit for bit as if never interrupted.
/// \throws ember::Error naming the mismatch, leaving the optimizer unchanged: everything is
///   checked first (kind, CRC, which optimizer wrote the file, the number of groups and of
///   parameters per group, every state tensor's dtype and shape against its parameter, the
///   options' validity, unknown entries), as well as the file errors of load(nn::Module&, ...).
/// \{
void load(optim::Adam& optimizer, const std::string& path);
void load(optim::AdamW& optimizer, const std::string& path);
/// \}

/// Writes a learning-rate scheduler's state (kind 2, beside the optimizer's own file):
/// \code{.unparsed}
///   scheduler.<name>                 int64 scalar 1 (StepLR, CosineAnnealingLR)
///   scheduler.last_epoch             int64 scalar
///   scheduler.num_groups             int64 scalar
///   scheduler.base_lrs.<g>, scheduler.last_lr.<g>   float64 scalars
///   scheduler.hyperparameters.<k>    float64 scalars (StepLR: step_size, gamma; ...)
/// \endcode
/// The current lrs live in the optimizer's checkpoint: save and load both.
/// \throws ember::Error as save(const nn::Module&, const std::string&).
void save(const optim::LRScheduler& scheduler, const std::string& path);

/// Restores a scheduler's state saved by save(const optim::LRScheduler&, ...).
/// \throws ember::Error, the scheduler unchanged, for another scheduler class, other
///   hyperparameters, another number of groups, or the file errors of load(nn::Module&, ...).
void load(optim::LRScheduler& scheduler, const std::string& path);

}  // namespace ember
