// The safetensors format: round trips, the dtypes read with conversion, and a loader that cannot
// be fooled (every hostile case gives its own error naming the file and the tensor).
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include <ember/core/error.h>
#include <ember/core/ops.h>
#include <ember/core/safetensors.h>

#include "support/all_close.h"
#include "support/temp_dir.h"

using namespace ember;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

// A file image: the 8-byte little-endian length of `header`, the header, then `data`.
std::vector<std::byte> image(const std::string& header, const std::vector<std::uint8_t>& data) {
  std::vector<std::byte> out(8);
  std::uint64_t n = header.size();
  for (int i = 0; i < 8; ++i, n >>= 8) out[static_cast<std::size_t>(i)] = std::byte(n & 0xFF);
  for (char c : header) out.push_back(static_cast<std::byte>(c));
  for (std::uint8_t b : data) out.push_back(std::byte{b});
  return out;
}

// Little-endian bytes of 16-bit values.
std::vector<std::uint8_t> u16_bytes(const std::vector<std::uint16_t>& values) {
  std::vector<std::uint8_t> out;
  for (std::uint16_t v : values) {
    out.push_back(static_cast<std::uint8_t>(v & 0xFF));
    out.push_back(static_cast<std::uint8_t>(v >> 8));
  }
  return out;
}

StateDict parse(const std::vector<std::byte>& file) {
  return detail::parse_safetensors(file, "m.safetensors");
}

void write_file(const std::string& path, const std::vector<std::byte>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

std::uint32_t bits(float f) {
  return std::bit_cast<std::uint32_t>(f);
}

}  // namespace

TEST_CASE("safetensors: F32, I64 and U8 round trip with metadata, in order", "[safetensors]") {
  test::TempDir dir;
  const std::string path = dir.file("m.safetensors");
  StateDict dict;
  dict.insert("fc.weight", from_vector(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3}).t());
  dict.insert("fc.bias", from_vector(std::vector<float>{-0.5f, INFINITY}, {2}));
  dict.insert("bn.num_batches_tracked", scalar_tensor(7, kInt64));
  dict.insert("mask", from_vector(std::vector<std::uint8_t>{0, 255}, {2, 1}));
  dict.insert("empty", zeros({0, 4}));
  save_safetensors(dict, path, {{"format", "pt"}});

  const StateDict back = load_safetensors(path);
  REQUIRE(back.keys() == dict.keys());
  for (const auto& item : dict) {
    INFO(item.key());
    CHECK(back[item.key()].dtype() == item.value().dtype());
    CHECK(back[item.key()].sizes() == item.value().sizes());
    CHECK(test::bitwise_equal(back[item.key()],
                              item.value()));  // the transposed weight: row-major values
  }
  CHECK(load_safetensors_metadata(path) == SafetensorsMetadata{{"format", "pt"}});
  CHECK(load_safetensors_metadata(dir.file("m.safetensors")).at("format") == "pt");
}

TEST_CASE("safetensors: the bytes written, as the reference writer lays them out",
          "[safetensors]") {
  StateDict dict;
  dict.insert("a", from_vector(std::vector<float>{1.0f}, {1}));  // 1.0f = 00 00 80 3f
  dict.insert("b", scalar_tensor(2, kInt64));
  const std::vector<std::byte> file = detail::safetensors_bytes(dict, {});
  const std::string header = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                             R"("b":{"dtype":"I64","shape":[],"data_offsets":[4,12]}})";
  // The header is padded with spaces so the data starts at a multiple of 8 bytes.
  const std::size_t padded = header.size() + (8 - (8 + header.size()) % 8) % 8;
  REQUIRE(file.size() == 8 + padded + 12);
  CHECK(std::to_integer<std::size_t>(file[0]) == padded);
  CHECK(std::string(reinterpret_cast<const char*>(file.data()) + 8, padded) ==
        header + std::string(padded - header.size(), ' '));
  CHECK(std::to_integer<int>(file[8 + padded + 3]) == 0x3f);
  CHECK(std::to_integer<int>(file[8 + padded + 4]) == 2);
  CHECK((8 + padded) % 8 == 0);
}

TEST_CASE("safetensors: F16, BF16 and F64 read as float32, exactly where exact", "[safetensors]") {
  // F16: 1, -2, smallest subnormal 2^-24, largest subnormal 1023 x 2^-24, largest normal 65504,
  // -0, inf, -inf, NaN.
  const auto f16 = parse(image(
      R"({"h":{"dtype":"F16","shape":[9],"data_offsets":[0,18]}})",
      u16_bytes({0x3C00, 0xC000, 0x0001, 0x03FF, 0x7BFF, 0x8000, 0x7C00, 0xFC00, 0x7E00})))["h"];
  REQUIRE(f16.dtype() == kFloat32);
  const std::vector<float> h = f16.to_vector<float>();
  CHECK(h[0] == 1.0f);
  CHECK(h[1] == -2.0f);
  CHECK(h[2] == std::ldexp(1.0f, -24));
  CHECK(h[3] == std::ldexp(1023.0f, -24));
  CHECK(h[4] == 65504.0f);
  CHECK(bits(h[5]) == 0x80000000u);  // -0 keeps its sign
  CHECK(h[6] == INFINITY);
  CHECK(h[7] == -INFINITY);
  CHECK(std::isnan(h[8]));

  // BF16: the top half of a float32: 1, inf, NaN, -3.5, the smallest subnormal (0x0001 -> float
  // bits 0x00010000 = 2^-133).
  const auto bf16 = parse(image(R"({"b":{"dtype":"BF16","shape":[5],"data_offsets":[0,10]}})",
                                u16_bytes({0x3F80, 0x7F80, 0xFFC0, 0xC060, 0x0001})))["b"];
  const std::vector<float> b = bf16.to_vector<float>();
  CHECK(b[0] == 1.0f);
  CHECK(b[1] == INFINITY);
  CHECK(std::isnan(b[2]));
  CHECK(b[3] == -3.5f);
  CHECK(bits(b[4]) == 0x00010000u);

  // F64: rounded to nearest (0.1 -> 0.1f), beyond float's range -> inf, tiny -> 0, NaN stays.
  const std::vector<double> doubles{0.1, -1e300, 1e-50, std::numeric_limits<double>::quiet_NaN()};
  std::vector<std::uint8_t> raw(doubles.size() * 8);
  std::memcpy(raw.data(), doubles.data(), raw.size());
  const auto f64 =
      parse(image(R"({"d":{"dtype":"F64","shape":[2,2],"data_offsets":[0,32]}})", raw))["d"];
  CHECK(f64.sizes() == Shape{2, 2});
  const std::vector<float> d = f64.to_vector<float>();
  CHECK(d[0] == 0.1f);
  CHECK(d[1] == -INFINITY);
  CHECK(d[2] == 0.0f);
  CHECK(std::isnan(d[3]));
}

TEST_CASE("safetensors: the data section's order, whatever the header's", "[safetensors]") {
  // The reference writer lists the header by name but lays the data out by dtype: the dict comes
  // back in the data's order.
  const auto dict = parse(image(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[4,5]},)"
                                R"("z":{"dtype":"F32","shape":[],"data_offsets":[0,4]}})",
                                {0, 0, 128, 63, 9}));
  CHECK(dict.keys() == std::vector<std::string>{"z", "a"});
  CHECK(dict["z"].item<float>() == 1.0f);
  CHECK(dict["a"].item<std::uint8_t>() == 9);
}

TEST_CASE("safetensors: a hostile file gives an error naming the file and the tensor",
          "[safetensors][hostile]") {
  const std::string f32x2 = R"("dtype":"F32","shape":[2])";
  const std::vector<std::uint8_t> eight(8, 0);
  SECTION("too short for the length") {
    CHECK_THROWS_WITH(parse({std::byte{1}, std::byte{2}}),
                      "load_safetensors: 'm.safetensors' is truncated: 2 bytes, shorter than the "
                      "8-byte header length");
  }
  SECTION("header length beyond the file") {
    auto file = image("{}", {});
    file[0] = std::byte{3};
    CHECK_THROWS_WITH(parse(file),
                      "load_safetensors: 'm.safetensors': the header length 3 goes "
                      "beyond the file (2 bytes after the length)");
  }
  SECTION("header length above 100 MB") {
    auto file = image("{}", {});
    file[4] = std::byte{1};  // 2^32 + 2
    CHECK_THROWS_WITH(parse(file),
                      "load_safetensors: 'm.safetensors': the header length "
                      "4294967298 is above the 100 MB limit (not a safetensors "
                      "file?)");
  }
  SECTION("malformed JSON") {
    CHECK_THROWS_WITH(parse(image(R"({"a": {"dtype": )", {})),
                      StartsWith("load_safetensors: 'm.safetensors': the header is not valid "
                                 "JSON: [json.exception.parse_error.101]"));
    CHECK_THROWS_WITH(parse(image("[1, 2]", {})),
                      "load_safetensors: 'm.safetensors': the header is not a JSON object but "
                      "array");
    CHECK_THROWS_WITH(parse(image("{\"\xff\": 1}", {})), Contains("not valid JSON"));
    CHECK_THROWS_WITH(parse(image(R"({"w": 1e999})", {})), Contains("not valid JSON"));
  }
  SECTION("a name given twice") {
    CHECK_THROWS_WITH(parse(image("{\"w\":{" + f32x2 + R"(,"data_offsets":[0,8]},"w":{)" + f32x2 +
                                      R"(,"data_offsets":[8,16]}})",
                                  std::vector<std::uint8_t>(16, 0))),
                      "load_safetensors: 'm.safetensors': the JSON header names \"w\" twice");
  }
  SECTION("nesting deeper than a shape") {
    CHECK_THROWS_WITH(parse(image(R"({"w":{"shape":[[1]]}})", {})),
                      Contains("nests deeper than a tensor's shape list"));
  }
  SECTION("fields missing, unknown or of the wrong type") {
    CHECK_THROWS_WITH(parse(image(R"({"w":{"dtype":"F32","shape":[2]}})", eight)),
                      "load_safetensors: 'm.safetensors': tensor 'w' has no \"data_offsets\"");
    CHECK_THROWS_WITH(parse(image("{\"w\":{" + f32x2 + R"(,"data_offsets":[0,8],"x":1}})", eight)),
                      "load_safetensors: 'm.safetensors': tensor 'w' has an unknown field \"x\"");
    CHECK_THROWS_WITH(
        parse(image(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", eight)),
        "load_safetensors: 'm.safetensors': tensor 'w': shape sizes must be "
        "non-negative integers below 2^63, got -2");
    CHECK_THROWS_WITH(
        parse(image(R"({"w":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})", eight)),
        Contains("tensor 'w': shape sizes must be non-negative integers"));
    CHECK_THROWS_WITH(parse(image(R"({"w":7})", {})),
                      "load_safetensors: 'm.safetensors': tensor 'w': expected {\"dtype\", "
                      "\"shape\", \"data_offsets\"}, got number");
    CHECK_THROWS_WITH(parse(image(R"({"__metadata__":{"a":1}})", {})),
                      "load_safetensors: 'm.safetensors': \"__metadata__\" must map strings to "
                      "strings, \"a\" is 1");
  }
  SECTION("dtypes ember cannot read") {
    CHECK_THROWS_WITH(
        parse(image(R"({"ids":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}})", eight)),
        "load_safetensors: 'm.safetensors': tensor 'ids' has dtype I32, which ember "
        "cannot read (it reads F32, I64 and U8, and F64, F16 and BF16 converted to "
        "float32)");
    CHECK_THROWS_WITH(
        parse(image(R"({"q":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}})", eight)),
        "load_safetensors: 'm.safetensors': tensor 'q' has an unknown dtype \"Q4\"");
  }
  SECTION("a shape whose size overflows") {
    CHECK_THROWS_WITH(
        parse(image(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],)"
                    R"("data_offsets":[0,8]}})",
                    eight)),
        "load_safetensors: 'm.safetensors': tensor 'w': shape [4294967296, 4294967296] has too "
        "many elements (the count overflows int64)");
    CHECK_THROWS_WITH(  // numel fits int64, bytes do not
        parse(image(R"({"w":{"dtype":"F64","shape":[2305843009213693952],)"
                    R"("data_offsets":[0,8]}})",
                    eight)),
        "load_safetensors: 'm.safetensors': tensor 'w': integer overflow: 2305843009213693952 * 8 "
        "does not fit in int64 (shape [2305843009213693952])");
  }
  SECTION("byte ranges: reversed, wrong size, outside, overlapping, gaps, excess") {
    CHECK_THROWS_WITH(parse(image("{\"w\":{" + f32x2 + R"(,"data_offsets":[8,0]}})", eight)),
                      "load_safetensors: 'm.safetensors': tensor 'w': data_offsets [8, 0] are "
                      "out of order (BEGIN after END)");
    CHECK_THROWS_WITH(parse(image("{\"w\":{" + f32x2 + R"(,"data_offsets":[0,4]}})", eight)),
                      "load_safetensors: 'm.safetensors': tensor 'w': data_offsets [0, 4] hold 4 "
                      "bytes, but shape [2] of F32 takes 8");
    CHECK_THROWS_WITH(parse(image("{\"w\":{" + f32x2 + R"(,"data_offsets":[4,12]}})", eight)),
                      "load_safetensors: 'm.safetensors': tensor 'w': data_offsets [4, 12] lie "
                      "outside the data section (8 bytes)");
    CHECK_THROWS_WITH(
        parse(image("{\"w\":{" + f32x2 + R"(,"data_offsets":[0,8]},"v":{)" + f32x2 +
                        R"(,"data_offsets":[4,12]}})",
                    std::vector<std::uint8_t>(12, 0))),
        "load_safetensors: 'm.safetensors': tensor 'v' at bytes [4, 12) overlaps tensor 'w' at "
        "[0, 8)");
    CHECK_THROWS_WITH(parse(image("{\"w\":{" + f32x2 + R"(,"data_offsets":[4,12]}})",
                                  std::vector<std::uint8_t>(12, 0))),
                      "load_safetensors: 'm.safetensors': bytes [0, 4) of the data section belong "
                      "to no tensor (before tensor 'w')");
    CHECK_THROWS_WITH(parse(image("{\"w\":{" + f32x2 + R"(,"data_offsets":[0,8]}})",
                                  std::vector<std::uint8_t>(9, 0))),
                      "load_safetensors: 'm.safetensors': the tensors cover 8 of the 9 bytes of "
                      "the data section; the last 1 belong to no tensor");
  }
}

TEST_CASE("safetensors: files that are not regular files are refused before reading",
          "[safetensors][hostile]") {
  test::TempDir dir;
  const std::string fifo = dir.file("pipe.safetensors");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK_THROWS_WITH(load_safetensors(fifo),
                    "load_safetensors: '" + fifo + "' is a FIFO, not a regular file");
  CHECK_THROWS_WITH(
      load_safetensors(dir.path.string()),
      "load_safetensors: '" + dir.path.string() + "' is a directory, not a regular file");
  CHECK_THROWS_WITH(
      load_safetensors(dir.file("absent")),
      "load_safetensors: cannot open '" + dir.file("absent") + "': No such file or directory");
  // A lying header length is refused from the first 8 bytes, by path too.
  const std::string liar = dir.file("liar.safetensors");
  write_file(liar, image(std::string(16, ' '), {}));
  std::fstream patch(liar, std::ios::in | std::ios::out | std::ios::binary);
  patch.put(static_cast<char>(200));
  patch.close();
  CHECK_THROWS_WITH(load_safetensors(liar), "load_safetensors: '" + liar +
                                                "': the header length 200 goes beyond the file "
                                                "(16 bytes after the length)");
}

TEST_CASE("safetensors: what cannot be written", "[safetensors]") {
  test::TempDir dir;
  StateDict dict;
  dict.insert("__metadata__", zeros({1}));
  CHECK_THROWS_WITH(save_safetensors(dict, dir.file("m.safetensors")),
                    "save_safetensors: a tensor cannot be named \"__metadata__\" (the header's "
                    "metadata entry)");
  StateDict undefined;
  undefined.insert("w", Tensor());
  CHECK_THROWS_WITH(save_safetensors(undefined, dir.file("m.safetensors")),
                    "save_safetensors: tensor 'w' is undefined");
  CHECK(dir.entries().empty());
}
