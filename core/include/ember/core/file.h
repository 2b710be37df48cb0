/// \file
/// Files below every module that saves something: crash-safe writing, checked reading, and
/// little-endian byte order.
///
/// The file formats (the checkpoint record format in <ember/core/record_format.h>, safetensors)
/// are built on these; nn, optim and the apps save through them. Errors throw ember::Error naming
/// the path and the system's reason (errno text).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace ember {

namespace core {

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

/// A regular file open for reading, refused before a byte is read when it is anything else.
///
/// For loaders of untrusted files (Note [bounded loading] in core/src/io/record_format.cpp):
/// size() is known before reading, so a header can be checked against it before anything is
/// allocated from the numbers it claims. Every message starts with `op` (e.g. "load") and names
/// the path.
class InputFile {
 public:
  /// Opens `path` without blocking (a FIFO does not wait for a writer) and checks that it is a
  /// regular file.
  /// \throws ember::Error "<op>: cannot open '<path>': <reason>", "<op>: cannot stat ...", or
  ///   "<op>: '<path>' is a directory, not a regular file: <hint>" (a device, FIFO or socket
  ///   likewise; ": <hint>" only when `hint` is not empty).
  InputFile(const std::string& path, std::string_view op, std::string_view hint = {});
  ~InputFile();
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  /// The file's size in bytes when it was opened.
  std::uint64_t size() const { return size_; }
  /// The path given when opening, for messages.
  const std::string& path() const { return path_; }

  /// Reads exactly `to.size()` bytes at the current position (retrying on EINTR).
  /// \throws ember::Error "<op>: cannot read '<path>': <reason>", or "<op>: '<path>' is truncated:
  ///   it shrank while being read" when the file ends first.
  void read(std::span<std::byte> to);
  /// True when no byte follows the current position (reads one to find out).
  /// \throws ember::Error "<op>: cannot read '<path>': <reason>".
  bool at_end();

 private:
  int fd_ = -1;
  std::string path_;
  std::string op_;
  std::uint64_t size_ = 0;
};

/// A buffer of `n` bytes for a file's image, refusing sizes this process cannot hold.
/// \throws ember::Error "<op>: '<path>' is too large (<n> bytes)" above half the address space,
///   or "<op>: '<path>' is <n> bytes, more than this process can allocate".
std::vector<std::byte> allocate_file_buffer(std::uint64_t n, const std::string& path,
                                            std::string_view op);

/// The whole of a regular file (InputFile's checks and messages, op "load"); for small files.
/// \throws ember::Error as InputFile and allocate_file_buffer, or when the file changes size
///   while being read.
std::vector<std::byte> read_file(const std::string& path, std::string_view op = "load");

/// \name Little-endian byte order
/// File formats store integers and floats little-endian; these convert on any host.
/// \{

/// Appends `value` to `out` as sizeof(T) little-endian bytes (T an integer).
template <class T>
void put_le(std::vector<std::byte>& out, T value) {
  static_assert(std::is_integral_v<T>);
  using U = std::make_unsigned_t<T>;
  U bits = static_cast<U>(value);
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    out.push_back(static_cast<std::byte>(bits & 0xFFu));
    bits = static_cast<U>(bits >> 8);
  }
}

/// The integer T stored little-endian at `in` (sizeof(T) bytes, any alignment).
template <class T>
T get_le(const std::byte* in) {
  static_assert(std::is_integral_v<T>);
  using U = std::make_unsigned_t<T>;
  U bits = 0;
  for (std::size_t i = sizeof(T); i-- > 0;) {
    bits = static_cast<U>((bits << 8) | static_cast<U>(std::to_integer<unsigned>(in[i])));
  }
  return static_cast<T>(bits);
}

/// Copies `n` elements of `size` bytes each from host order to little-endian (or back: the
/// conversion is its own inverse). A plain memcpy on a little-endian host.
inline void copy_le(std::byte* dst, const std::byte* src, std::size_t n, std::size_t size) {
  if constexpr (std::endian::native == std::endian::little) {
    if (n > 0) std::memcpy(dst, src, n * size);
  } else {
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t b = 0; b < size; ++b) dst[i * size + b] = src[i * size + size - 1 - b];
    }
  }
}
/// \}

/// \cond INTERNAL
namespace detail {
// Test hook: called at each stage of write_file_atomically (so of every save) with the temporary
// file's path (the target's path for Renamed). A hook that throws makes the write fail there
// (the temporary file is removed, the target untouched).
enum class SaveStage { TempCreated, HalfWritten, Written, Renamed };
using SaveHook = std::function<void(SaveStage stage, const std::string& temp_path)>;
void set_save_hook(SaveHook hook);  // an empty function removes it
}  // namespace detail
/// \endcond

}  // namespace core

/// The spelling users have written since issue 13 (`ember::write_file_atomically`); see
/// core::write_file_atomically.
using core::write_file_atomically;

}  // namespace ember
