/// \file
/// Reading IDX files, the format of MNIST and Fashion-MNIST, plain or gzip-compressed.
///
/// \par The IDX format (http://yann.lecun.com/exdb/mnist/, "THE IDX FILE FORMAT")
/// \code{.unparsed}
///   byte 0-1   0x00 0x00
///   byte 2     type code: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32,
///              0x0E float64
///   byte 3     number of dims, D
///   4*D bytes  each dim's size, big-endian uint32, outermost first
///   then       prod(dims) items of the type, big-endian, row-major
/// \endcode
/// The tensor's dtype fits the type code:
/// \code{.unparsed}
///   uint8                 -> uint8    (as is)
///   int8, int16, int32    -> int64    (exact)
///   float32               -> float32  (exact, byte-swapped)
///   float64               -> float32  (ROUNDED to nearest: ember computes in float32)
/// \endcode
///
/// Decisions (each one tested in tests/datasets/test_idx.cpp):
/// - gzip is detected by content, not by name: data starting with the gzip magic 0x1f 0x8b is
///   inflated as a stream (zlib), member after member, so a multi-member file (`cat a.gz b.gz`)
///   reads as the concatenation of its members. A file named `.gz` that is not gzip-compressed
///   (a browser may have inflated it already) is read as plain IDX.
/// - Trailing bytes after the declared data are an ERROR (a header that disagrees with its file
///   is a corrupt file; silently ignoring them would hide a wrong dims field).
/// - Zero dims or more than kMaxIdxDims dims are an error; a dim of size 0 is allowed (an empty
///   tensor), though the other dims still count against kMaxIdxBytes.
/// - The decoded tensor may take at most kMaxIdxBytes bytes; a header declaring more, or whose
///   size overflows, is refused before anything is allocated. So is a header declaring more data
///   than the file can hold: its exact remaining size for a plain file, and 1032 times the
///   compressed size (deflate's largest ratio) for gzip. A gzip bomb is stopped as soon as its
///   output exceeds what the header declared.
/// - Memory: the tensor plus fixed-size buffers (the plain file is read in one pass straight into
///   the tensor's buffer; gzip is inflated straight into it when no conversion is needed).
///
/// Throws ember::Error for every malformed input, naming the file, the byte offset (in the
/// decompressed stream for IDX problems, in the compressed file for gzip problems), what was
/// expected and what was found, and a hint; never crashes, hangs or reads out of bounds
/// (fuzzed: tests/fuzz/).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include <ember/core/tensor.h>

namespace ember::datasets {

/// The most dims an IDX header may declare.
inline constexpr int kMaxIdxDims = 8;
/// The most bytes a decoded IDX tensor may take: 4 GiB.
inline constexpr std::uint64_t kMaxIdxBytes = std::uint64_t{4} << 30;

/// Reads the IDX file at `path` (plain or gzip) into a new contiguous tensor of D dims
/// [d1, ..., dD], its dtype fitting the type code (see this file's documentation).
/// \throws ember::Error for a file that cannot be read and for every malformed input, naming
///   the file, the byte offset, what was expected and what was found, and a hint.
Tensor read_idx(const std::string& path);

/// Parses IDX data (plain or gzip) already in memory, as read_idx(); `name` is used in error
/// messages. This is the entry point of the fuzz target.
/// \throws ember::Error for every malformed input, as read_idx().
Tensor parse_idx(const std::uint8_t* data, std::size_t size, const std::string& name);

}  // namespace ember::datasets
