// libFuzzer target for the checkpoint loader (<ember/core/record_format.h> through
// <ember/nn/checkpoint.h> and <ember/optim/checkpoint.h>, module and optimizer):
// any input must either load or throw ember::Error - never crash, hang, leak, read out of
// bounds or allocate more than the input's size allows (run.sh sets -malloc_limit_mb and
// -rss_limit_mb; Note [bounded loading] in core/src/io/record_format.cpp).
// Each input is written to a memfd and loaded by path (/proc/self/fd/N), so the file checks run
// too, into a small MLP and its SGD optimizer with momentum; the parser also runs on the bytes
// in memory for both kinds. Build and run: tests/fuzz/run.sh [seconds].
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include <ember/core/error.h>
#include <ember/core/record_format.h>
#include <ember/nn/checkpoint.h>
#include <ember/nn/linear.h>
#include <ember/nn/sequential.h>
#include <ember/optim/checkpoint.h>

namespace {

struct Target {
  ember::nn::Sequential model{ember::nn::Linear(3, 2), ember::nn::Linear(2, 1, false)};
  ember::optim::SGD sgd{model.parameters(), {.lr = 0.1, .momentum = 0.9}};
  int fd = ::memfd_create("checkpoint", MFD_CLOEXEC);
  std::string path = "/proc/self/fd/" + std::to_string(fd);
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Target target;
  if (target.fd < 0) __builtin_trap();  // no memfd: nothing can be fuzzed
  const auto bytes = std::as_bytes(std::span(data, size));
  for (auto kind : {ember::core::CheckpointKind::Module, ember::core::CheckpointKind::Optimizer}) {
    try {
      ember::core::parse_checkpoint(bytes, "fuzz-input", kind);
    } catch (const ember::Error&) {
    }
  }
  if (::ftruncate(target.fd, 0) != 0 ||
      ::pwrite(target.fd, data, size, 0) != static_cast<ssize_t>(size))
    __builtin_trap();
  try {
    ember::load(target.model, target.path);
  } catch (const ember::Error&) {
    // The expected outcome for malformed input; anything else escapes and is reported.
  }
  try {
    ember::load(target.sgd, target.path);
  } catch (const ember::Error&) {
  }
  return 0;
}
