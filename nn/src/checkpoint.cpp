// Checkpoint files: the format, crash-safe writing, verified reading. See checkpoint.h.
#include <ember/nn/checkpoint.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cstring>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <string_view>

#include <ember/core/error.h>

#include "detail/raw_tensor.h"

namespace ember {

namespace detail {

namespace {

SaveHook& save_hook() {
  static SaveHook hook;
  return hook;
}

void run_hook(SaveStage stage, const std::string& temp_path) {
  if (save_hook()) save_hook()(stage, temp_path);
}

std::string errno_text(int err) {
  return std::strerror(err);
}

// --- Little-endian encoding ---

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

template <class T>
T get_le(const std::byte* in) {
  using U = std::make_unsigned_t<T>;
  U bits = 0;
  for (std::size_t i = sizeof(T); i-- > 0;) {
    bits = static_cast<U>((bits << 8) | static_cast<U>(std::to_integer<unsigned>(in[i])));
  }
  return static_cast<T>(bits);
}

// Copies n elements of `size` bytes each, converting host order to little-endian (or back:
// the conversion is its own inverse).
void copy_le(std::byte* dst, const std::byte* src, std::size_t n, std::size_t size) {
  if constexpr (std::endian::native == std::endian::little) {
    if (n > 0) std::memcpy(dst, src, n * size);
  } else {
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t b = 0; b < size; ++b) dst[i * size + b] = src[i * size + size - 1 - b];
    }
  }
}

std::uint32_t crc32_of(const std::byte* data, std::size_t n) {
  uLong crc = crc32(0L, Z_NULL, 0);
  // zlib takes uInt lengths: feed large buffers in pieces.
  while (n > 0) {
    const std::size_t piece = std::min<std::size_t>(n, 1u << 30);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(data), static_cast<uInt>(piece));
    data += piece;
    n -= piece;
  }
  return static_cast<std::uint32_t>(crc);
}

// "a module" or "an optimizer", for messages.
const char* kind_name(CheckpointKind kind) {
  switch (kind) {
    case CheckpointKind::Module:
      return "a module";
    case CheckpointKind::Optimizer:
      return "an optimizer";
  }
  return "an unknown";
}

std::string parent_dir(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// write() until done, retrying on EINTR; false with errno set on failure.
bool write_all(int fd, const std::byte* data, std::size_t n) {
  while (n > 0) {
    const ssize_t written = ::write(fd, data, n);
    if (written < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (written == 0) {  // no progress and no error: never loop forever on it
      errno = EIO;
      return false;
    }
    data += written;
    n -= static_cast<std::size_t>(written);
  }
  return true;
}

std::int64_t checked_numel(const Shape& shape) {
  std::int64_t n = 1;
  for (std::int64_t d : shape) {
    if (d < 0) return -1;
    if (d != 0 && n > std::numeric_limits<std::int64_t>::max() / d) return -1;
    n *= d;
  }
  return n;
}

}  // namespace

std::size_t record_type_size(RecordType type) {
  switch (type) {
    case RecordType::Float32:
      return 4;
    case RecordType::Int64:
      return 8;
    case RecordType::UInt8:
      return 1;
    case RecordType::Float64:
      return 8;
  }
  return 0;
}

const char* record_type_name(RecordType type) {
  switch (type) {
    case RecordType::Float32:
      return "float32";
    case RecordType::Int64:
      return "int64";
    case RecordType::UInt8:
      return "uint8";
    case RecordType::Float64:
      return "float64";
  }
  return "unknown";
}

CheckpointRecord record_from_tensor(const std::string& name, const Tensor& t) {
  EMBER_CHECK(t.defined(), "save: tensor '", name, "' is undefined");
  CheckpointRecord record;
  record.name = name;
  record.shape = t.sizes();
  auto fill = [&](const auto& values, RecordType type) {
    record.type = type;
    const std::size_t size = record_type_size(type);
    record.bytes.resize(values.size() * size);
    copy_le(record.bytes.data(), reinterpret_cast<const std::byte*>(values.data()), values.size(),
            size);
  };
  switch (t.dtype()) {
    case Dtype::Float32:
      fill(t.to_vector<float>(), RecordType::Float32);
      break;
    case Dtype::Int64:
      fill(t.to_vector<std::int64_t>(), RecordType::Int64);
      break;
    case Dtype::UInt8:
      fill(t.to_vector<std::uint8_t>(), RecordType::UInt8);
      break;
  }
  return record;
}

CheckpointRecord scalar_record(const std::string& name, double value) {
  CheckpointRecord record{name, RecordType::Float64, {}, std::vector<std::byte>(8)};
  copy_le(record.bytes.data(), reinterpret_cast<const std::byte*>(&value), 1, 8);
  return record;
}

CheckpointRecord scalar_record(const std::string& name, std::int64_t value) {
  CheckpointRecord record{name, RecordType::Int64, {}, std::vector<std::byte>(8)};
  copy_le(record.bytes.data(), reinterpret_cast<const std::byte*>(&value), 1, 8);
  return record;
}

double scalar_double(const CheckpointRecord& record) {
  EMBER_CHECK(record.type == RecordType::Float64 && record.bytes.size() == 8, "load: entry '",
              record.name, "' must be a float64 scalar, got ", record_type_name(record.type), " ",
              to_string(record.shape));
  double value = 0;
  copy_le(reinterpret_cast<std::byte*>(&value), record.bytes.data(), 1, 8);
  return value;
}

std::int64_t scalar_int64(const CheckpointRecord& record) {
  EMBER_CHECK(record.type == RecordType::Int64 && record.bytes.size() == 8, "load: entry '",
              record.name, "' must be an int64 scalar, got ", record_type_name(record.type), " ",
              to_string(record.shape));
  std::int64_t value = 0;
  copy_le(reinterpret_cast<std::byte*>(&value), record.bytes.data(), 1, 8);
  return value;
}

void copy_record_to_tensor(const CheckpointRecord& record, const Tensor& t) {
  EMBER_CHECK(record.type == RecordType::Float32, "load: entry '", record.name,
              "' must be float32, got ", record_type_name(record.type));
  EMBER_CHECK(static_cast<std::int64_t>(record.bytes.size()) == t.numel() * 4, "load: entry '",
              record.name, "' has ", record.bytes.size() / 4, " values, the tensor ", t.numel());
  std::vector<float> values(record.bytes.size() / 4);
  copy_le(reinterpret_cast<std::byte*>(values.data()), record.bytes.data(), values.size(), 4);
  nn::detail::write_floats(t, values.data(), "load");
}

void set_checkpoint_save_hook(SaveHook hook) {
  save_hook() = std::move(hook);
}

void write_checkpoint(const std::string& path, CheckpointKind kind,
                      const std::vector<CheckpointRecord>& records) {
  // The whole file image in memory: header (body size patched below), body, CRC.
  std::vector<std::byte> file(reinterpret_cast<const std::byte*>(kCheckpointMagic),
                              reinterpret_cast<const std::byte*>(kCheckpointMagic) + 8);
  put_le<std::uint32_t>(file, kCheckpointVersion);
  put_le<std::uint32_t>(file, static_cast<std::uint32_t>(kind));
  put_le<std::uint64_t>(file, 0);
  put_le<std::uint64_t>(file, records.size());
  for (const CheckpointRecord& r : records) {
    EMBER_CHECK(!r.name.empty() && r.name.size() <= std::numeric_limits<std::uint32_t>::max(),
                "save: an entry name must have 1 to 2^32-1 bytes, got ", r.name.size());
    const std::int64_t numel = checked_numel(r.shape);
    EMBER_CHECK(
        numel >= 0 && static_cast<std::size_t>(numel) * record_type_size(r.type) == r.bytes.size(),
        "save: entry '", r.name, "' has ", r.bytes.size(), " bytes for shape ", to_string(r.shape));
    put_le<std::uint32_t>(file, static_cast<std::uint32_t>(r.name.size()));
    const auto* name = reinterpret_cast<const std::byte*>(r.name.data());
    file.insert(file.end(), name, name + r.name.size());
    put_le<std::uint8_t>(file, static_cast<std::uint8_t>(r.type));
    put_le<std::uint32_t>(file, static_cast<std::uint32_t>(r.shape.size()));
    for (std::int64_t d : r.shape) put_le<std::int64_t>(file, d);
  }
  for (const CheckpointRecord& r : records) file.insert(file.end(), r.bytes.begin(), r.bytes.end());
  const std::uint64_t body_size = file.size() - kCheckpointHeaderSize;
  std::vector<std::byte> size_bytes;
  put_le<std::uint64_t>(size_bytes, body_size);
  std::copy(size_bytes.begin(), size_bytes.end(), file.begin() + 16);
  put_le<std::uint32_t>(file, crc32_of(file.data(), file.size()));

  write_file_atomically(path, file);
}

namespace {

// Note [bounded loading]: a checkpoint file is hostile until proven otherwise. Nothing is
// allocated from a number in the file before that number is checked against the bytes that
// remain: the file itself is read only after its header has been checked against its size (so
// /dev/zero, a FIFO or a file whose header lies is refused after 24 bytes), the entry count is
// bounded by the body size over the smallest possible entry, and every name length, rank and
// payload size by the bytes left in the body. Peak memory is therefore the file's size twice
// (the file image and the payloads copied out of it) plus about 150 bytes per entry, an entry
// taking at least kMinEntryBytes of the file.
constexpr std::size_t kMinEntryBytes = 4 + 1 + 1 + 4;  // name length, 1-byte name, dtype, rank
constexpr std::uint32_t kMaxRank = 64;

void check_header(const std::byte* header, std::uint64_t file_size, const std::string& path,
                  CheckpointKind kind) {
  EMBER_CHECK(std::memcmp(header, kCheckpointMagic, 8) == 0, "load: '", path,
              "' is not an ember checkpoint (bad magic, expected \"EMBRCKPT\")");
  const auto version = get_le<std::uint32_t>(header + 8);
  EMBER_CHECK(version == kCheckpointVersion, "load: '", path, "' has format version ", version,
              ", but this build of ember reads version ", kCheckpointVersion);
  const auto file_kind = get_le<std::uint32_t>(header + 12);
  EMBER_CHECK(file_kind == static_cast<std::uint32_t>(kind), "load: '", path, "' is ",
              file_kind == 1 || file_kind == 2
                  ? std::string(kind_name(static_cast<CheckpointKind>(file_kind)))
                  : concat("an unknown kind (", file_kind, ") of"),
              " checkpoint, expected ", kind_name(kind), " checkpoint");
  const auto body_size = get_le<std::uint64_t>(header + 16);
  const std::uint64_t available = file_size - kCheckpointHeaderSize;
  EMBER_CHECK(available >= 4 && body_size <= available - 4, "load: '", path,
              "' is truncated: the header says ", body_size,
              " bytes of body plus a 4-byte CRC, the file has ", available,
              " bytes after the header");
  EMBER_CHECK(body_size == available - 4, "load: '", path, "' has ", available - 4 - body_size,
              " trailing bytes after the checkpoint");
}

// What a file's mode says it is, for "is not a regular file" messages.
const char* file_type_name(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

// read() until n bytes or end of file, retrying on EINTR; the count read, or -1 with errno set.
ssize_t read_full(int fd, std::byte* data, std::size_t n) {
  std::size_t done = 0;
  while (done < n) {
    const ssize_t got = ::read(fd, data + done, n - done);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return -1;
    if (got == 0) break;
    done += static_cast<std::size_t>(got);
  }
  return static_cast<ssize_t>(done);
}

// The whole file image, read only after its header has been checked against its size.
std::vector<std::byte> read_checkpoint_file(const std::string& path, CheckpointKind kind) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; the file is refused just below.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  EMBER_CHECK(fd >= 0, "load: cannot open '", path, "': ", errno_text(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  EMBER_CHECK(::fstat(fd, &st) == 0, "load: cannot stat '", path, "': ", errno_text(errno));
  EMBER_CHECK(S_ISREG(st.st_mode), "load: '", path, "' is ", file_type_name(st.st_mode),
              ", not a regular file: a checkpoint is a file written by ember::save");
  const auto file_size = static_cast<std::uint64_t>(st.st_size);
  const std::size_t header = kCheckpointHeaderSize;
  EMBER_CHECK(file_size >= header, "load: '", path, "' is truncated: ", file_size,
              " bytes, shorter than the ", header, "-byte header");
  EMBER_CHECK(file_size <= std::numeric_limits<std::size_t>::max() / 2, "load: '", path,
              "' is too large (", file_size, " bytes)");
  std::vector<std::byte> file;
  try {
    file.resize(static_cast<std::size_t>(file_size));
  } catch (const std::bad_alloc&) {
    detail::throw_error(
        concat("load: '", path, "' is ", file_size, " bytes, more than this process can allocate"));
  }
  auto read_or_throw = [&](std::byte* to, std::size_t n) {
    const ssize_t got = read_full(fd, to, n);
    EMBER_CHECK(got >= 0, "load: cannot read '", path, "': ", errno_text(errno));
    EMBER_CHECK(static_cast<std::size_t>(got) == n, "load: '", path,
                "' is truncated: it shrank while being read");
  };
  read_or_throw(file.data(), header);
  check_header(file.data(), file_size, path, kind);
  read_or_throw(file.data() + header, file.size() - header);
  std::byte extra{};
  EMBER_CHECK(read_full(fd, &extra, 1) == 0, "load: '", path,
              "' has trailing bytes after the checkpoint: it grew while being read");
  return file;
}

}  // namespace

std::vector<CheckpointRecord> parse_checkpoint(std::span<const std::byte> file,
                                               const std::string& path, CheckpointKind kind) {
  const std::size_t size = file.size();
  const std::size_t header = kCheckpointHeaderSize;
  EMBER_CHECK(size >= header, "load: '", path, "' is truncated: ", size,
              " bytes, shorter than the ", header, "-byte header");
  check_header(file.data(), size, path, kind);
  const std::size_t end = size - 4;
  const auto stored_crc = get_le<std::uint32_t>(file.data() + end);
  const std::uint32_t crc = crc32_of(file.data(), end);
  EMBER_CHECK(crc == stored_crc, "load: '", path, "' is corrupt: bad CRC-32 (stored 0x", std::hex,
              stored_crc, ", computed 0x", crc, ")");

  // The entry table (Note [bounded loading]). The CRC matched, so a failure here means a bad
  // or hostile writer, not bad bytes.
  std::size_t pos = header;
  auto need = [&](std::uint64_t n, const char* what) {
    EMBER_CHECK(n <= end - pos, "load: '", path, "' is corrupt: ", what, " at byte ", pos,
                " needs ", n, " bytes, the body has ", end - pos, " left");
  };
  need(8, "the entry count");
  const auto count = get_le<std::uint64_t>(file.data() + pos);
  pos += 8;
  EMBER_CHECK(count <= (end - pos) / kMinEntryBytes, "load: '", path, "' is corrupt: ", count,
              " entries cannot fit in the ", end - pos, " bytes left (an entry takes at least ",
              kMinEntryBytes, ")");
  std::vector<CheckpointRecord> records(static_cast<std::size_t>(count));
  std::vector<std::size_t> payload_sizes(records.size());
  for (std::size_t i = 0; i < records.size(); ++i) {
    CheckpointRecord& r = records[i];
    need(4, "a name length");
    const auto name_length = get_le<std::uint32_t>(file.data() + pos);
    pos += 4;
    EMBER_CHECK(name_length > 0, "load: '", path, "' is corrupt: entry ", i, " has an empty name");
    need(name_length, "a name");
    r.name.assign(reinterpret_cast<const char*>(file.data() + pos), name_length);
    pos += name_length;
    need(1 + 4, "a dtype and rank");
    const auto type = std::to_integer<std::uint8_t>(file[pos]);
    EMBER_CHECK(type <= 3, "load: '", path, "' is corrupt: entry '", r.name, "' has dtype code ",
                static_cast<int>(type));
    r.type = static_cast<RecordType>(type);
    const auto rank = get_le<std::uint32_t>(file.data() + pos + 1);
    pos += 5;
    EMBER_CHECK(rank <= kMaxRank, "load: '", path, "' is corrupt: entry '", r.name, "' has rank ",
                rank);
    need(std::uint64_t{8} * rank, "a shape");
    r.shape.resize(rank);
    for (std::uint32_t d = 0; d < rank; ++d) {
      r.shape[d] = get_le<std::int64_t>(file.data() + pos);
      pos += 8;
    }
    // The payloads follow the whole table: each must fit in what is left after this entry.
    const std::int64_t numel = checked_numel(r.shape);
    const std::uint64_t left = end - pos;
    EMBER_CHECK(numel >= 0 && static_cast<std::uint64_t>(numel) <= left / record_type_size(r.type),
                "load: '", path, "' is corrupt: entry '", r.name, "' has shape ",
                to_string(r.shape), ", more ", record_type_name(r.type), " values than the ", left,
                " bytes left");
    payload_sizes[i] = static_cast<std::size_t>(numel) * record_type_size(r.type);
  }
  // Names are unique: sort views of them and compare neighbours (no per-name allocation).
  {
    std::vector<std::string_view> names;
    names.reserve(records.size());
    for (const CheckpointRecord& r : records) names.emplace_back(r.name);
    std::sort(names.begin(), names.end());
    const auto twice = std::adjacent_find(names.begin(), names.end());
    EMBER_CHECK(twice == names.end(), "load: '", path, "' is corrupt: entry '",
                twice == names.end() ? std::string_view() : *twice, "' appears twice");
  }
  for (std::size_t i = 0; i < records.size(); ++i) {
    need(payload_sizes[i], "a payload");
    records[i].bytes.assign(file.begin() + static_cast<std::ptrdiff_t>(pos),
                            file.begin() + static_cast<std::ptrdiff_t>(pos + payload_sizes[i]));
    pos += payload_sizes[i];
  }
  EMBER_CHECK(pos == end, "load: '", path, "' is corrupt: ", end - pos,
              " unused bytes after the last payload");
  return records;
}

std::vector<CheckpointRecord> read_checkpoint(const std::string& path, CheckpointKind kind) {
  const std::vector<std::byte> file = read_checkpoint_file(path, kind);
  return parse_checkpoint(file, path, kind);
}

}  // namespace detail

namespace detail {

namespace {

// `path` with every symbolic link on its last component followed: saving to a link replaces
// the link's target, as writing to it would (a dangling link names the file to create).
std::string resolve_symlinks(const std::string& path) {
  std::string current = path;
  for (int hops = 0;; ++hops) {
    struct stat st {};
    if (::lstat(current.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return current;
    EMBER_CHECK(hops < 40, "cannot write '", path, "': too many levels of symbolic links");
    std::string link(static_cast<std::size_t>(st.st_size > 0 ? st.st_size : 255) + 1, '\0');
    for (;;) {
      const ssize_t n = ::readlink(current.c_str(), link.data(), link.size());
      EMBER_CHECK(n >= 0, "cannot write '", path, "': cannot read the symbolic link '", current,
                  "': ", errno_text(errno));
      if (static_cast<std::size_t>(n) < link.size()) {
        link.resize(static_cast<std::size_t>(n));
        break;
      }
      link.resize(link.size() * 2);  // the link changed since lstat: read again
    }
    current = link.starts_with('/') ? link : parent_dir(current) + "/" + link;
  }
}

std::string base_name(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// A fresh temporary name next to `base` that fits NAME_MAX however long `base` is:
// "<base>.tmp.XXXXXX", with `base` cut short when needed (the name only has to be unique).
std::string temp_name(const std::string& base) {
  static constexpr char kChars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  static std::atomic<std::uint64_t> counter{std::random_device{}()};
  std::uint64_t bits =
      counter.fetch_add(0x9E3779B97F4A7C15ull) ^ (static_cast<std::uint64_t>(::getpid()) << 32);
  std::string suffix = ".tmp.";
  for (int i = 0; i < 6; ++i) {
    suffix += kChars[bits % 62];
    bits /= 62;
  }
  constexpr std::size_t kNameMax = 255;
  return base.substr(0, std::min(base.size(), kNameMax - suffix.size())) + suffix;
}

// fsync, retrying on EINTR; a folder whose filesystem cannot fsync folders (EINVAL) counts as
// synced.
int fsync_retrying(int fd, bool folder) {
  int result;
  do {
    result = ::fsync(fd);
  } while (result != 0 && errno == EINTR);
  if (result != 0 && folder && errno == EINVAL) return 0;
  return result;
}

}  // namespace

}  // namespace detail

// Note [crash-safe save]: write a temporary file in the target's folder (so rename is atomic,
// on one filesystem), fsync it so its bytes are on disk before it gets the target's name,
// rename it over the target, then fsync the folder so the rename itself survives a crash.
// At every instant `path` names either the old file or the new one, complete.
//
// Note [file semantics]: the result is the file the user would get from writing `path` in
// place. A new file gets 0666 & ~umask (the temporary file is created with 0666, so the
// kernel applies the umask and any default ACL); a replaced file keeps its mode (and owner,
// where we may set it), the temporary file being created 0600 until it has them; a symbolic
// link is written through (its target is replaced, atomically, and the link stays); a name of
// up to NAME_MAX bytes works (the temporary name is cut to fit); anything but a regular file is
// never replaced. All work is relative to the folder's descriptor, so the folder is the one
// fsynced and a long path is resolved once.
void write_file_atomically(const std::string& path, std::span<const std::byte> bytes) {
  using detail::errno_text;
  using detail::run_hook;
  using detail::SaveStage;
  EMBER_CHECK(!path.empty(), "cannot write '': the path is empty");
  const std::string target = detail::resolve_symlinks(path);
  const std::string dir = detail::parent_dir(target);
  const std::string base = detail::base_name(target);
  EMBER_CHECK(!base.empty() && base != "." && base != "..", "cannot write '", path,
              "': it names a folder, not a file");
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  EMBER_CHECK(dir_fd >= 0, "cannot write '", path, "': cannot open its folder '", dir,
              "': ", errno_text(errno));
  struct DirCloser {
    int fd;
    ~DirCloser() { ::close(fd); }
  } dir_closer{dir_fd};

  struct stat old {};
  const bool replacing = ::fstatat(dir_fd, base.c_str(), &old, AT_SYMLINK_NOFOLLOW) == 0;
  EMBER_CHECK(!replacing || S_ISREG(old.st_mode), "cannot write '", path, "': '", target,
              "' exists and is ", detail::file_type_name(old.st_mode),
              ", not a regular file; refusing to replace it");

  std::string temp;
  int fd = -1;
  for (int attempt = 0; fd < 0 && attempt < 100; ++attempt) {
    temp = detail::temp_name(base);
    fd = ::openat(dir_fd, temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                  replacing ? 0600 : 0666);
    if (fd < 0 && errno != EEXIST) break;
  }
  EMBER_CHECK(fd >= 0, "cannot write '", path, "': cannot create a temporary file in the folder '",
              dir, "': ", errno_text(errno));
  const std::string temp_path = dir + "/" + temp;
  auto fail = [&](const std::string& what, int err) {
    detail::throw_error(detail::concat("cannot write '", path, "': ", what, " '", temp_path,
                                       "': ", errno_text(err)));
  };
  try {
    run_hook(SaveStage::TempCreated, temp_path);
    if (replacing) {
      // Owner first (chown clears set-id bits), then the mode; an owner we may not give (we
      // are not root) stays ours, and then the set-id bits are not carried over.
      bool owned = old.st_uid == ::geteuid() && old.st_gid == ::getegid();
      if (!owned) owned = ::fchown(fd, old.st_uid, old.st_gid) == 0;
      const mode_t mode = old.st_mode & (owned ? 07777 : 0777);
      if (::fchmod(fd, mode) != 0) fail("cannot set the mode of", errno);
    }
    const std::size_t half = bytes.size() / 2;
    if (!detail::write_all(fd, bytes.data(), half)) fail("cannot write", errno);
    run_hook(SaveStage::HalfWritten, temp_path);
    if (!detail::write_all(fd, bytes.data() + half, bytes.size() - half))
      fail("cannot write", errno);
    if (detail::fsync_retrying(fd, false) != 0) fail("cannot fsync", errno);
    // close() can report a deferred write error (e.g. on NFS): check it before the rename. On
    // Linux the descriptor is gone even when close() fails, so it is never closed twice.
    const int closed = ::close(fd);
    fd = -1;
    if (closed != 0 && errno != EINTR) fail("cannot close", errno);
    run_hook(SaveStage::Written, temp_path);
    if (::renameat(dir_fd, temp.c_str(), dir_fd, base.c_str()) != 0)
      fail("cannot rename to '" + target + "'", errno);
  } catch (...) {
    if (fd >= 0) ::close(fd);
    ::unlinkat(dir_fd, temp.c_str(), 0);
    throw;
  }
  EMBER_CHECK(detail::fsync_retrying(dir_fd, true) == 0, "wrote '", path,
              "', but cannot fsync its folder '", dir,
              "' (the new file may not survive a crash): ", errno_text(errno));
  run_hook(SaveStage::Renamed, path);
}

void save(const nn::Module& module, const std::string& path) {
  std::vector<detail::CheckpointRecord> records;
  for (const auto& [name, p] : module.named_parameters()) {
    records.push_back(detail::record_from_tensor(name, p));
  }
  detail::write_checkpoint(path, detail::CheckpointKind::Module, records);
}

void load(nn::Module& module, const std::string& path) {
  const auto records = detail::read_checkpoint(path, detail::CheckpointKind::Module);
  const auto params = module.named_parameters();
  std::map<std::string, const detail::CheckpointRecord*> by_name;
  for (const auto& r : records) by_name[r.name] = &r;

  // Check everything first (no partial load).
  std::set<std::string> expected;
  for (const auto& [name, p] : params) {
    expected.insert(name);
    auto it = by_name.find(name);
    EMBER_CHECK(it != by_name.end(), "load: parameter '", name, "' ", to_string(p.sizes()),
                " of the module is missing from '", path, "' (the module has ", params.size(),
                " parameters, the file ", records.size(), ")");
    const detail::CheckpointRecord& r = *it->second;
    EMBER_CHECK(r.type == detail::RecordType::Float32, "load: parameter '", name,
                "': expected dtype float32, got ", detail::record_type_name(r.type), " in '", path,
                "'");
    EMBER_CHECK(r.shape == p.sizes(), "load: parameter '", name, "': expected shape ",
                to_string(p.sizes()), ", got ", to_string(r.shape), " in '", path, "'");
  }
  for (const auto& r : records) {
    EMBER_CHECK(expected.count(r.name) != 0, "load: '", path, "' holds parameter '", r.name, "' ",
                to_string(r.shape), ", which the module does not have");
  }
  for (const auto& [name, p] : params) detail::copy_record_to_tensor(*by_name.at(name), p);
}

}  // namespace ember
