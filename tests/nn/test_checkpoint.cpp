// ember::save / ember::load for modules: a bitwise round trip, every kind of bad file rejected
// with the module untouched, and a save killed midway leaving the previous checkpoint intact.
#include <catch2/catch.hpp>

#include "support/temp_dir.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <ember/core/generator.h>
#include <ember/core/ops.h>
#include <ember/nn/checkpoint.h>
#include <ember/nn/flatten.h>
#include <ember/nn/linear.h>
#include <ember/nn/sequential.h>

using namespace ember;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

using ember::test::TempDir;

namespace {

std::vector<char> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::vector<char>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// The exact bits of every parameter, to show a module unchanged.
std::vector<std::vector<std::uint32_t>> bits_of(const nn::Module& m) {
  std::vector<std::vector<std::uint32_t>> all;
  for (const Tensor& p : m.parameters()) {
    const auto values = p.to_vector<float>();
    std::vector<std::uint32_t> bits(values.size());
    if (!values.empty()) std::memcpy(bits.data(), values.data(), values.size() * 4);
    all.push_back(bits);
  }
  return all;
}

std::shared_ptr<nn::Sequential> make_mlp(std::uint64_t seed, std::int64_t hidden = 5) {
  Generator gen(seed);
  return std::make_shared<nn::Sequential>(nn::Flatten(), nn::Linear(6, hidden, true, gen),
                                          nn::Linear(hidden, 3, false, gen));
}

}  // namespace

TEST_CASE("Checkpoint: a save/load round trip is bitwise exact", "[nn][checkpoint]") {
  TempDir dir;
  auto saved = make_mlp(1);
  {
    // Values that a careless format would mangle: -0, subnormals, inf, NaN with a payload.
    Tensor w = saved->at<nn::Linear>(1)->weight.detach();
    float* data = w.data_ptr<float>();
    data[0] = -0.0f;
    data[1] = std::numeric_limits<float>::denorm_min();
    data[2] = std::numeric_limits<float>::infinity();
    data[3] = -std::numeric_limits<float>::infinity();
    std::uint32_t nan_bits = 0x7fc01234u;
    std::memcpy(&data[4], &nan_bits, 4);
  }
  const std::string path = dir.file("model.ckpt");
  save(*saved, path);
  auto loaded = make_mlp(2);
  REQUIRE(bits_of(*loaded) != bits_of(*saved));
  load(*loaded, path);
  CHECK(bits_of(*loaded) == bits_of(*saved));
  // Only the checkpoint is left in the folder: no temporary file.
  CHECK(dir.entries() == std::vector<std::string>{"model.ckpt"});
  // Saving again replaces the file atomically, and loading gives the new values.
  auto other = make_mlp(3);
  save(*other, path);
  load(*loaded, path);
  CHECK(bits_of(*loaded) == bits_of(*other));
  CHECK(dir.entries().size() == 1);
}

TEST_CASE("Checkpoint: the header is as documented", "[nn][checkpoint]") {
  TempDir dir;
  nn::Linear fc(2, 1, false);
  save(fc, dir.file("a.ckpt"));
  const auto bytes = read_bytes(dir.file("a.ckpt"));
  // magic(8) version(4) kind(4) body size(8) | count(8) | name len(4) "weight"(6) dtype(1)
  // rank(4) dims(2x8) | payload 2 floats (8) | crc(4)
  const std::size_t body = 8 + 4 + 6 + 1 + 4 + 16 + 8;
  REQUIRE(bytes.size() == 24 + body + 4);
  CHECK(std::string(bytes.data(), 8) == "EMBRCKPT");
  CHECK(bytes[8] == 1);   // version 1, little-endian
  CHECK(bytes[12] == 1);  // kind 1: module
  CHECK(static_cast<unsigned char>(bytes[16]) == body);
  CHECK(std::string(bytes.data() + 24 + 8 + 4, 6) == "weight");
}

TEST_CASE("Checkpoint: bad files throw saying why, leaving the module unchanged",
          "[nn][checkpoint]") {
  TempDir dir;
  const std::string path = dir.file("model.ckpt");
  save(*make_mlp(1), path);
  const auto good = read_bytes(path);
  auto target = make_mlp(2);
  const auto before = bits_of(*target);

  SECTION("a corrupt payload byte: bad CRC") {
    auto bytes = good;
    bytes[bytes.size() - 10] ^= 0x01;
    write_bytes(path, bytes);
    CHECK_THROWS_WITH(load(*target, path), Contains("is corrupt: bad CRC-32"));
  }
  SECTION("a truncated file") {
    auto bytes = good;
    bytes.resize(bytes.size() - 7);
    write_bytes(path, bytes);
    CHECK_THROWS_WITH(load(*target, path), Contains("is truncated"));
    bytes.resize(10);
    write_bytes(path, bytes);
    CHECK_THROWS_WITH(load(*target, path), Contains("is truncated: 10 bytes"));
    write_bytes(path, {});
    CHECK_THROWS_WITH(load(*target, path), Contains("is truncated: 0 bytes"));
  }
  SECTION("trailing bytes") {
    auto bytes = good;
    bytes.push_back('x');
    write_bytes(path, bytes);
    CHECK_THROWS_WITH(load(*target, path), Contains("1 trailing bytes"));
  }
  SECTION("a wrong format version") {
    auto bytes = good;
    bytes[8] = 2;
    write_bytes(path, bytes);
    CHECK_THROWS_WITH(load(*target, path),
                      Contains("has format version 2, but this build of ember reads version 1"));
  }
  SECTION("not a checkpoint at all") {
    auto bytes = good;
    bytes[0] = 'X';
    write_bytes(path, bytes);
    CHECK_THROWS_WITH(load(*target, path), Contains("not an ember checkpoint (bad magic"));
  }
  SECTION("a wrong parameter name") {
    // The same shapes under other names: "fc.weight" instead of "1.weight".
    Generator gen(3);
    nn::Sequential renamed;
    renamed.push_back("flat", nn::Flatten());
    renamed.push_back("fc", nn::Linear(6, 5, true, gen));
    renamed.push_back("out", nn::Linear(5, 3, false, gen));
    save(renamed, path);
    CHECK_THROWS_WITH(load(*target, path),
                      Contains("parameter '1.weight' [5, 6] of the module is missing from"));
  }
  SECTION("an extra parameter in the file") {
    Generator gen(3);
    nn::Sequential bigger(nn::Flatten(), nn::Linear(6, 5, true, gen), nn::Linear(5, 3, true, gen));
    save(bigger, path);
    CHECK_THROWS_WITH(load(*target, path),
                      Contains("holds parameter '2.bias' [3], which the module does not have"));
  }
  SECTION("a wrong shape") {
    save(*make_mlp(1, /*hidden=*/4), path);
    CHECK_THROWS_WITH(load(*target, path),
                      Contains("parameter '1.weight': expected shape [5, 6], got [4, 6]"));
  }
  SECTION("a missing file") {
    CHECK_THROWS_WITH(
        load(*target, dir.file("nope.ckpt")),
        Contains("cannot open '" + dir.file("nope.ckpt") + "': No such file or directory"));
  }
  CHECK(bits_of(*target) == before);
}

TEST_CASE("Checkpoint: a failed save removes its temporary file and keeps the old checkpoint",
          "[nn][checkpoint]") {
  TempDir dir;
  const std::string path = dir.file("model.ckpt");
  auto old_model = make_mlp(1);
  save(*old_model, path);
  const auto old_bytes = read_bytes(path);

  SECTION("a failure between write and rename (injected)") {
    std::string temp_seen;
    detail::set_checkpoint_save_hook([&](detail::SaveStage stage, const std::string& temp) {
      if (stage == detail::SaveStage::Written) {
        temp_seen = temp;
        CHECK(fs::exists(temp));  // written and fsynced, not yet renamed
        throw Error("injected failure before rename");
      }
    });
    CHECK_THROWS_WITH(save(*make_mlp(2), path), Contains("injected failure"));
    detail::set_checkpoint_save_hook({});
    CHECK(!temp_seen.empty());
    CHECK(!fs::exists(temp_seen));
  }
  SECTION("a folder that does not exist") {
    CHECK_THROWS_WITH(save(*make_mlp(2), dir.file("missing/model.ckpt")),
                      Contains("No such file or directory"));
  }
  CHECK(dir.entries() == std::vector<std::string>{"model.ckpt"});
  CHECK(read_bytes(path) == old_bytes);
  auto loaded = make_mlp(3);
  load(*loaded, path);
  CHECK(bits_of(*loaded) == bits_of(*old_model));
}

TEST_CASE("Checkpoint: a process killed (SIGKILL) mid-save leaves the old checkpoint intact",
          "[nn][checkpoint]") {
  TempDir dir;
  const std::string path = dir.file("model.ckpt");
  auto old_model = make_mlp(1, /*hidden=*/64);
  save(*old_model, path);
  const auto old_bytes = read_bytes(path);

  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // The child saves a different model and stops halfway through writing the temporary file,
    // telling the parent, which then kills it as a crash or power cut would.
    ::close(ready[0]);
    detail::set_checkpoint_save_hook([&](detail::SaveStage stage, const std::string&) {
      if (stage == detail::SaveStage::HalfWritten) {
        const char byte = 1;
        if (::write(ready[1], &byte, 1) != 1) ::_exit(3);
        for (;;) ::pause();
      }
    });
    try {
      save(*make_mlp(2, 64), path);
    } catch (...) {
    }
    ::_exit(2);  // not reached unless the hook did not run
  }
  ::close(ready[1]);
  char byte = 0;
  const bool child_ready = ::read(ready[0], &byte, 1) == 1;
  ::close(ready[0]);
  ::kill(child, SIGKILL);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(child_ready);
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);

  // The half-written temporary file is left behind (a killed process cleans nothing up), but
  // the checkpoint itself is the old one, byte for byte, and loads.
  const auto names = dir.entries();
  CHECK(names.size() == 2);
  CHECK(read_bytes(path) == old_bytes);
  auto loaded = make_mlp(3, 64);
  load(*loaded, path);
  CHECK(bits_of(*loaded) == bits_of(*old_model));
  // A leftover temporary file is not a checkpoint: loading it fails cleanly.
  for (const auto& name : names) {
    if (name == "model.ckpt") continue;
    CHECK(name.rfind("model.ckpt.tmp.", 0) == 0);
    CHECK_THROWS_WITH(load(*loaded, dir.file(name)), Contains("is truncated"));
  }
  CHECK(bits_of(*loaded) == bits_of(*old_model));
}
