/// \file
/// ember::save_safetensors / ember::load_safetensors: named tensors in the safetensors format,
/// the one PyTorch, Hugging Face and most model hubs exchange weights in.
///
/// \par The format
/// \code{.unparsed}
///   offset  size  field
///   0       8     u64 little-endian N: the header's length in bytes
///   8       N     the header: a JSON object (UTF-8), padded with spaces;
///                   {"__metadata__": {"key": "value", ...},           (optional, strings only)
///                    "fc1.weight": {"dtype": "F32", "shape": [128, 784],
///                                   "data_offsets": [BEGIN, END]}, ...}
///   8 + N   ...   the data section: each tensor's row-major little-endian values at
///                 [BEGIN, END) relative to its start, the tensors covering it exactly
/// \endcode
/// ember writes F32, I64 and U8 (its dtypes) and reads them back as they are; it reads F64, F16
/// and BF16 converted to float32 (F16 and BF16 exactly, F64 rounded to nearest).
#pragma once

#include <cstddef>
#include <map>
#include <span>
#include <string>
#include <vector>

#include <ember/core/ordered_dict.h>
#include <ember/core/tensor.h>

namespace ember {

/// The "__metadata__" of a safetensors file: free-form strings ({"format": "pt"}).
using SafetensorsMetadata = std::map<std::string, std::string>;

/// Writes `tensors` to `path` in the safetensors format, crash-safely.
///
/// The tensors are written in the dict's order (any strides; their row-major values), with
/// `metadata` as the header's "__metadata__" (omitted when empty). The file is written as
/// ember::save writes a checkpoint: to a temporary file, fsynced, renamed over `path` (keeping a
/// replaced file's mode, writing through a symbolic link); `path` holds its old content or the
/// new one, whole.
/// \throws ember::Error for an undefined tensor or one named "__metadata__", naming it; and on a
///   write failure, naming `path` and the system's reason (`path` is then untouched).
void save_safetensors(const StateDict& tensors, const std::string& path,
                      const SafetensorsMetadata& metadata = {});

/// Reads every tensor of the safetensors file `path`, in the order of their data.
///
/// F32, I64 and U8 tensors keep their dtype; F64, F16 and BF16 become float32 (F16/BF16
/// subnormals, infinities and NaN exactly; F64 rounded to nearest, beyond float32's range to
/// infinity). Everything is checked before a tensor is made (Note [hostile safetensors] in
/// core/src/io/safetensors.cpp); memory is bounded by the file's size, not by what it claims.
/// \throws ember::Error naming `path` (and the tensor, where one is at fault) for a file that
///   cannot be opened or is not a regular file (a FIFO or device is refused before reading), a
///   header length beyond the file or above 100 MB, JSON that does not parse or does not describe
///   tensors, a name given twice, an unknown or unsupported dtype ("tensor 'x' has dtype I32,
///   which ember cannot read"), a shape whose size overflows, a byte range that is reversed, does
///   not match shape x dtype size, overlaps another, lies outside the data section, or tensors
///   that leave part of the data section uncovered.
StateDict load_safetensors(const std::string& path);

/// The "__metadata__" of the safetensors file `path`, with the same checks as load_safetensors
/// (the whole file is verified, not only its header).
/// \throws ember::Error as load_safetensors.
SafetensorsMetadata load_safetensors_metadata(const std::string& path);

namespace detail {

/// The file image save_safetensors writes (for tests and the fuzzer's seeds).
std::vector<std::byte> safetensors_bytes(const StateDict& tensors,
                                         const SafetensorsMetadata& metadata);
/// load_safetensors on a file image in memory; `path` names it in messages; `metadata`, when
/// not null, receives the "__metadata__". The fuzzer's entry point.
StateDict parse_safetensors(std::span<const std::byte> file, const std::string& path,
                            SafetensorsMetadata* metadata = nullptr);

}  // namespace detail

}  // namespace ember
