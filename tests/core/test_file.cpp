// core's file layer (<ember/core/file.h>, <ember/core/record_format.h>) without nn: atomic
// writes, checked reads, a record round trip; and Tensor::mutable_data_ptr's one version bump.
// The full file semantics (modes, links, crashes) are tested through ember::save in
// tests/nn/test_checkpoint.cpp.
#include <catch2/catch.hpp>

#include "support/temp_dir.h"

#include <sys/stat.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <ember/core/file.h>
#include <ember/core/record_format.h>
#include <ember/core/tensor.h>

using namespace ember;
using Catch::Contains;
using ember::test::TempDir;

namespace {
std::vector<std::byte> bytes_of(const std::string& s) {
  const auto* p = reinterpret_cast<const std::byte*>(s.data());
  return {p, p + s.size()};
}
}  // namespace

TEST_CASE("file: write_file_atomically then read_file gives the bytes back", "[core][file]") {
  TempDir dir;
  const std::string path = dir.file("a.bin");
  core::write_file_atomically(path, bytes_of("hello"));
  CHECK(core::read_file(path) == bytes_of("hello"));
  ember::write_file_atomically(path, bytes_of("bye"));  // the spelling from before issue 18
  CHECK(core::read_file(path) == bytes_of("bye"));
  CHECK(dir.entries() == std::vector<std::string>{"a.bin"});  // no temporary file left

  CHECK_THROWS_WITH(core::read_file(dir.file("nope")),
                    "load: cannot open '" + dir.file("nope") + "': No such file or directory");
  CHECK_THROWS_WITH(core::read_file(dir.path.string(), "read"),
                    "read: '" + dir.path.string() + "' is a directory, not a regular file");
  CHECK_THROWS_WITH(core::InputFile(dir.path.string(), "load", "a hint"),
                    Contains("is a directory, not a regular file: a hint"));
  CHECK_THROWS_WITH(core::write_file_atomically(dir.path.string() + "/", bytes_of("x")),
                    Contains("it names a folder, not a file"));
}

TEST_CASE("file: InputFile reads exactly, and says when a file is shorter", "[core][file]") {
  TempDir dir;
  const std::string path = dir.file("b.bin");
  core::write_file_atomically(path, bytes_of("abcdef"));
  core::InputFile in(path, "load");
  CHECK(in.size() == 6);
  std::vector<std::byte> head(4);
  in.read(head);
  CHECK(head == bytes_of("abcd"));
  CHECK_FALSE(in.at_end());  // reads 'e'
  std::vector<std::byte> rest(2);
  CHECK_THROWS_WITH(in.read(rest), "load: '" + path + "' is truncated: it shrank while being read");
}

TEST_CASE("file: little-endian helpers", "[core][file]") {
  std::vector<std::byte> out;
  core::put_le<std::uint32_t>(out, 0x04030201u);
  core::put_le<std::int16_t>(out, -2);
  REQUIRE(out.size() == 6);
  CHECK(std::to_integer<int>(out[0]) == 1);  // lowest byte first
  CHECK(std::to_integer<int>(out[3]) == 4);
  CHECK(core::get_le<std::uint32_t>(out.data()) == 0x04030201u);
  CHECK(core::get_le<std::int16_t>(out.data() + 4) == -2);
}

TEST_CASE("record format: tensors and scalars round-trip bitwise, kinds are checked",
          "[core][file]") {
  TempDir dir;
  const std::string path = dir.file("r.ckpt");
  const Tensor w = from_vector(std::vector<float>{1.5f, -0.0f, 3e-39f, 7.0f}, {2, 2});
  const Tensor steps = from_vector(std::vector<std::int64_t>{-5, 1LL << 40}, {2});
  core::write_checkpoint(
      path, core::CheckpointKind::Module,
      {core::record_from_tensor("w", w), core::record_from_tensor("steps", steps),
       core::scalar_record("lr", 0.25)});
  const auto records = core::read_checkpoint(path, core::CheckpointKind::Module);
  REQUIRE(records.size() == 3);
  CHECK(records[0].name == "w");
  CHECK(records[0].shape == Shape{2, 2});
  CHECK(core::scalar_double(records[2]) == 0.25);

  // Into a transposed view: the values land in row-major order of the view, one version bump.
  Tensor target = zeros({2, 2});
  Tensor view = target.transpose(0, 1);
  const auto v0 = target.version();
  core::copy_record_to_tensor(records[0], view);
  CHECK(target.version() == v0 + 1);
  CHECK(view.to_vector<float>() == w.to_vector<float>());
  CHECK(std::signbit(view.at<float>({0, 1})));  // -0.0f kept
  Tensor steps_back = zeros({2}, kInt64);
  core::copy_record_to_tensor(records[1], steps_back);
  CHECK(steps_back.to_vector<std::int64_t>() == steps.to_vector<std::int64_t>());
  CHECK_THROWS_WITH(core::copy_record_to_tensor(records[1], zeros({2})),
                    "load: entry 'steps' must be float32, got int64");

  CHECK_THROWS_WITH(
      core::read_checkpoint(path, core::CheckpointKind::Optimizer),
      "load: '" + path + "' is a module checkpoint, expected an optimizer checkpoint");
}

TEST_CASE("mutable_data_ptr: a raw write bumps the version once", "[core][tensor]") {
  Tensor x = zeros({2, 3});
  const auto v0 = x.version();
  float* p = x.mutable_data_ptr<float>();
  for (int i = 0; i < 6; ++i) p[i] = static_cast<float>(i);
  CHECK(x.version() == v0 + 1);
  CHECK(x.to_vector<float>() == std::vector<float>{0, 1, 2, 3, 4, 5});
  // A view sees the same counter; std::byte gives the first element's bytes for any dtype.
  Tensor row = x.select(0, 1);
  std::byte* b = row.mutable_data_ptr<std::byte>();
  CHECK(b == reinterpret_cast<std::byte*>(x.data_ptr<float>() + 3));
  CHECK(x.version() == v0 + 2);
  (void)x.data_ptr<float>();  // reading does not count
  CHECK(x.version() == v0 + 2);
  CHECK_THROWS_WITH(x.mutable_data_ptr<std::int64_t>(),
                    "mutable_data_ptr: the tensor has dtype float32, not int64");
  CHECK_THROWS_WITH(Tensor().mutable_data_ptr<std::byte>(),
                    "mutable_data_ptr: the tensor is undefined");
}
