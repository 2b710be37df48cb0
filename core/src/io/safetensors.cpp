// The safetensors format: writing, and reading a file that may be hostile. See safetensors.h.
#include <ember/core/safetensors.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <set>
#include <span>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include <ember/core/checked.h>
#include <ember/core/error.h>
#include <ember/core/file.h>
#include <ember/core/ops.h>

namespace ember {

namespace {

using detail::concat;
using Json = nlohmann::ordered_json;  // keeps the header's order: ties between empty tensors

// Note [hostile safetensors]: a safetensors file is hostile until proven otherwise, as a
// checkpoint (Note [bounded loading] in nn/src/checkpoint.cpp). The 8-byte header length is
// checked against the file (and the 100 MB limit of the reference implementation) before the
// JSON is read; the JSON parser rejects malformed text and invalid UTF-8, and its callback
// refuses a name given twice (JSON parsers otherwise keep the last) and nesting deeper than a
// shape list (so its memory stays a small multiple of the header); every size in it is checked
// arithmetic (checked.h); each tensor's byte range must be exactly its shape times its dtype's
// size, and the ranges, sorted, must tile the data section with no gap, overlap or excess. Only
// then are tensors made: their bytes sum to the data section, so no allocation exceeds the file
// (a 16-bit tensor's float32 result is twice its stored bytes). Peak memory is the file image
// plus the tensors plus the parsed header.
constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;  // 100 MB, as the Rust safetensors crate

// A safetensors dtype: its name, element size, and the ember dtype it is read as (if any).
struct FileDtype {
  std::string_view name;
  std::size_t size;
  bool readable;
};

constexpr FileDtype kFileDtypes[] = {
    {"F32", 4, true},  {"I64", 8, true},      {"U8", 1, true},       {"F64", 8, true},
    {"F16", 2, true},  {"BF16", 2, true},     {"BOOL", 1, false},    {"I8", 1, false},
    {"I16", 2, false}, {"U16", 2, false},     {"I32", 4, false},     {"U32", 4, false},
    {"U64", 8, false}, {"F8_E5M2", 1, false}, {"F8_E4M3", 1, false},
};

const FileDtype* find_file_dtype(std::string_view name) {
  for (const FileDtype& d : kFileDtypes)
    if (d.name == name) return &d;
  return nullptr;
}

const char* file_dtype_name(Dtype dtype) {
  switch (dtype) {
    case Dtype::Float32:
      return "F32";
    case Dtype::Int64:
      return "I64";
    case Dtype::UInt8:
      return "U8";
  }
  return "?";
}

std::uint64_t get_u64_le(const std::byte* in) {
  std::uint64_t bits = 0;
  for (std::size_t i = 8; i-- > 0;) bits = (bits << 8) | std::to_integer<std::uint64_t>(in[i]);
  return bits;
}

// Copies n elements of `size` bytes, little-endian <-> host order (its own inverse).
void copy_le(std::byte* dst, const std::byte* src, std::size_t n, std::size_t size) {
  if constexpr (std::endian::native == std::endian::little) {
    if (n > 0) std::memcpy(dst, src, n * size);
  } else {
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t b = 0; b < size; ++b) dst[i * size + b] = src[i * size + size - 1 - b];
  }
}

template <class T>
T load_le(const std::byte* src) {
  T value;
  copy_le(reinterpret_cast<std::byte*>(&value), src, 1, sizeof(T));
  return value;
}

// IEEE-754 binary16 -> binary32, exact (every half is a float): normal numbers rebias the
// exponent (15 -> 127, so +112), subnormals are mantissa x 2^-24, inf/NaN keep their payload.
float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exponent = (h >> 10) & 0x1Fu;
  const std::uint32_t mantissa = h & 0x3FFu;
  if (exponent == 0) {
    const float magnitude = std::ldexp(static_cast<float>(mantissa), -24);  // 0 or subnormal
    return sign ? -magnitude : magnitude;
  }
  if (exponent == 0x1F) return std::bit_cast<float>(sign | 0x7F800000u | (mantissa << 13));
  return std::bit_cast<float>(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

// bfloat16 is the top half of a float32: exact.
float bfloat16_to_float(std::uint16_t b) {
  return std::bit_cast<float>(static_cast<std::uint32_t>(b) << 16);
}

void check_header_length(std::uint64_t header_size, std::uint64_t bytes_after,
                         const std::string& where) {
  EMBER_CHECK(header_size <= kMaxHeaderBytes, where, ": the header length ", header_size,
              " is above the 100 MB limit (not a safetensors file?)");
  EMBER_CHECK(header_size <= bytes_after, where, ": the header length ", header_size,
              " goes beyond the file (", bytes_after, " bytes after the length)");
}

// One tensor entry of the header, checked.
struct Entry {
  std::string name;
  const FileDtype* dtype = nullptr;
  Shape shape;
  std::uint64_t begin = 0, end = 0;
};

// A non-negative JSON integer that fits int64, or an error naming `what`.
std::int64_t json_size(const Json& value, const std::string& where, const char* what) {
  EMBER_CHECK(value.is_number_unsigned() &&
                  value.get<std::uint64_t>() <=
                      static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()),
              where, ": ", what, " must be non-negative integers below 2^63, got ", value.dump());
  return static_cast<std::int64_t>(value.get<std::uint64_t>());
}

Entry parse_entry(const std::string& name, const Json& info, std::uint64_t data_size,
                  const std::string& file) {
  const std::string where = concat(file, ": tensor '", name, "'");
  EMBER_CHECK(info.is_object(), where, ": expected {\"dtype\", \"shape\", \"data_offsets\"}, got ",
              info.type_name());
  for (const auto& [field, value] : info.items())
    EMBER_CHECK(field == "dtype" || field == "shape" || field == "data_offsets", where,
                " has an unknown field \"", field, "\"");
  for (const char* field : {"dtype", "shape", "data_offsets"})
    EMBER_CHECK(info.contains(field), where, " has no \"", field, "\"");
  Entry e;
  e.name = name;
  const Json& dtype = info["dtype"];
  EMBER_CHECK(dtype.is_string(), where, ": \"dtype\" must be a string, got ", dtype.dump());
  const std::string& dtype_text = dtype.get_ref<const std::string&>();
  e.dtype = find_file_dtype(dtype_text);
  EMBER_CHECK(e.dtype != nullptr, where, " has an unknown dtype \"", dtype_text, "\"");
  EMBER_CHECK(e.dtype->readable, where, " has dtype ", dtype_text,
              ", which ember cannot read (it reads F32, I64 and U8, and F64, F16 and BF16 "
              "converted to float32)");
  const Json& shape = info["shape"];
  EMBER_CHECK(shape.is_array(), where, ": \"shape\" must be a list, got ", shape.dump());
  for (const Json& dim : shape) e.shape.push_back(json_size(dim, where, "shape sizes"));
  // Overflow is refused with checked.h's messages, prefixed by the file and the tensor.
  const std::int64_t bytes =
      checked_mul(checked_numel(e.shape, where.c_str()), static_cast<std::int64_t>(e.dtype->size),
                  where.c_str(), e.shape);
  const Json& offsets = info["data_offsets"];
  EMBER_CHECK(offsets.is_array() && offsets.size() == 2, where,
              ": \"data_offsets\" must be [BEGIN, END], got ", offsets.dump());
  e.begin = static_cast<std::uint64_t>(json_size(offsets[0], where, "data_offsets"));
  e.end = static_cast<std::uint64_t>(json_size(offsets[1], where, "data_offsets"));
  EMBER_CHECK(e.begin <= e.end, where, ": data_offsets [", e.begin, ", ", e.end,
              "] are out of order (BEGIN after END)");
  EMBER_CHECK(e.end <= data_size, where, ": data_offsets [", e.begin, ", ", e.end,
              "] lie outside the data section (", data_size, " bytes)");
  EMBER_CHECK(e.end - e.begin == static_cast<std::uint64_t>(bytes), where, ": data_offsets [",
              e.begin, ", ", e.end, "] hold ", e.end - e.begin, " bytes, but shape ", e.shape,
              " of ", dtype_text, " takes ", bytes);
  return e;
}

// The tensor an entry describes, decoded from its bytes.
Tensor decode(const Entry& e, const std::byte* data) {
  const auto n = static_cast<std::size_t>(checked_numel(e.shape, "load_safetensors"));
  const std::string_view dtype = e.dtype->name;
  if (dtype == "F32" || dtype == "I64" || dtype == "U8") {
    const Dtype to = dtype == "F32" ? kFloat32 : dtype == "I64" ? kInt64 : kUInt8;
    Tensor t = empty(e.shape, to);
    std::byte* out = to == kFloat32 ? reinterpret_cast<std::byte*>(t.data_ptr<float>())
                     : to == kInt64 ? reinterpret_cast<std::byte*>(t.data_ptr<std::int64_t>())
                                    : reinterpret_cast<std::byte*>(t.data_ptr<std::uint8_t>());
    copy_le(out, data, n, e.dtype->size);
    return t;
  }
  Tensor t = empty(e.shape, kFloat32);
  float* out = t.data_ptr<float>();
  for (std::size_t i = 0; i < n; ++i) {
    const std::byte* at = data + i * e.dtype->size;
    if (dtype == "F64")
      out[i] = static_cast<float>(load_le<double>(at));  // IEEE: nearest, overflow to inf
    else if (dtype == "F16")
      out[i] = half_to_float(load_le<std::uint16_t>(at));
    else
      out[i] = bfloat16_to_float(load_le<std::uint16_t>(at));
  }
  return t;
}

// Parses the JSON header, refusing a name given twice at any level and nesting deeper than a
// tensor's shape list (Note [hostile safetensors]).
Json parse_header(std::string_view text, const std::string& file) {
  std::vector<std::set<std::string>> keys_at;  // one set per open object
  auto callback = [&](int depth, Json::parse_event_t event, Json& parsed) {
    using Event = Json::parse_event_t;
    EMBER_CHECK(depth <= 3, file, ": the JSON header nests deeper than a tensor's shape list");
    if (event == Event::object_start) keys_at.emplace_back();
    if (event == Event::object_end) keys_at.pop_back();
    if (event == Event::key) {
      const std::string& key = parsed.get_ref<const std::string&>();
      EMBER_CHECK(keys_at.back().insert(key).second, file, ": the JSON header names \"", key,
                  "\" twice", depth == 1 ? "" : " in one object");
    }
    return true;
  };
  try {
    return Json::parse(text.begin(), text.end(), callback);
  } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for 1e999
    detail::throw_error(concat(file, ": the header is not valid JSON: ", e.what()));
  }
}

}  // namespace

namespace detail {

std::vector<std::byte> safetensors_bytes(const StateDict& tensors,
                                         const SafetensorsMetadata& metadata) {
  Json header = Json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<Tensor> contiguous;
  std::uint64_t offset = 0;
  for (const auto& item : tensors) {
    const std::string& name = item.key();
    const Tensor& t = item.value();
    EMBER_CHECK(name != "__metadata__",
                "save_safetensors: a tensor cannot be named \"__metadata__\" (the header's "
                "metadata entry)");
    EMBER_CHECK(t.defined(), "save_safetensors: tensor '", name, "' is undefined");
    contiguous.push_back(core::contiguous(t));
    const std::uint64_t bytes =
        static_cast<std::uint64_t>(checked_nbytes(t.sizes(), t.dtype(), "save_safetensors"));
    header[name] = {{"dtype", file_dtype_name(t.dtype())},
                    {"shape", std::vector<std::int64_t>(t.sizes())},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  // Spaces up to a multiple of 8 bytes, so the data section is 8-byte aligned (as the reference
  // writer does).
  text.append((8 - (8 + text.size()) % 8) % 8, ' ');
  std::vector<std::byte> out(8 + text.size() + offset);
  const std::uint64_t length = text.size();
  copy_le(out.data(), reinterpret_cast<const std::byte*>(&length), 1, 8);
  std::memcpy(out.data() + 8, text.data(), text.size());
  std::byte* data = out.data() + 8 + text.size();
  for (const Tensor& t : contiguous) {
    const auto n = static_cast<std::size_t>(t.numel());
    const std::size_t size = element_size(t.dtype());
    const std::byte* from =
        t.dtype() == kFloat32 ? reinterpret_cast<const std::byte*>(t.data_ptr<float>())
        : t.dtype() == kInt64 ? reinterpret_cast<const std::byte*>(t.data_ptr<std::int64_t>())
                              : reinterpret_cast<const std::byte*>(t.data_ptr<std::uint8_t>());
    copy_le(data, from, n, size);
    data += n * size;
  }
  return out;
}

StateDict parse_safetensors(std::span<const std::byte> file, const std::string& path,
                            SafetensorsMetadata* metadata) {
  const std::string where = concat("load_safetensors: '", path, "'");
  EMBER_CHECK(file.size() >= 8, where, " is truncated: ", file.size(),
              " bytes, shorter than the 8-byte header length");
  const std::uint64_t header_size = get_u64_le(file.data());
  check_header_length(header_size, file.size() - 8, where);
  const std::uint64_t data_size = file.size() - 8 - header_size;
  const Json header = parse_header(
      std::string_view(reinterpret_cast<const char*>(file.data()) + 8, header_size), where);
  EMBER_CHECK(header.is_object(), where, ": the header is not a JSON object but ",
              header.type_name());

  std::vector<Entry> entries;
  for (const auto& [name, info] : header.items()) {
    if (name == "__metadata__") {
      EMBER_CHECK(info.is_object(), where, ": \"__metadata__\" must map strings to strings");
      for (const auto& [key, value] : info.items())
        EMBER_CHECK(value.is_string(), where, ": \"__metadata__\" must map strings to strings, \"",
                    key, "\" is ", value.dump());
      if (metadata != nullptr) {
        metadata->clear();
        for (const auto& [key, value] : info.items()) (*metadata)[key] = value.get<std::string>();
      }
      continue;
    }
    entries.push_back(parse_entry(name, info, data_size, where));
  }
  // The byte ranges, sorted, must tile the data section exactly.
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  std::uint64_t covered = 0;
  const Entry* previous = nullptr;
  for (const Entry& e : entries) {
    EMBER_CHECK(e.begin >= covered, where, ": tensor '", e.name, "' at bytes [", e.begin, ", ",
                e.end, ") overlaps tensor '", previous ? previous->name : "", "' at [",
                previous ? previous->begin : 0, ", ", covered, ")");
    EMBER_CHECK(e.begin == covered, where, ": bytes [", covered, ", ", e.begin,
                ") of the data section belong to no tensor (before tensor '", e.name, "')");
    covered = e.end;
    previous = &e;
  }
  EMBER_CHECK(covered == data_size, where, ": the tensors cover ", covered, " of the ", data_size,
              " bytes of the data section; the last ", data_size - covered, " belong to no tensor");

  StateDict out;
  const std::byte* data = file.data() + 8 + header_size;
  for (const Entry& e : entries) out.insert(e.name, decode(e, data + e.begin));
  return out;
}

}  // namespace detail

namespace {

// The whole file, read only after its header length has been checked against its size.
std::vector<std::byte> read_safetensors_file(const std::string& path) {
  constexpr std::string_view op = "load_safetensors";
  core::InputFile in(path, op);
  std::vector<std::byte> file;
  if (in.size() < 8) {
    file.resize(static_cast<std::size_t>(in.size()));  // too short: parse_safetensors says so
    in.read(file);
  } else {
    // The length first: a file whose header length lies is refused before the rest is read.
    std::byte length[8];
    in.read(length);
    check_header_length(get_u64_le(length), in.size() - 8, concat(op, ": '", path, "'"));
    file = core::allocate_file_buffer(in.size(), path, op);
    std::memcpy(file.data(), length, 8);
    in.read(std::span(file).subspan(8));
  }
  EMBER_CHECK(in.at_end(), op, ": '", path, "' grew while being read");
  return file;
}

}  // namespace

void save_safetensors(const StateDict& tensors, const std::string& path,
                      const SafetensorsMetadata& metadata) {
  const std::vector<std::byte> bytes = detail::safetensors_bytes(tensors, metadata);
  core::write_file_atomically(path, bytes);
}

StateDict load_safetensors(const std::string& path) {
  const std::vector<std::byte> file = read_safetensors_file(path);
  return detail::parse_safetensors(file, path);
}

SafetensorsMetadata load_safetensors_metadata(const std::string& path) {
  const std::vector<std::byte> file = read_safetensors_file(path);
  SafetensorsMetadata metadata;
  detail::parse_safetensors(file, path, &metadata);
  return metadata;
}

}  // namespace ember
