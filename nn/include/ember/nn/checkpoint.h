/// \file
/// ember::save / ember::load: a module's parameters to and from a checkpoint file.
///
/// The file is a checkpoint of kind 1 (module) in the record format of
/// <ember/core/record_format.h>, which documents it byte by byte and lists what loading checks.
/// Module checkpoints hold one entry per parameter, named as named_parameters(), then one per
/// buffer (as PyTorch's state_dict), each in its tensor's dtype. Optimizer checkpoints are
/// described in <ember/optim/checkpoint.h>.
#pragma once

#include <string>

#include <ember/core/file.h>
#include <ember/nn/module.h>

namespace ember {

/// Writes every parameter and buffer of `module` to `path`, crash-safely.
///
/// The parameters are named as named_parameters() ("0.weight", "0.bias", ...), float32, the
/// buffers as named_buffers(), in the record format (version 1, kind 1). The file is written with
/// write_file_atomically (crash-safe, keeping the file's mode, writing through a symbolic link).
/// \throws ember::Error on failure, naming the path and the system's reason (errno text);
///   `path` is then untouched.
void save(const nn::Module& module, const std::string& path);

/// Reads a checkpoint written by save() into `module`'s parameters and buffers (bitwise exact).
///
/// Everything is checked before any parameter is written, so on error the module is unchanged
/// (no partial load). Memory use is bounded by the file's size (Note [bounded loading] in
/// core/src/io/record_format.cpp), whatever the file claims.
/// \throws ember::Error naming the path and what is wrong: cannot open, not a regular file
///   (a directory, device or FIFO is refused before anything is read), truncated, bad magic,
///   unsupported version, wrong kind (an optimizer checkpoint), bad CRC, a count or size larger
///   than the file could hold, a parameter or buffer missing from the file or an entry present only
///   in the file, a dtype or shape that differs (naming the parameter or buffer, expected vs
///   got).
void load(nn::Module& module, const std::string& path);

}  // namespace ember
