// read_idx / parse_idx: every type code, plain and gzip (single and multi-member), and every
// malformed input rejected by its message.
#include <zlib.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include <ember/datasets/idx.h>

#include "idx_files.h"

using Catch::Contains;
using ember::Tensor;
using ember::datasets::parse_idx;
using ember::datasets::read_idx;
using namespace ember_test;

namespace {
Tensor parse(const Bytes& bytes, const std::string& name = "mem.idx") {
  return parse_idx(bytes.data(), bytes.size(), name);
}
// A valid uint8 [2, 3] file: 0 1 2 / 3 4 5.
Bytes small_u8() {
  return concat(idx_header(0x08, {2, 3}), {0, 1, 2, 3, 4, 5});
}
}  // namespace

TEST_CASE("read_idx reads every type code into its documented dtype", "[datasets][idx]") {
  TempDir dir;
  SECTION("uint8 -> uint8, shape from the dims") {
    const Tensor t = read_idx(dir.write("u8", small_u8()));
    CHECK(t.dtype() == ember::kUInt8);
    CHECK(t.sizes() == ember::Shape{2, 3});
    CHECK(t.to_vector<std::uint8_t>() == std::vector<std::uint8_t>{0, 1, 2, 3, 4, 5});
  }
  SECTION("int8 -> int64, sign kept") {
    const Tensor t = read_idx(dir.write("i8", concat(idx_header(0x09, {3}), {0xff, 0x80, 0x7f})));
    CHECK(t.dtype() == ember::kInt64);
    CHECK(t.to_vector<std::int64_t>() == std::vector<std::int64_t>{-1, -128, 127});
  }
  SECTION("int16 -> int64, big-endian") {
    const Tensor t = read_idx(dir.write(
        "i16", concat(idx_header(0x0B, {3}), big_endian<std::int16_t>({-300, 1000, -32768}))));
    CHECK(t.to_vector<std::int64_t>() == std::vector<std::int64_t>{-300, 1000, -32768});
  }
  SECTION("int32 -> int64, extremes exact") {
    const Tensor t = read_idx(dir.write(
        "i32", concat(idx_header(0x0C, {1, 3}),
                      big_endian<std::int32_t>({-70000, std::numeric_limits<std::int32_t>::max(),
                                                std::numeric_limits<std::int32_t>::min()}))));
    CHECK(t.sizes() == ember::Shape{1, 3});
    CHECK(t.to_vector<std::int64_t>() ==
          std::vector<std::int64_t>{-70000, 2147483647, -2147483648LL});
  }
  SECTION("float32 -> float32, bit exact") {
    // 1.5f is 3f c0 00 00 in big-endian.
    const Tensor one = parse(concat(idx_header(0x0D, {1}), {0x3f, 0xc0, 0, 0}));
    CHECK(one.item<float>() == 1.5f);
    const Tensor t = read_idx(dir.write(
        "f32", concat(idx_header(0x0D, {4}),
                      big_endian<float>(
                          {-0.25f, 3.0e-39f, std::numeric_limits<float>::infinity(), 0.1f}))));
    CHECK(t.dtype() == ember::kFloat32);
    CHECK(t.to_vector<float>() ==
          std::vector<float>{-0.25f, 3.0e-39f, std::numeric_limits<float>::infinity(), 0.1f});
  }
  SECTION("float64 -> float32, rounded to nearest") {
    // 1 + 2^-30 rounds to 1.0f; 0.1 (double) rounds to 0.1f; 1e300 overflows to inf.
    const Tensor t = read_idx(dir.write(
        "f64", concat(idx_header(0x0E, {2, 2}),
                      big_endian<double>({1.0 + std::ldexp(1.0, -30), 0.1, -2.5, 1e300}))));
    CHECK(t.dtype() == ember::kFloat32);
    CHECK(t.sizes() == ember::Shape{2, 2});
    CHECK(t.to_vector<float>() ==
          std::vector<float>{1.0f, 0.1f, -2.5f, std::numeric_limits<float>::infinity()});
  }
  SECTION("a zero-size dim gives an empty tensor") {
    const Tensor t = read_idx(dir.write("empty", idx_header(0x08, {0, 28, 28})));
    CHECK(t.sizes() == ember::Shape{0, 28, 28});
    CHECK(t.numel() == 0);
  }
  SECTION("parse_idx from memory agrees with read_idx") {
    CHECK(parse(small_u8()).to_vector<std::uint8_t>() ==
          read_idx(dir.write("again", small_u8())).to_vector<std::uint8_t>());
  }
}

TEST_CASE("read_idx inflates gzip, including multi-member files", "[datasets][idx][gzip]") {
  TempDir dir;
  // int16 [2, 300]: 1200 data bytes, enough to split inside the data.
  std::vector<std::int64_t> expected;
  Bytes data;
  for (int i = 0; i < 600; ++i) {
    const auto v = static_cast<std::int16_t>(i * 97 - 30000);
    expected.push_back(v);
    const Bytes be = big_endian<std::int16_t>({v});
    data.insert(data.end(), be.begin(), be.end());
  }
  const Bytes file = concat(idx_header(0x0B, {2, 300}), data);

  SECTION("one member, named .gz") {
    CHECK(read_idx(dir.write("a.gz", gzip(file))).to_vector<std::int64_t>() == expected);
  }
  SECTION("detected by content: gzip without .gz, plain with .gz") {
    CHECK(read_idx(dir.write("a.bin", gzip(file))).to_vector<std::int64_t>() == expected);
    CHECK(read_idx(dir.write("plain.gz", file)).to_vector<std::int64_t>() == expected);
  }
  SECTION("members split inside the magic, inside the dims and inside an item") {
    for (std::size_t cut : {2, 7, 13, 501}) {
      const Bytes a(file.begin(), file.begin() + static_cast<std::ptrdiff_t>(cut));
      const Bytes b(file.begin() + static_cast<std::ptrdiff_t>(cut), file.end());
      CAPTURE(cut);
      CHECK(parse(concat(gzip(a), gzip(b))).to_vector<std::int64_t>() == expected);
    }
    // Three members, one of them empty (gzip -d accepts it too).
    const Bytes head(file.begin(), file.begin() + 100);
    const Bytes tail(file.begin() + 100, file.end());
    CHECK(parse(concat(concat(gzip(head), gzip({})), gzip(tail))).to_vector<std::int64_t>() ==
          expected);
  }
  SECTION("members written with zlib's gz* API (gzopen \"ab\" appends a member)") {
    const std::string path = dir.path() + "/gz_api.gz";
    for (int part = 0; part < 2; ++part) {
      gzFile gz = gzopen(path.c_str(), part == 0 ? "wb" : "ab");
      REQUIRE(gz != nullptr);
      const std::size_t begin = part == 0 ? 0 : 333;
      const std::size_t end = part == 0 ? 333 : file.size();
      REQUIRE(gzwrite(gz, file.data() + begin, static_cast<unsigned>(end - begin)) ==
              static_cast<int>(end - begin));
      gzclose(gz);
    }
    CHECK(read_idx(path).to_vector<std::int64_t>() == expected);
  }
  SECTION("every dtype through gzip") {
    CHECK(parse(gzip(small_u8())).to_vector<std::uint8_t>() ==
          std::vector<std::uint8_t>{0, 1, 2, 3, 4, 5});
    CHECK(parse(gzip(concat(idx_header(0x09, {2}), {0xfe, 3}))).to_vector<std::int64_t>() ==
          std::vector<std::int64_t>{-2, 3});
    CHECK(parse(gzip(concat(idx_header(0x0C, {1}), big_endian<std::int32_t>({-5}))))
              .to_vector<std::int64_t>() == std::vector<std::int64_t>{-5});
    CHECK(
        parse(gzip(concat(idx_header(0x0D, {1}), big_endian<float>({2.5f})))).to_vector<float>() ==
        std::vector<float>{2.5f});
    CHECK(
        parse(gzip(concat(idx_header(0x0E, {1}), big_endian<double>({-0.5})))).to_vector<float>() ==
        std::vector<float>{-0.5f});
  }
}

TEST_CASE("read_idx rejects malformed files, naming file, offset and problem",
          "[datasets][idx][errors]") {
  TempDir dir;
  SECTION("missing file, folder") {
    CHECK_THROWS_WITH(
        read_idx(dir.path() + "/nope"),
        Contains("cannot open '" + dir.path() + "/nope'") && Contains("no such file"));
    CHECK_THROWS_WITH(read_idx(dir.path()), Contains("not a regular file"));
  }
  SECTION("empty file") {
    const std::string path = dir.write("empty", {});
    CHECK_THROWS_WITH(read_idx(path), Contains("'" + path + "'") && Contains("at byte 0") &&
                                          Contains("empty file"));
  }
  SECTION("bad magic") {
    const std::string path = dir.write("bad", {0x01, 0x00, 0x08, 0x01, 0, 0, 0, 0});
    CHECK_THROWS_WITH(read_idx(path), Contains("'" + path + "': at byte 0: bad magic") &&
                                          Contains("expected 00 00 TYPE NDIM, got 01 00 08 01") &&
                                          Contains("Hint: this is not an IDX file"));
    CHECK_THROWS_WITH(parse({0x00, 0x07, 0x08, 0x01}), Contains("at byte 1: bad magic"));
    CHECK_THROWS_WITH(parse({'P', 'K', 3, 4}), Contains("a zip archive"));
  }
  SECTION("unknown type code") {
    CHECK_THROWS_WITH(parse(concat(idx_header(0x0A, {1}), {0})),
                      Contains("at byte 2: unknown type code") && Contains("got 0x0a"));
  }
  SECTION("zero dims and too many dims") {
    CHECK_THROWS_WITH(parse({0, 0, 0x08, 0}),
                      Contains("at byte 3: zero dims: expected 1 to 8 dims, got 0"));
    Bytes nine = {0, 0, 0x08, 9};
    for (int i = 0; i < 9; ++i) nine = concat(nine, {0, 0, 0, 1});
    CHECK_THROWS_WITH(parse(concat(nine, {7})),
                      Contains("at byte 3: too many dims: expected 1 to 8 dims, got 9"));
  }
  SECTION("truncated header") {
    CHECK_THROWS_WITH(parse({0, 0, 0x08}), Contains("at byte 3: truncated header"));
    // 3 dims declared, the file stops after 2 of them: ends at byte 12.
    const Bytes cut = {0, 0, 0x08, 3, 0, 0, 0, 2, 0, 0, 0, 2};
    CHECK_THROWS_WITH(parse(cut), Contains("at byte 12: truncated header (3 dims of 4 bytes)") &&
                                      Contains("expected 12 bytes from byte 4") &&
                                      Contains("got only 8"));
    CHECK_THROWS_WITH(parse(gzip(cut)), Contains("at byte 12 of the decompressed data") &&
                                            Contains("truncated header"));
  }
  SECTION("truncated data: plain (refused before allocating) and gzip") {
    const Bytes file = small_u8();
    const Bytes cut(file.begin(), file.end() - 2);
    const std::string path = dir.write("cut", cut);
    CHECK_THROWS_WITH(
        read_idx(path),
        Contains("'" + path + "': at byte 16: truncated data") &&
            Contains("expected 2 x 3 uint8 items = 6 bytes after the 12-byte header") &&
            Contains("got only 4 bytes before the end of the file") &&
            Contains("download it again"));
    CHECK_THROWS_WITH(parse(gzip(cut)),
                      Contains("at byte 16 of the decompressed data") &&
                          Contains("truncated data (2 x 3 uint8 items = 6 bytes)"));
    // Through the converting path (int32 -> int64) too.
    const Bytes i32 = concat(idx_header(0x0C, {3}), {0, 0, 0, 1, 0, 0, 0, 2, 0});
    CHECK_THROWS_WITH(parse(gzip(i32)), Contains("at byte 17 of the decompressed data") &&
                                            Contains("truncated data"));
  }
  SECTION("trailing bytes are an error (decided in idx.h)") {
    const std::string path = dir.write("long", concat(small_u8(), {9, 9, 9}));
    CHECK_THROWS_WITH(read_idx(path), Contains("'" + path +
                                               "': at byte 18: trailing bytes after "
                                               "the declared data") &&
                                          Contains("got 3 more bytes"));
    CHECK_THROWS_WITH(parse(gzip(concat(small_u8(), {9}))),
                      Contains("at byte 18 of the decompressed data: trailing bytes"));
    // A second member after a complete file is trailing data as well.
    CHECK_THROWS_WITH(parse(concat(gzip(small_u8()), gzip(small_u8()))),
                      Contains("trailing bytes"));
  }
  SECTION("sizes that overflow or exceed the limit, refused before allocating") {
    Bytes huge = {0, 0, 0x08, 8};
    for (int i = 0; i < 8; ++i) huge = concat(huge, {0xff, 0xff, 0xff, 0xff});
    CHECK_THROWS_WITH(parse(huge),
                      Contains("header declares too much data") && Contains("overflows 64 bits"));
    // int32 [2^30]: 4 GiB in the file, 8 GiB as int64: over kMaxIdxBytes (4 GiB).
    CHECK_THROWS_WITH(parse(idx_header(0x0C, {1u << 30})),
                      Contains("expected at most 4294967296 bytes of tensor") &&
                          Contains("got 1073741824 int32 items = 8589934592 bytes"));
  }
  SECTION("a zero dim does not hide huge other dims (found by the fuzzer)") {
    CHECK_THROWS_WITH(parse(idx_header(0x08, {0, 65536, 65537})),
                      Contains("header declares too much data") &&
                          Contains("got 0 x 65536 x 65537 uint8 items = 4295032832 bytes without "
                                   "the zero dims"));
    Bytes mixed = {0, 0, 0x08, 8};
    for (int i = 0; i < 8; ++i)
      mixed = concat(mixed, i == 4 ? Bytes{0, 0, 0, 0} : Bytes{0xff, 0xff, 0xff, 0xff});
    CHECK_THROWS_WITH(parse(mixed), Contains("overflows 64 bits"));
  }
  SECTION("billions of items claimed by a small file, refused before allocating") {
    // Plain: the exact size is known.
    CHECK_THROWS_WITH(parse(concat(idx_header(0x08, {2000000000u}), {1, 2, 3})),
                      Contains("truncated data") && Contains("2000000000 bytes") &&
                          Contains("got only 3 bytes before the end of the file"));
    // gzip: at most 1032x the compressed size.
    const Bytes gz = gzip(concat(idx_header(0x08, {2000000000u}), {1, 2, 3}));
    CHECK_THROWS_WITH(parse(gz),
                      Contains("header declares more data than the gzip file can hold") &&
                          Contains("at byte 8 of the decompressed data"));
  }
  SECTION("a gzip bomb stops as soon as the output passes the declared size") {
    // Header declares 6 bytes; the member then inflates 64 MiB of zeros (~64 KB compressed).
    const Bytes gz = gzip_with_zeros(small_u8(), std::size_t{64} << 20);
    CHECK_THROWS_WITH(parse(gz), Contains("at byte 18 of the decompressed data: trailing bytes"));
  }
  SECTION("gzip: corrupt, truncated, bad CRC, bad length, garbage after a member") {
    const Bytes good = gzip(concat(idx_header(0x08, {64}), Bytes(64, 7)));
    Bytes corrupt = good;
    corrupt[12] ^= 0xff;  // inside the deflate data (the gzip header is 10 bytes)
    CHECK_THROWS_WITH(parse(corrupt, "c.gz"),
                      Contains("'c.gz': at byte") &&
                          Contains("of the gzip file: corrupt gzip stream") && Contains("gzip -t"));
    const Bytes cut(good.begin(), good.end() - 5);
    CHECK_THROWS_WITH(parse(cut), Contains("at byte " + std::to_string(cut.size()) +
                                           " of the gzip file: truncated gzip stream"));
    const Bytes only_magic = {0x1f, 0x8b};
    CHECK_THROWS_WITH(parse(only_magic), Contains("truncated gzip stream"));
    Bytes bad_crc = good;
    bad_crc[good.size() - 8] ^= 1;  // the trailer is CRC-32 then ISIZE, little-endian
    CHECK_THROWS_WITH(parse(bad_crc), Contains("corrupt gzip stream (zlib: incorrect data check)"));
    Bytes bad_len = good;
    bad_len[good.size() - 4] ^= 1;
    CHECK_THROWS_WITH(parse(bad_len),
                      Contains("corrupt gzip stream (zlib: incorrect length check)"));
    // zlib reads the 2-byte gzip magic before it rejects it: the offset is 2 past the member.
    const Bytes garbage = concat(good, {0x00, 0x00, 0x08, 0x01});
    CHECK_THROWS_WITH(
        parse(garbage),
        Contains("at byte " + std::to_string(good.size() + 2) + " of the gzip file") &&
            Contains("incorrect header check") && Contains("after member 1"));
  }
}
