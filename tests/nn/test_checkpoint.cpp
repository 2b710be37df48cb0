// ember::save / ember::load for modules: a bitwise round trip, every kind of bad file rejected
// with the module untouched, and a save killed midway leaving the previous checkpoint intact.
#include <catch2/catch.hpp>

#include "support/temp_dir.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <ember/autograd/ops.h>
#include <ember/core/generator.h>
#include <ember/core/record_format.h>
#include <ember/nn/checkpoint.h>
#include <ember/nn/flatten.h>
#include <ember/nn/linear.h>
#include <ember/nn/sequential.h>
#include <ember/optim/checkpoint.h>

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
    core::detail::set_save_hook([&](core::detail::SaveStage stage, const std::string& temp) {
      if (stage == core::detail::SaveStage::Written) {
        temp_seen = temp;
        CHECK(fs::exists(temp));  // written and fsynced, not yet renamed
        throw Error("injected failure before rename");
      }
    });
    CHECK_THROWS_WITH(save(*make_mlp(2), path), Contains("injected failure"));
    core::detail::set_save_hook({});
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
    core::detail::set_save_hook([&](core::detail::SaveStage stage, const std::string&) {
      if (stage == core::detail::SaveStage::HalfWritten) {
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

namespace {

// A checkpoint file image with a correct header, body size and CRC around `body`, so that the
// loader gets past every integrity check to the entry table (a hostile writer, not bad bytes).
std::vector<char> forged(const std::vector<unsigned char>& body,
                         core::CheckpointKind kind = core::CheckpointKind::Module) {
  std::vector<unsigned char> file = {'E', 'M', 'B', 'R', 'C', 'K', 'P', 'T', 1, 0, 0, 0};
  auto put = [&](std::uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) file.push_back(static_cast<unsigned char>(v >> (8 * i)));
  };
  put(static_cast<std::uint32_t>(kind), 4);
  put(body.size(), 8);
  file.insert(file.end(), body.begin(), body.end());
  put(crc32(crc32(0L, Z_NULL, 0), file.data(), static_cast<uInt>(file.size())), 4);
  return {file.begin(), file.end()};
}

void put_le(std::vector<unsigned char>& out, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<unsigned char>(v >> (8 * i)));
}

// One entry header: name, dtype code, dims.
void put_entry(std::vector<unsigned char>& body, const std::string& name, int dtype,
               const std::vector<std::int64_t>& dims) {
  put_le(body, name.size(), 4);
  body.insert(body.end(), name.begin(), name.end());
  body.push_back(static_cast<unsigned char>(dtype));
  put_le(body, dims.size(), 4);
  for (std::int64_t d : dims) put_le(body, static_cast<std::uint64_t>(d), 8);
}

std::uint32_t mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

}  // namespace

TEST_CASE("Checkpoint: every count and size is checked against the bytes left (kind C)",
          "[nn][checkpoint]") {
  TempDir dir;
  const std::string path = dir.file("hostile.ckpt");
  nn::Linear target(2, 1, false);
  const auto before = bits_of(target);
  auto refused = [&](const std::vector<unsigned char>& body, const std::string& message) {
    write_bytes(path, forged(body));
    CHECK_THROWS_WITH(load(target, path), Contains(message));
  };

  SECTION("an entry count equal to the body size (once allocated 95x the file)") {
    // 1 MiB of body whose count says 1 MiB entries: each takes at least 10 bytes.
    std::vector<unsigned char> body;
    const std::uint64_t size = 1 << 20;
    put_le(body, size, 8);
    body.resize(size, 0);
    refused(body, "is corrupt: 1048576 entries cannot fit in the 1048568 bytes left");
  }
  SECTION("a name longer than the body") {
    std::vector<unsigned char> body;
    put_le(body, 1, 8);
    put_le(body, 0xFFFFFFFFu, 4);
    body.resize(body.size() + 16, 'a');
    refused(body, "is corrupt: a name at byte 36 needs 4294967295 bytes, the body has 16 left");
  }
  SECTION("an empty name") {
    std::vector<unsigned char> body;
    put_le(body, 1, 8);
    put_entry(body, "", 0, {});
    put_le(body, 0, 4);
    refused(body, "is corrupt: entry 0 has an empty name");
  }
  SECTION("a shape with more values than the bytes left") {
    std::vector<unsigned char> body;
    put_le(body, 1, 8);
    put_entry(body, "weight", 0, {1LL << 40});
    put_le(body, 0, 8);
    refused(body,
            "entry 'weight' has shape [1099511627776], more float32 values than the 8 "
            "bytes left");
  }
  SECTION("a shape whose element count overflows int64") {
    std::vector<unsigned char> body;
    put_le(body, 1, 8);
    put_entry(body, "weight", 3, {1LL << 32, 1LL << 32});
    refused(body, "entry 'weight' has shape [4294967296, 4294967296]");
  }
  SECTION("a negative dim") {
    std::vector<unsigned char> body;
    put_le(body, 1, 8);
    put_entry(body, "weight", 0, {-1, 2});
    refused(body, "entry 'weight' has shape [-1, 2]");
  }
  SECTION("a rank beyond 64") {
    std::vector<unsigned char> body;
    put_le(body, 1, 8);
    put_entry(body, "weight", 0, {});
    body.resize(body.size() - 4);
    put_le(body, 1000000, 4);
    refused(body, "entry 'weight' has rank 1000000");
  }
  SECTION("a name that appears twice") {
    std::vector<unsigned char> body;
    put_le(body, 2, 8);
    put_entry(body, "weight", 2, {});
    put_entry(body, "weight", 2, {});
    body.push_back(1);
    body.push_back(2);
    refused(body, "is corrupt: entry 'weight' appears twice");
  }
  SECTION("a body size beyond the file is refused from the header alone") {
    std::vector<unsigned char> body;
    put_le(body, 0, 8);
    auto bytes = forged(body);
    for (int i = 16; i < 24; ++i) bytes[static_cast<std::size_t>(i)] = '\xff';
    write_bytes(path, bytes);
    CHECK_THROWS_WITH(load(target, path),
                      Contains("is truncated: the header says 18446744073709551615 bytes"));
  }
  CHECK(bits_of(target) == before);
}

TEST_CASE("Checkpoint: only regular files are read (kind C)", "[nn][checkpoint]") {
  TempDir dir;
  nn::Linear target(2, 1, false);
  // /dev/zero is endless: it must be refused before a single byte is read.
  CHECK_THROWS_WITH(load(target, "/dev/zero"),
                    Contains("load: '/dev/zero' is a character device, not a regular file"));
  CHECK_THROWS_WITH(load(target, dir.path.string()), Contains("is a directory, not a regular"));
  // A FIFO with no writer: opening must not block, and it is refused.
  const std::string fifo = dir.file("fifo");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK_THROWS_WITH(load(target, fifo), Contains("is a FIFO, not a regular file"));
  Generator gen(1);
  optim::SGD sgd(target.parameters(), {.lr = 0.1});
  CHECK_THROWS_WITH(load(sgd, "/dev/zero"), Contains("is a character device"));
}

TEST_CASE("Checkpoint: saving keeps the file semantics of writing in place (kind D)",
          "[nn][checkpoint]") {
  TempDir dir;
  nn::Linear model(3, 2);
  const std::string path = dir.file("model.ckpt");

  SECTION("a new file follows the umask") {
    const mode_t old_mask = ::umask(077);
    save(model, path);
    ::umask(022);
    save(model, dir.file("other.ckpt"));
    ::umask(old_mask);
    CHECK(mode_of(path) == 0600);
    CHECK(mode_of(dir.file("other.ckpt")) == 0644);
  }
  SECTION("a replaced file keeps its mode") {
    save(model, path);
    for (mode_t mode : {0600u, 0640u, 0444u, 0755u}) {
      REQUIRE(::chmod(path.c_str(), mode) == 0);
      save(model, path);
      CHECK(mode_of(path) == mode);
    }
  }
  SECTION("a symbolic link is written through, and stays a link") {
    fs::create_directory(dir.path / "real");
    save(nn::Linear(3, 2), dir.file("real/model.ckpt"));
    fs::create_symlink("real/model.ckpt", path);  // relative to the link's folder
    REQUIRE(::chmod(dir.file("real/model.ckpt").c_str(), 0600) == 0);
    save(model, path);
    CHECK(fs::is_symlink(path));
    CHECK(mode_of(dir.file("real/model.ckpt")) == 0600);
    nn::Linear loaded(3, 2);
    load(loaded, dir.file("real/model.ckpt"));
    CHECK(bits_of(loaded) == bits_of(model));
    // A link to a link to a file that does not exist yet: the file is created.
    fs::create_symlink("real/new.ckpt", dir.path / "link1");
    fs::create_symlink("link1", dir.path / "link2");
    save(model, dir.file("link2"));
    CHECK(fs::is_symlink(dir.path / "link2"));
    CHECK(fs::is_regular_file(dir.path / "real" / "new.ckpt"));
    CHECK(std::vector<std::string>{"model.ckpt", "new.ckpt"} == [&] {
      std::vector<std::string> names;
      for (const auto& e : fs::directory_iterator(dir.path / "real"))
        names.push_back(e.path().filename());
      std::sort(names.begin(), names.end());
      return names;
    }());
  }
  SECTION("a name of 250 and of 255 bytes (NAME_MAX) works") {
    for (std::size_t length : {250u, 255u}) {
      const std::string name = dir.file(std::string(length, 'n'));
      save(model, name);
      save(model, name);  // replacing it too
      nn::Linear loaded(3, 2);
      load(loaded, name);
      CHECK(bits_of(loaded) == bits_of(model));
      fs::remove(name);
    }
    CHECK(dir.entries().empty());  // no temporary file left
  }
  SECTION("what is not a regular file is never replaced") {
    fs::create_directory(dir.path / "folder");
    CHECK_THROWS_WITH(save(model, dir.file("folder")),
                      Contains("exists and is a directory, not a regular file; refusing"));
    CHECK_THROWS_WITH(save(model, dir.path.string() + "/"), Contains("names a folder"));
    CHECK_THROWS_WITH(save(model, ""), Contains("the path is empty"));
    CHECK(fs::is_directory(dir.path / "folder"));
  }
}

TEST_CASE("Checkpoint: a write error names the path and leaves no temporary file (kind D)",
          "[nn][checkpoint]") {
  TempDir dir;
  const std::string path = dir.file("model.ckpt");
  nn::Linear small(2, 1);
  save(small, path);
  const auto old_bytes = read_bytes(path);

  SECTION("a file too large for RLIMIT_FSIZE: write() fails midway (EFBIG, as ENOSPC would)") {
    // Past the limit write() fails with EFBIG (and raises SIGXFSZ, ignored here).
    struct rlimit old_limit {};
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &old_limit) == 0);
    auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
    struct rlimit limit = old_limit;
    limit.rlim_cur = 4096;
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &limit) == 0);
    bool threw = false;
    try {
      save(nn::Linear(100, 100), path);
    } catch (const Error& e) {
      threw = true;
      CHECK_THAT(e.what(), Contains("cannot write '" + path + "': cannot write '" +
                                    dir.path.string() + "/model.ckpt.tmp."));
      CHECK_THAT(e.what(), Contains("File too large"));
    }
    ::setrlimit(RLIMIT_FSIZE, &old_limit);
    std::signal(SIGXFSZ, old_handler);
    CHECK(threw);
  }
  SECTION("a folder that is not writable") {
    if (::geteuid() == 0) {
      // root may write anywhere; /proc refuses even root.
      CHECK_THROWS_WITH(save(small, "/proc/ember-test.ckpt"),
                        Contains("cannot write '/proc/ember-test.ckpt': cannot create a "
                                 "temporary file in the folder '/proc'"));
    } else {
      fs::create_directory(dir.path / "ro");
      REQUIRE(::chmod(dir.file("ro").c_str(), 0500) == 0);
      CHECK_THROWS_WITH(save(small, dir.file("ro/model.ckpt")),
                        Contains("cannot create a temporary file in the folder '" + dir.file("ro") +
                                 "': Permission denied"));
      ::chmod(dir.file("ro").c_str(), 0700);
      fs::remove(dir.path / "ro");
    }
  }
  CHECK(dir.entries() == std::vector<std::string>{"model.ckpt"});
  CHECK(read_bytes(path) == old_bytes);
}
