// Checkpoint files: the format, crash-safe writing, verified reading. See checkpoint.h.
#include <ember/nn/checkpoint.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <limits>
#include <map>
#include <set>

#include <ember/autograd/grad_mode.h>
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

RecordType record_type_of(Dtype dtype) {
  switch (dtype) {
    case Dtype::Int64:
      return RecordType::Int64;
    case Dtype::UInt8:
      return RecordType::UInt8;
    case Dtype::Float32:
      break;
  }
  return RecordType::Float32;
}

void copy_record_to_tensor(const CheckpointRecord& record, const Tensor& t) {
  if (record.type != RecordType::Float32 && record.type == record_type_of(t.dtype())) {
    // An integer buffer: decode little-endian values, then copy into the tensor's strides.
    const std::size_t size = record_type_size(record.type);
    EMBER_CHECK(static_cast<std::int64_t>(record.bytes.size()) ==
                    t.numel() * static_cast<std::int64_t>(size),
                "load: entry '", record.name, "' has ", record.bytes.size() / size,
                " values, the tensor ", t.numel());
    Tensor decoded = empty(t.sizes(), t.dtype());
    copy_le(reinterpret_cast<std::byte*>(decoded.storage()->data), record.bytes.data(),
            static_cast<std::size_t>(t.numel()), size);
    NoGradGuard guard;
    Tensor dst = t;
    dst.copy_(decoded);
    return;
  }
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
    EMBER_CHECK(r.name.size() <= std::numeric_limits<std::uint32_t>::max(), "save: name too long");
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

std::vector<CheckpointRecord> read_checkpoint(const std::string& path, CheckpointKind kind) {
  // Read the whole file first: nothing is checked or used piecemeal.
  const int fd = ::open(path.c_str(), O_RDONLY);
  EMBER_CHECK(fd >= 0, "load: cannot open '", path, "': ", errno_text(errno));
  std::vector<std::byte> file;
  {
    struct stat st {};
    if (::fstat(fd, &st) == 0 && st.st_size > 0) file.reserve(static_cast<std::size_t>(st.st_size));
    std::byte buffer[1 << 16];
    for (;;) {
      const ssize_t got = ::read(fd, buffer, sizeof buffer);
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) {
        const int err = errno;
        ::close(fd);
        detail::throw_error(concat("load: cannot read '", path, "': ", errno_text(err)));
      }
      if (got == 0) break;
      file.insert(file.end(), buffer, buffer + got);
    }
    ::close(fd);
  }
  const std::size_t size = file.size();
  const std::size_t header = kCheckpointHeaderSize;
  EMBER_CHECK(size >= header, "load: '", path, "' is truncated: ", size,
              " bytes, shorter than the ", header, "-byte header");
  EMBER_CHECK(std::memcmp(file.data(), kCheckpointMagic, 8) == 0, "load: '", path,
              "' is not an ember checkpoint (bad magic, expected \"EMBRCKPT\")");
  const auto version = get_le<std::uint32_t>(file.data() + 8);
  EMBER_CHECK(version == kCheckpointVersion, "load: '", path, "' has format version ", version,
              ", but this build of ember reads version ", kCheckpointVersion);
  const auto file_kind = get_le<std::uint32_t>(file.data() + 12);
  EMBER_CHECK(file_kind == static_cast<std::uint32_t>(kind), "load: '", path, "' is ",
              file_kind == 1 || file_kind == 2
                  ? std::string(kind_name(static_cast<CheckpointKind>(file_kind)))
                  : concat("an unknown kind (", file_kind, ") of"),
              " checkpoint, expected ", kind_name(kind), " checkpoint");
  const auto body_size = get_le<std::uint64_t>(file.data() + 16);
  const std::size_t available = size - header;
  EMBER_CHECK(available >= 4 && body_size <= available - 4, "load: '", path,
              "' is truncated: the header says ", body_size,
              " bytes of body plus a 4-byte CRC, the file has ", available,
              " bytes after the header");
  EMBER_CHECK(body_size == available - 4, "load: '", path, "' has ", available - 4 - body_size,
              " trailing bytes after the checkpoint");
  const std::size_t end = header + body_size;
  const auto stored_crc = get_le<std::uint32_t>(file.data() + end);
  const std::uint32_t crc = crc32_of(file.data(), end);
  EMBER_CHECK(crc == stored_crc, "load: '", path, "' is corrupt: bad CRC-32 (stored 0x", std::hex,
              stored_crc, ", computed 0x", crc, ")");

  // The entry table. The CRC matched, so a failure here means a bad writer, not bad bytes.
  std::size_t pos = header;
  auto need = [&](std::size_t n) {
    EMBER_CHECK(n <= end - pos, "load: '", path,
                "' is corrupt: the entry table overruns the body at byte ", pos);
  };
  need(8);
  const auto count = get_le<std::uint64_t>(file.data() + pos);
  pos += 8;
  EMBER_CHECK(count <= body_size, "load: '", path, "' is corrupt: ", count, " entries");
  std::vector<CheckpointRecord> records(static_cast<std::size_t>(count));
  std::vector<std::size_t> payload_sizes(records.size());
  std::set<std::string> names;
  for (std::size_t i = 0; i < records.size(); ++i) {
    CheckpointRecord& r = records[i];
    need(4);
    const auto name_length = get_le<std::uint32_t>(file.data() + pos);
    pos += 4;
    need(name_length);
    r.name.assign(reinterpret_cast<const char*>(file.data() + pos), name_length);
    pos += name_length;
    EMBER_CHECK(names.insert(r.name).second, "load: '", path, "' is corrupt: entry '", r.name,
                "' appears twice");
    need(1 + 4);
    const auto type = std::to_integer<std::uint8_t>(file[pos]);
    EMBER_CHECK(type <= 3, "load: '", path, "' is corrupt: entry '", r.name, "' has dtype code ",
                static_cast<int>(type));
    r.type = static_cast<RecordType>(type);
    const auto rank = get_le<std::uint32_t>(file.data() + pos + 1);
    pos += 5;
    EMBER_CHECK(rank <= 64, "load: '", path, "' is corrupt: entry '", r.name, "' has rank ", rank);
    need(std::size_t{8} * rank);
    for (std::uint32_t d = 0; d < rank; ++d) {
      r.shape.push_back(get_le<std::int64_t>(file.data() + pos));
      pos += 8;
    }
    const std::int64_t numel = checked_numel(r.shape);
    EMBER_CHECK(numel >= 0 && static_cast<std::uint64_t>(numel) <= body_size, "load: '", path,
                "' is corrupt: entry '", r.name, "' has shape ", to_string(r.shape));
    payload_sizes[i] = static_cast<std::size_t>(numel) * record_type_size(r.type);
  }
  for (std::size_t i = 0; i < records.size(); ++i) {
    need(payload_sizes[i]);
    records[i].bytes.assign(file.begin() + static_cast<std::ptrdiff_t>(pos),
                            file.begin() + static_cast<std::ptrdiff_t>(pos + payload_sizes[i]));
    pos += payload_sizes[i];
  }
  EMBER_CHECK(pos == end, "load: '", path, "' is corrupt: ", end - pos,
              " unused bytes after the last payload");
  return records;
}

}  // namespace detail

// Note [crash-safe save]: write a temporary file in the target's folder (so rename is atomic,
// on one filesystem), fsync it so its bytes are on disk before it gets the target's name,
// rename it over the target, then fsync the folder so the rename itself survives a crash.
// At every instant `path` names either the old file or the new one, complete.
void write_file_atomically(const std::string& path, std::span<const std::byte> bytes) {
  using detail::errno_text;
  using detail::run_hook;
  using detail::SaveStage;
  std::string temp = path + ".tmp.XXXXXX";
  int fd = ::mkstemp(temp.data());
  EMBER_CHECK(fd >= 0, "cannot write '", path, "': cannot create a temporary file '", temp,
              "' next to it: ", errno_text(errno));
  auto fail = [&](const std::string& what, int err) {
    detail::throw_error(
        detail::concat("cannot write '", path, "': ", what, " '", temp, "': ", errno_text(err)));
  };
  try {
    run_hook(SaveStage::TempCreated, temp);
    if (::fchmod(fd, 0644) != 0) fail("cannot chmod", errno);  // mkstemp makes it 0600
    const std::size_t half = bytes.size() / 2;
    if (!detail::write_all(fd, bytes.data(), half)) fail("cannot write", errno);
    run_hook(SaveStage::HalfWritten, temp);
    if (!detail::write_all(fd, bytes.data() + half, bytes.size() - half))
      fail("cannot write", errno);
    if (::fsync(fd) != 0) fail("cannot fsync", errno);
    // close() can report a deferred write error (e.g. on NFS): check it before the rename.
    const int closed = ::close(fd);
    fd = -1;
    if (closed != 0) fail("cannot close", errno);
    run_hook(SaveStage::Written, temp);
    if (::rename(temp.c_str(), path.c_str()) != 0) fail("cannot rename", errno);
  } catch (...) {
    if (fd >= 0) ::close(fd);
    ::unlink(temp.c_str());
    throw;
  }
  const std::string dir = detail::parent_dir(path);
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  EMBER_CHECK(dir_fd >= 0, "cannot open folder '", dir, "' to fsync it after writing '", path,
              "': ", errno_text(errno));
  const int sync_result = ::fsync(dir_fd);
  const int sync_errno = errno;
  ::close(dir_fd);
  EMBER_CHECK(sync_result == 0, "cannot fsync folder '", dir, "' after writing '", path,
              "': ", errno_text(sync_errno));
  run_hook(SaveStage::Renamed, path);
}

void save(const nn::Module& module, const std::string& path) {
  std::vector<detail::CheckpointRecord> records;
  for (const auto& [name, p] : module.named_parameters()) {
    records.push_back(detail::record_from_tensor(name, p));
  }
  for (const auto& [name, b] : module.named_buffers()) {  // as PyTorch's state_dict
    records.push_back(detail::record_from_tensor(name, b));
  }
  detail::write_checkpoint(path, detail::CheckpointKind::Module, records);
}

void load(nn::Module& module, const std::string& path) {
  const auto records = detail::read_checkpoint(path, detail::CheckpointKind::Module);
  auto params = module.named_parameters();
  const auto buffers = module.named_buffers();
  params.insert(params.end(), buffers.begin(), buffers.end());
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
    EMBER_CHECK(r.type == detail::record_type_of(p.dtype()), "load: parameter '", name,
                "': expected dtype ", p.dtype(), ", got ", detail::record_type_name(r.type),
                " in '", path, "'");
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
