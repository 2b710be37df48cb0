// IDX parsing: raw input (file or memory) -> byte stream (plain or inflated) -> header -> tensor.
// The format and every decision about malformed input are described in <ember/datasets/idx.h>.
#include <ember/datasets/idx.h>

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <sstream>
#include <vector>

#include <ember/core/error.h>

namespace ember::datasets {

namespace {

// Deflate cannot expand one compressed byte into more than 1032 bytes (zlib's FAQ: "the maximum
// compression ratio is 1032:1"), so a gzip file of S bytes never inflates to more than 1032 * S.
constexpr std::uint64_t kMaxDeflateRatio = 1032;
// Read and conversion buffers: large enough to amortize calls, small next to any real dataset.
constexpr std::size_t kChunkBytes = std::size_t{1} << 20;
// zlib counts in uInt (32 bits): never hand it more than this at once.
constexpr std::size_t kMaxZlibSpan = std::size_t{1} << 30;

std::string hex_bytes(const std::uint8_t* bytes, std::size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (std::size_t i = 0; i < n; ++i) {
    if (i > 0) s += ' ';
    s += digits[bytes[i] >> 4];
    s += digits[bytes[i] & 15];
  }
  return s;
}

std::string hex_byte(std::uint8_t byte) {
  return "0x" + hex_bytes(&byte, 1);
}

// Where errors point: the file's name, and whether offsets are in the decompressed stream.
struct Context {
  std::string name;
  bool gzip = false;
};

// "read_idx: 'PATH': at byte OFFSET[ of the decompressed data]: PROBLEM: expected E, got A.
// Hint: H"
[[noreturn]] void fail(const Context& ctx, std::uint64_t offset, const std::string& problem,
                       const std::string& expected, const std::string& actual,
                       const std::string& hint) {
  std::ostringstream out;
  out << "read_idx: '" << ctx.name << "': at byte " << offset
      << (ctx.gzip ? " of the decompressed data" : "") << ": " << problem;
  if (!expected.empty()) out << ": expected " << expected << ", got " << actual;
  out << ". Hint: " << hint;
  detail::throw_error(out.str());
}

[[noreturn]] void fail_gzip(const Context& ctx, std::uint64_t compressed_offset,
                            const std::string& problem, const std::string& hint) {
  std::ostringstream out;
  out << "read_idx: '" << ctx.name << "': at byte " << compressed_offset
      << " of the gzip file: " << problem << ". Hint: " << hint;
  detail::throw_error(out.str());
}

const char* kHintRedownload =
    "the file is damaged or incomplete (an interrupted download?); download it again";
const char* kHintGzip =
    "the compressed file is damaged or incomplete; download it again (`gzip -t FILE` checks it)";

// ---------------------------------------------------------------------------------------------
// Raw input: the bytes as stored, from a file or from memory.

class Input {
 public:
  virtual ~Input() = default;
  std::uint64_t size() const { return size_; }
  std::uint64_t position() const { return position_; }
  // Copies up to n bytes into dst; fewer only at the end of the input.
  virtual std::size_t read(std::uint8_t* dst, std::size_t n) = 0;
  // The next bytes without copying where possible; empty at the end of the input.
  virtual std::pair<const std::uint8_t*, std::size_t> chunk() = 0;
  // Back to the first byte.
  virtual void rewind() { position_ = 0; }

 protected:
  std::uint64_t size_ = 0;
  std::uint64_t position_ = 0;
};

class MemoryInput final : public Input {
 public:
  MemoryInput(const std::uint8_t* data, std::size_t size) : data_(data) { size_ = size; }
  std::size_t read(std::uint8_t* dst, std::size_t n) override {
    const std::size_t count =
        static_cast<std::size_t>(std::min<std::uint64_t>(n, size_ - position_));
    if (count > 0) std::memcpy(dst, data_ + position_, count);
    position_ += count;
    return count;
  }
  std::pair<const std::uint8_t*, std::size_t> chunk() override {
    const std::size_t count =
        static_cast<std::size_t>(std::min<std::uint64_t>(kMaxZlibSpan, size_ - position_));
    const std::uint8_t* start = data_ + position_;
    position_ += count;
    return {start, count};
  }

 private:
  const std::uint8_t* data_;
};

class FileInput final : public Input {
 public:
  FileInput(const std::string& path, const Context& ctx) : ctx_(ctx) {
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    if (ec || !std::filesystem::exists(status)) {
      detail::throw_error("read_idx: cannot open '" + path +
                          "': no such file. Hint: check the path" +
                          " (MNIST-style files are named like train-images-idx3-ubyte[.gz])");
    }
    if (!std::filesystem::is_regular_file(status)) {
      detail::throw_error("read_idx: cannot read '" + path +
                          "': not a regular file. Hint: pass the path of an IDX file");
    }
    size_ = std::filesystem::file_size(path, ec);
    if (!ec) file_ = std::fopen(path.c_str(), "rb");
    if (ec || file_ == nullptr) {
      detail::throw_error("read_idx: cannot open '" + path + "': " + std::strerror(errno) +
                          ". Hint: check the file's permissions");
    }
  }
  ~FileInput() override { std::fclose(file_); }
  FileInput(const FileInput&) = delete;
  FileInput& operator=(const FileInput&) = delete;

  std::size_t read(std::uint8_t* dst, std::size_t n) override {
    std::size_t count = 0;
    while (count < n) {
      const std::size_t got = std::fread(dst + count, 1, n - count, file_);
      count += got;
      if (got == 0) break;
    }
    if (count < n && std::ferror(file_)) {
      fail(ctx_, position_ + count, std::string("read error (") + std::strerror(errno) + ")", "",
           "", "check the disk and the file");
    }
    position_ += count;
    return count;
  }
  void rewind() override {
    std::rewind(file_);
    position_ = 0;
  }
  std::pair<const std::uint8_t*, std::size_t> chunk() override {
    if (buffer_.empty()) buffer_.resize(kChunkBytes);
    const std::size_t count = read(buffer_.data(), buffer_.size());
    return {buffer_.data(), count};
  }

 private:
  Context ctx_;
  std::FILE* file_ = nullptr;
  std::vector<std::uint8_t> buffer_;
};

// ---------------------------------------------------------------------------------------------
// Byte streams: the IDX bytes, plain or inflated.

class Stream {
 public:
  virtual ~Stream() = default;
  // Fills up to n bytes into dst; fewer only at the end of the stream.
  virtual std::size_t read(std::uint8_t* dst, std::size_t n) = 0;
  // An upper bound on the bytes still to come, and whether it is exact.
  virtual std::uint64_t max_remaining() const = 0;
  virtual bool remaining_is_exact() const = 0;
};

class PlainStream final : public Stream {
 public:
  explicit PlainStream(Input& input) : input_(input) {}
  std::size_t read(std::uint8_t* dst, std::size_t n) override { return input_.read(dst, n); }
  std::uint64_t max_remaining() const override { return input_.size() - input_.position(); }
  bool remaining_is_exact() const override { return true; }

 private:
  Input& input_;
};

// Inflates gzip member after member (RFC 1952 allows concatenated members; `gzip -d` reads them
// as one stream). zlib checks each member's CRC-32 and length at its end.
class GzipStream final : public Stream {
 public:
  GzipStream(Input& input, const Context& ctx) : input_(input), ctx_(ctx) {
    // 16 + MAX_WBITS: expect a gzip header and trailer (not zlib's or raw deflate).
    if (inflateInit2(&z_, 16 + MAX_WBITS) != Z_OK) {
      fail_gzip(ctx_, 0, "zlib cannot start inflating (out of memory?)", "free some memory");
    }
  }
  ~GzipStream() override { inflateEnd(&z_); }
  GzipStream(const GzipStream&) = delete;
  GzipStream& operator=(const GzipStream&) = delete;

  std::size_t read(std::uint8_t* dst, std::size_t n) override {
    std::size_t produced = 0;
    while (produced < n && !finished_) {
      if (z_.avail_in == 0 && !refill()) {
        if (!in_member_) {
          finished_ = true;  // the input ends right after a complete member: a clean end
          break;
        }
        fail_gzip(
            ctx_, input_.size(),
            "truncated gzip stream: the file ends inside member " + std::to_string(members_ + 1),
            kHintGzip);
      }
      if (!in_member_) {  // more bytes after a member: the next member starts here
        inflateReset(&z_);
        in_member_ = true;
      }
      const std::size_t space = std::min(n - produced, kMaxZlibSpan);
      z_.next_out = dst + produced;
      z_.avail_out = static_cast<uInt>(space);
      const int ret = inflate(&z_, Z_NO_FLUSH);
      produced += space - z_.avail_out;
      if (ret == Z_STREAM_END) {
        in_member_ = false;
        ++members_;
      } else if (ret == Z_BUF_ERROR) {
        // No progress: only possible when the input ran dry; refill() above handles it.
        if (z_.avail_in != 0 && z_.avail_out != 0) {
          fail_gzip(ctx_, offset(), "zlib made no progress (Z_BUF_ERROR)", kHintGzip);
        }
      } else if (ret != Z_OK) {
        const std::string what = z_.msg != nullptr ? z_.msg : zError(ret);
        const std::string where = members_ > 0 ? " in member " + std::to_string(members_ + 1) +
                                                     " (a gzip member or the end of the file "
                                                     "was expected after member " +
                                                     std::to_string(members_) + ")"
                                               : "";
        fail_gzip(ctx_, offset(), "corrupt gzip stream (zlib: " + what + ")" + where, kHintGzip);
      }
    }
    produced_ += produced;
    return produced;
  }

  std::uint64_t max_remaining() const override {
    const std::uint64_t cap =
        input_.size() > std::numeric_limits<std::uint64_t>::max() / kMaxDeflateRatio
            ? std::numeric_limits<std::uint64_t>::max()
            : input_.size() * kMaxDeflateRatio;
    return cap > produced_ ? cap - produced_ : 0;
  }
  bool remaining_is_exact() const override { return false; }

 private:
  bool refill() {
    const auto [data, count] = input_.chunk();
    if (count == 0) return false;
    chunk_start_ = input_.position() - count;
    chunk_size_ = count;
    z_.next_in = const_cast<Bytef*>(data);  // zlib's API is not const-correct; it never writes
    z_.avail_in = static_cast<uInt>(count);
    return true;
  }
  std::uint64_t offset() const { return chunk_start_ + (chunk_size_ - z_.avail_in); }

  Input& input_;
  Context ctx_;
  z_stream z_{};
  bool in_member_ = true;
  bool finished_ = false;
  std::uint64_t members_ = 0;  // complete members so far
  std::uint64_t produced_ = 0;
  std::uint64_t chunk_start_ = 0;
  std::size_t chunk_size_ = 0;
};

// ---------------------------------------------------------------------------------------------
// The IDX header and body.

struct IdxType {
  std::uint8_t code;
  const char* name;
  std::size_t size;  // bytes per item in the file
  Dtype dtype;       // of the tensor
};

constexpr IdxType kTypes[] = {
    {0x08, "uint8", 1, kUInt8}, {0x09, "int8", 1, kInt64},      {0x0B, "int16", 2, kInt64},
    {0x0C, "int32", 4, kInt64}, {0x0D, "float32", 4, kFloat32}, {0x0E, "float64", 8, kFloat32},
};

std::uint32_t load_be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}
std::uint64_t load_be64(const std::uint8_t* p) {
  return (std::uint64_t{load_be32(p)} << 32) | load_be32(p + 4);
}

// Converts `count` big-endian items of `type` at src into the tensor's dtype at dst.
void convert_items(const IdxType& type, const std::uint8_t* src, std::size_t count, void* dst) {
  switch (type.code) {
    case 0x09: {
      auto* out = static_cast<std::int64_t*>(dst);
      for (std::size_t i = 0; i < count; ++i) out[i] = static_cast<std::int8_t>(src[i]);
      break;
    }
    case 0x0B: {
      auto* out = static_cast<std::int64_t*>(dst);
      for (std::size_t i = 0; i < count; ++i) {
        const auto bits = static_cast<std::uint16_t>((src[2 * i] << 8) | src[2 * i + 1]);
        out[i] = static_cast<std::int16_t>(bits);
      }
      break;
    }
    case 0x0C: {
      auto* out = static_cast<std::int64_t*>(dst);
      for (std::size_t i = 0; i < count; ++i) {
        out[i] = static_cast<std::int32_t>(load_be32(src + 4 * i));
      }
      break;
    }
    case 0x0D: {  // may run in place (src == dst): each item is read before it is written
      auto* out = static_cast<float*>(dst);
      for (std::size_t i = 0; i < count; ++i) {
        const std::uint32_t bits = load_be32(src + 4 * i);
        std::memcpy(out + i, &bits, 4);
      }
      break;
    }
    case 0x0E: {
      auto* out = static_cast<float*>(dst);
      for (std::size_t i = 0; i < count; ++i) {
        const std::uint64_t bits = load_be64(src + 8 * i);
        double value;
        std::memcpy(&value, &bits, 8);
        out[i] = static_cast<float>(value);  // round to nearest (see idx.h)
      }
      break;
    }
    default:
      break;
  }
}

// Reads exactly n bytes or throws "truncated".
void read_exact(Stream& stream, const Context& ctx, std::uint64_t offset, std::uint8_t* dst,
                std::size_t n, const std::string& what, const std::string& hint) {
  const std::size_t got = stream.read(dst, n);
  if (got < n) {
    fail(ctx, offset + got, "truncated " + what,
         std::to_string(n) + " bytes from byte " + std::to_string(offset),
         "only " + std::to_string(got) + " before the end of the data", hint);
  }
}

Tensor parse(Stream& stream, const Context& ctx) {
  // --- Magic: 0x00 0x00 type ndim ---
  std::uint8_t magic[4];
  const std::size_t got = stream.read(magic, 4);
  if (got == 0) {
    fail(ctx, 0, "empty file", "the 4-byte IDX magic 00 00 TYPE NDIM", "no bytes",
         "the file is empty; download it again");
  }
  if (magic[0] != 0 || (got > 1 && magic[1] != 0)) {
    fail(ctx, magic[0] != 0 ? 0 : 1, "bad magic", "00 00 TYPE NDIM",
         hex_bytes(magic, got) + (magic[0] == 'P' && got > 1 && magic[1] == 'K'
                                      ? " (a zip archive: unzip it first)"
                                      : ""),
         "this is not an IDX file (MNIST-style files are named like train-images-idx3-ubyte, "
         "optionally gzip-compressed as .gz)");
  }
  if (got < 4) {
    fail(ctx, got, "truncated header", "4 magic bytes", std::to_string(got) + " bytes",
         kHintRedownload);
  }
  const IdxType* type = nullptr;
  for (const IdxType& t : kTypes) {
    if (t.code == magic[2]) type = &t;
  }
  if (type == nullptr) {
    fail(ctx, 2, "unknown type code",
         "0x08 (uint8), 0x09 (int8), 0x0b (int16), 0x0c (int32), 0x0d (float32) or 0x0e "
         "(float64)",
         hex_byte(magic[2]), "the file is corrupt or not an IDX file");
  }
  const int ndim = magic[3];
  if (ndim == 0 || ndim > kMaxIdxDims) {
    fail(ctx, 3, ndim == 0 ? "zero dims" : "too many dims",
         "1 to " + std::to_string(kMaxIdxDims) + " dims", std::to_string(ndim),
         "the file is corrupt or not an IDX file");
  }

  // --- Dims: big-endian uint32 each ---
  std::uint8_t dim_bytes[4 * kMaxIdxDims];
  read_exact(stream, ctx, 4, dim_bytes, 4 * static_cast<std::size_t>(ndim),
             "header (" + std::to_string(ndim) + " dims of 4 bytes)", kHintRedownload);
  const std::uint64_t header_bytes = 4 + 4 * static_cast<std::uint64_t>(ndim);
  Shape shape(static_cast<std::size_t>(ndim));
  std::string shape_text;
  bool any_zero = false;
  for (int d = 0; d < ndim; ++d) {
    shape[static_cast<std::size_t>(d)] = load_be32(dim_bytes + 4 * d);
    any_zero = any_zero || shape[static_cast<std::size_t>(d)] == 0;
    shape_text += (d > 0 ? " x " : "") + std::to_string(shape[static_cast<std::size_t>(d)]);
  }
  // Sizes in the file and in memory, refusing overflow. A zero dim makes the tensor empty, but
  // the other dims still count against the limit: the tensor's strides are their products, so
  // [0, 2^32-1, 2^32-1] must be refused as well (found by the fuzzer).
  std::uint64_t nonzero_numel = 1;  // product of the nonzero dims
  bool overflow = false;
  for (const std::int64_t s : shape) {
    if (s != 0) {
      overflow = overflow || __builtin_mul_overflow(nonzero_numel, static_cast<std::uint64_t>(s),
                                                    &nonzero_numel);
    }
  }
  const std::uint64_t numel = any_zero ? 0 : nonzero_numel;
  std::uint64_t data_bytes = 0;
  std::uint64_t tensor_bytes = 0;  // of the nonzero dims, for the limit
  overflow = overflow || __builtin_mul_overflow(numel, type->size, &data_bytes);
  overflow =
      overflow || __builtin_mul_overflow(nonzero_numel, element_size(type->dtype), &tensor_bytes);
  const std::string declared = shape_text + " " + type->name + " items";
  if (overflow || tensor_bytes > kMaxIdxBytes) {
    fail(ctx, 4, "header declares too much data",
         "at most " + std::to_string(kMaxIdxBytes) + " bytes of tensor",
         declared + (overflow ? " (the size overflows 64 bits)"
                              : " = " + std::to_string(tensor_bytes) + " bytes" +
                                    (any_zero ? " without the zero dims" : "")),
         "the header is corrupt (or the file is larger than ember loads: kMaxIdxBytes)");
  }
  // Refuse before allocating when the input cannot hold the declared data.
  if (data_bytes > stream.max_remaining()) {
    if (stream.remaining_is_exact()) {
      fail(ctx, header_bytes + stream.max_remaining(), "truncated data",
           declared + " = " + std::to_string(data_bytes) + " bytes after the " +
               std::to_string(header_bytes) + "-byte header",
           "only " + std::to_string(stream.max_remaining()) + " bytes before the end of the file",
           kHintRedownload);
    }
    fail(ctx, header_bytes, "header declares more data than the gzip file can hold",
         declared + " = " + std::to_string(data_bytes) +
             " bytes, but deflate expands at most 1032:1",
         "a compressed file that can inflate to at most " + std::to_string(stream.max_remaining()) +
             " more bytes",
         kHintRedownload);
  }
  if (stream.remaining_is_exact() && stream.max_remaining() > data_bytes) {
    fail(ctx, header_bytes + data_bytes, "trailing bytes after the declared data",
         "the end of the file at byte " + std::to_string(header_bytes + data_bytes) + " (" +
             declared + ")",
         std::to_string(stream.max_remaining() - data_bytes) + " more bytes",
         "the file is longer than its header declares: it is corrupt, or two files were "
         "concatenated; download it again");
  }

  // --- Body ---
  Tensor out = empty(shape, type->dtype);
  auto* dst = reinterpret_cast<std::uint8_t*>(out.mutable_data_ptr<std::byte>());
  const std::string body = "data (" + declared + " = " + std::to_string(data_bytes) + " bytes)";
  if (type->code == 0x08 || type->code == 0x0D) {
    // Same item size in file and tensor: read straight into the tensor, then fix the byte order.
    read_exact(stream, ctx, header_bytes, dst, static_cast<std::size_t>(data_bytes), body,
               kHintRedownload);
    if (type->code == 0x0D) convert_items(*type, dst, static_cast<std::size_t>(numel), dst);
  } else {
    // Widening or narrowing: through a fixed-size buffer, so memory stays the tensor's size.
    std::vector<std::uint8_t> buffer(
        static_cast<std::size_t>(std::min<std::uint64_t>(kChunkBytes, data_bytes)));
    const std::size_t out_size = element_size(type->dtype);
    std::uint64_t done = 0;  // items
    while (done < numel) {
      const std::size_t count = static_cast<std::size_t>(
          std::min<std::uint64_t>(numel - done, buffer.size() / type->size));
      const std::uint64_t at = header_bytes + done * type->size;
      const std::size_t want = count * type->size;
      const std::size_t have = stream.read(buffer.data(), want);
      if (have < want) {
        fail(ctx, at + have, "truncated " + body,
             std::to_string(data_bytes) + " bytes from byte " + std::to_string(header_bytes),
             "only " + std::to_string(done * type->size + have) + " before the end of the data",
             kHintRedownload);
      }
      convert_items(*type, buffer.data(), count, dst + done * out_size);
      done += count;
    }
  }

  // --- Nothing may follow (gzip: this also drains the input, checking the last CRC) ---
  std::uint8_t extra;
  if (stream.read(&extra, 1) != 0) {
    fail(ctx, header_bytes + data_bytes, "trailing bytes after the declared data",
         "the end of the data at byte " + std::to_string(header_bytes + data_bytes) + " (" +
             declared + ")",
         "more data",
         "the file is longer than its header declares: it is corrupt, or two files were "
         "concatenated; download it again");
  }
  return out;
}

// gzip or plain, by content: gzip data starts with 0x1f 0x8b, IDX data with 0x00 0x00.
Tensor parse_input(Input& input, const Context& base) {
  std::uint8_t first[2] = {0, 0};
  const std::size_t first_count = input.read(first, 2);
  input.rewind();
  Context ctx = base;
  ctx.gzip = first_count == 2 && first[0] == 0x1f && first[1] == 0x8b;
  if (ctx.gzip) {
    GzipStream stream(input, ctx);
    return parse(stream, ctx);
  }
  PlainStream stream(input);
  return parse(stream, ctx);
}

}  // namespace

Tensor read_idx(const std::string& path) {
  const Context ctx{path, false};
  FileInput input(path, ctx);
  return parse_input(input, ctx);
}

Tensor parse_idx(const std::uint8_t* data, std::size_t size, const std::string& name) {
  EMBER_CHECK(data != nullptr || size == 0, "parse_idx: null data with size ", size);
  const Context ctx{name, false};
  MemoryInput input(data, size);
  return parse_input(input, ctx);
}

}  // namespace ember::datasets
