/// \file
/// ember::save / ember::load: a module's parameters to and from a checkpoint file.
///
/// \par The file format (version 1)
/// All integers little-endian; no padding anywhere.
/// \code{.unparsed}
///   offset  size  field
///   0       8     magic, the ASCII bytes "EMBRCKPT"
///   8       4     u32 format version = 1
///   12      4     u32 kind: 1 = module parameters, 2 = SGD optimizer state
///   16      8     u64 body size B: the bytes between this header and the CRC
///   24      B     body:
///                   u64 count of entries
///                   count entry headers, each:
///                     u32 name length L, then L bytes of name (UTF-8, no NUL)
///                     u8  dtype: 0 float32, 1 int64, 2 uint8, 3 float64 (scalars)
///                     u32 rank R, then R x i64 dims
///                   count payloads, in entry order, each numel x element size bytes of
///                   row-major little-endian values (IEEE-754 for floats)
///   24 + B  4     u32 CRC-32 (zlib's crc32, polynomial 0xEDB88320) of bytes [0, 24 + B)
/// \endcode
/// Loading checks, in order: the file is a regular file holding at least the header; magic;
/// version; kind; that its size is exactly 24 + B + 4 (else "truncated" or "trailing bytes") --
/// all before reading past the header; the CRC; then the entry table: the count against the body
/// size (an entry takes at least 10 bytes), every name (non-empty, unique), dtype, rank (at most
/// 64) and payload size against the bytes left; then names, dtypes and shapes against the module.
///
/// Module checkpoints hold one float32 entry per parameter, named as named_parameters().
/// Optimizer checkpoints are described in <ember/optim/checkpoint.h>.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include <ember/core/tensor.h>
#include <ember/nn/module.h>

namespace ember {

/// Writes every parameter of `module` to `path`, crash-safely.
///
/// The parameters are named as named_parameters() ("0.weight", "0.bias", ...), float32, in the
/// format of this file's documentation (version 1, kind 1). The file is written with
/// write_file_atomically (crash-safe, keeping the file's mode, writing through a symbolic link).
/// \throws ember::Error on failure, naming the path and the system's reason (errno text);
///   `path` is then untouched.
void save(const nn::Module& module, const std::string& path);

/// Reads a checkpoint written by save() into `module`'s parameters (bitwise exact).
///
/// Everything is checked before any parameter is written, so on error the module is unchanged
/// (no partial load). Memory use is bounded by the file's size (Note [bounded loading] in
/// checkpoint.cpp), whatever the file claims.
/// \throws ember::Error naming the path and what is wrong: cannot open, not a regular file
///   (a directory, device or FIFO is refused before anything is read), truncated, bad magic,
///   unsupported version, wrong kind (an optimizer checkpoint), bad CRC, a count or size larger
///   than the file could hold, a parameter missing from the file or present only in the file, a
///   dtype or shape that differs (naming the parameter, expected vs got).
void load(nn::Module& module, const std::string& path);

/// Writes `bytes` to `path` crash-safely: `path` always holds either its previous content or the
/// new one, whole.
///
/// The bytes go to a temporary file in the same folder, fsynced, renamed over `path`, then the
/// folder is fsynced. The result has the semantics of writing the file in place: a new file gets
/// mode 0666 & ~umask, a replaced one keeps its mode (and owner, where allowed), a symbolic link
/// is written through (its target is replaced), and any name of up to NAME_MAX bytes works. (A
/// process killed mid-write can leave only a `NAME.tmp.XXXXXX` file behind, never a damaged
/// `path`.)
/// \throws ember::Error naming `path` and the system's reason when `path` exists but is not a
///   regular file (a folder, a device), or on failure (folder missing or not writable, no space,
///   an fsync or close error); the temporary file is then removed and `path` is untouched.
void write_file_atomically(const std::string& path, std::span<const std::byte> bytes);

namespace detail {

inline constexpr char kCheckpointMagic[8] = {'E', 'M', 'B', 'R', 'C', 'K', 'P', 'T'};
inline constexpr std::uint32_t kCheckpointVersion = 1;
inline constexpr std::size_t kCheckpointHeaderSize = 24;

enum class CheckpointKind : std::uint32_t { Module = 1, Optimizer = 2 };
enum class RecordType : std::uint8_t { Float32 = 0, Int64 = 1, UInt8 = 2, Float64 = 3 };

// One named entry, its payload as raw little-endian bytes.
struct CheckpointRecord {
  std::string name;
  RecordType type = RecordType::Float32;
  Shape shape;
  std::vector<std::byte> bytes;
};

std::size_t record_type_size(RecordType type);
const char* record_type_name(RecordType type);

// The row-major contents of a tensor of any strides as a record.
CheckpointRecord record_from_tensor(const std::string& name, const Tensor& t);
// A 0-d float64 or int64 record, for optimizer options.
CheckpointRecord scalar_record(const std::string& name, double value);
CheckpointRecord scalar_record(const std::string& name, std::int64_t value);

// Writes records crash-safely (see save()).
void write_checkpoint(const std::string& path, CheckpointKind kind,
                      const std::vector<CheckpointRecord>& records);
// Reads and verifies everything up to and including the CRC and the entry table's
// consistency; the caller then checks names and shapes against its object.
std::vector<CheckpointRecord> read_checkpoint(const std::string& path, CheckpointKind kind);
// The same checks on a file image already in memory (`path` names it in messages); the
// checkpoint fuzzer's entry point.
std::vector<CheckpointRecord> parse_checkpoint(std::span<const std::byte> file,
                                               const std::string& path, CheckpointKind kind);

// Copies a float32 record into a tensor of the same numel (any strides), without a graph.
RecordType record_type_of(Dtype dtype);  // how a tensor of this dtype is stored
void copy_record_to_tensor(const CheckpointRecord& record, const Tensor& t);
double scalar_double(const CheckpointRecord& record);
std::int64_t scalar_int64(const CheckpointRecord& record);

// Test hook: called at each stage of write_file_atomically (so of every save) with the temporary
// file's path. A hook that throws makes the write fail there (the temporary file is removed, the
// target untouched).
enum class SaveStage { TempCreated, HalfWritten, Written, Renamed };
using SaveHook = std::function<void(SaveStage stage, const std::string& temp_path)>;
void set_checkpoint_save_hook(SaveHook hook);  // an empty function removes it

}  // namespace detail

}  // namespace ember
