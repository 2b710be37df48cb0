// The checkpoint record format: encoding, CRC, verified parsing. See record_format.h.
#include <ember/core/record_format.h>

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <string_view>

#include <ember/core/error.h>
#include <ember/core/file.h>

namespace ember::core {

namespace {

using ember::detail::concat;

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

std::int64_t checked_numel(const Shape& shape) {
  std::int64_t n = 1;
  for (std::int64_t d : shape) {
    if (d < 0) return -1;
    if (d != 0 && n > std::numeric_limits<std::int64_t>::max() / d) return -1;
    n *= d;
  }
  return n;
}

// Copies a contiguous row-major image of t's elements (`src`, element size `size`) into t's
// strides: one raw in-place write, so one version bump (Tensor::mutable_data_ptr).
void write_strided(const Tensor& t, const std::byte* src, std::size_t size) {
  std::byte* base = t.mutable_data_ptr<std::byte>();
  const std::int64_t n = t.numel();
  if (n == 0) return;
  if (t.is_contiguous()) {
    std::memcpy(base, src, static_cast<std::size_t>(n) * size);
    return;
  }
  const Shape& sizes = t.sizes();
  const Shape& strides = t.strides();
  const std::size_t rank = sizes.size();
  std::vector<std::int64_t> index(rank, 0);
  std::int64_t offset = 0;  // in elements
  for (std::int64_t i = 0; i < n; ++i) {
    std::memcpy(base + offset * static_cast<std::int64_t>(size), src, size);
    src += size;
    // Odometer increment from the last dim.
    for (std::size_t d = rank; d-- > 0;) {
      if (++index[d] < sizes[d]) {
        offset += strides[d];
        break;
      }
      offset -= strides[d] * (sizes[d] - 1);
      index[d] = 0;
    }
  }
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
    // An integer buffer: little-endian values into the tensor's strides.
    const std::size_t size = record_type_size(record.type);
    EMBER_CHECK(static_cast<std::int64_t>(record.bytes.size()) ==
                    t.numel() * static_cast<std::int64_t>(size),
                "load: entry '", record.name, "' has ", record.bytes.size() / size,
                " values, the tensor ", t.numel());
    std::vector<std::byte> host(record.bytes.size());
    copy_le(host.data(), record.bytes.data(), host.size() / size, size);
    write_strided(t, host.data(), size);
    return;
  }
  EMBER_CHECK(record.type == RecordType::Float32, "load: entry '", record.name,
              "' must be float32, got ", record_type_name(record.type));
  EMBER_CHECK(static_cast<std::int64_t>(record.bytes.size()) == t.numel() * 4, "load: entry '",
              record.name, "' has ", record.bytes.size() / 4, " values, the tensor ", t.numel());
  EMBER_CHECK(t.dtype() == kFloat32, "load: expected a float32 tensor, got ",
              dtype_name(t.dtype()));
  std::vector<std::byte> host(record.bytes.size());
  copy_le(host.data(), record.bytes.data(), host.size() / 4, 4);
  write_strided(t, host.data(), 4);
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

// The whole file image, read only after its header has been checked against its size.
std::vector<std::byte> read_checkpoint_file(const std::string& path, CheckpointKind kind) {
  InputFile in(path, "load", "a checkpoint is a file written by ember::save");
  const std::uint64_t file_size = in.size();
  const std::size_t header = kCheckpointHeaderSize;
  EMBER_CHECK(file_size >= header, "load: '", path, "' is truncated: ", file_size,
              " bytes, shorter than the ", header, "-byte header");
  std::vector<std::byte> file = allocate_file_buffer(file_size, path, "load");
  in.read(std::span(file).first(header));
  check_header(file.data(), file_size, path, kind);
  in.read(std::span(file).subspan(header));
  EMBER_CHECK(in.at_end(), "load: '", path,
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

}  // namespace ember::core
