/// \file
/// The checkpoint record format: named tensors and scalars in one file with a CRC-32, written
/// crash-safely and read back verified.
///
/// nn saves modules in it and optim its optimizers' state (ember::save / ember::load, in nn's
/// and optim's checkpoint.h); this layer knows names, dtypes and shapes, not modules.
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
/// 64) and payload size against the bytes left. The caller then checks names, dtypes and shapes
/// against its object.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <ember/core/tensor.h>

namespace ember::core {

/// The first 8 bytes of every checkpoint file.
inline constexpr char kCheckpointMagic[8] = {'E', 'M', 'B', 'R', 'C', 'K', 'P', 'T'};
/// The format version this build writes and reads.
inline constexpr std::uint32_t kCheckpointVersion = 1;
/// Magic, version, kind and body size.
inline constexpr std::size_t kCheckpointHeaderSize = 24;

/// What a checkpoint holds (the header's kind field); a file of another kind is refused.
enum class CheckpointKind : std::uint32_t {
  Module = 1,    ///< a module's parameters and buffers
  Optimizer = 2  ///< an optimizer's options and state
};
/// An entry's element type (the entry's dtype byte).
enum class RecordType : std::uint8_t {
  Float32 = 0,  ///< float32 tensors
  Int64 = 1,    ///< int64 tensors and scalars
  UInt8 = 2,    ///< uint8 tensors
  Float64 = 3   ///< float64 scalars (optimizer options)
};

/// One named entry, its payload as raw little-endian bytes (row-major).
struct CheckpointRecord {
  std::string name;                       ///< unique in a file, not empty
  RecordType type = RecordType::Float32;  ///< the element type
  Shape shape;                            ///< `[]` for a scalar
  std::vector<std::byte> bytes;           ///< numel x record_type_size(type) bytes
};

/// The bytes of one element: 4, 8, 1, 8.
std::size_t record_type_size(RecordType type);
/// "float32", "int64", "uint8", "float64", for messages.
const char* record_type_name(RecordType type);
/// How a tensor of `dtype` is stored.
RecordType record_type_of(Dtype dtype);

/// The row-major contents of a tensor of any strides as a record.
/// \throws ember::Error "save: tensor '<name>' is undefined".
CheckpointRecord record_from_tensor(const std::string& name, const Tensor& t);
/// A 0-d float64 record, for optimizer options.
CheckpointRecord scalar_record(const std::string& name, double value);
/// A 0-d int64 record, for counts and flags.
CheckpointRecord scalar_record(const std::string& name, std::int64_t value);
/// The value of a 0-d float64 record.
/// \throws ember::Error "load: entry '<name>' must be a float64 scalar, got ...".
double scalar_double(const CheckpointRecord& record);
/// The value of a 0-d int64 record.
/// \throws ember::Error "load: entry '<name>' must be an int64 scalar, got ...".
std::int64_t scalar_int64(const CheckpointRecord& record);

/// Copies a record into a tensor of the same numel (any strides), bitwise, without a graph; one
/// in-place write (the tensor's version goes up by one).
/// \throws ember::Error when the record's type is not the tensor's (float32 records go only to
///   float32 tensors) or its element count differs; the tensor is then unchanged.
void copy_record_to_tensor(const CheckpointRecord& record, const Tensor& t);

/// Writes `records` to `path` as a checkpoint of `kind`, crash-safely (write_file_atomically in
/// <ember/core/file.h>).
/// \throws ember::Error for an empty or too long name, a payload whose size is not its shape's,
///   or a write failure (naming the path and the system's reason; `path` is then untouched).
void write_checkpoint(const std::string& path, CheckpointKind kind,
                      const std::vector<CheckpointRecord>& records);
/// Reads and verifies everything up to and including the CRC and the entry table's consistency
/// (the checks of this file's documentation); memory is bounded by the file's size, whatever the
/// file claims.
/// \throws ember::Error naming the path and what is wrong.
std::vector<CheckpointRecord> read_checkpoint(const std::string& path, CheckpointKind kind);
/// The same checks on a file image already in memory (`path` names it in messages); the
/// checkpoint fuzzer's entry point.
/// \throws ember::Error naming `path` and what is wrong.
std::vector<CheckpointRecord> parse_checkpoint(std::span<const std::byte> file,
                                               const std::string& path, CheckpointKind kind);

}  // namespace ember::core
