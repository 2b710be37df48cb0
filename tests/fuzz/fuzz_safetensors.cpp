// libFuzzer target for the safetensors loader (<ember/core/safetensors.h>): any input must either
// load or throw ember::Error - never crash, hang, leak, read out of bounds or allocate more than
// the input's size allows (run.sh sets -malloc_limit_mb and -rss_limit_mb; Note [hostile
// safetensors] in core/src/io/safetensors.cpp).
// Each input is parsed in memory, then written to a memfd and loaded by path (/proc/self/fd/N),
// so the file checks run too, and what loads goes into a small MLP with load_state_dict (strict
// and not), so the state-dict checks see hostile names, shapes and dtypes. Build and run:
// tests/fuzz/run.sh [seconds].
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include <ember/core/error.h>
#include <ember/core/safetensors.h>
#include <ember/nn/linear.h>
#include <ember/nn/sequential.h>

namespace {

struct Target {
  ember::nn::Sequential model{ember::nn::Linear(3, 2), ember::nn::Linear(2, 1, false)};
  int fd = ::memfd_create("safetensors", MFD_CLOEXEC);
  std::string path = "/proc/self/fd/" + std::to_string(fd);
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Target target;
  if (target.fd < 0) __builtin_trap();  // no memfd: nothing can be fuzzed
  try {
    ember::SafetensorsMetadata metadata;
    const ember::StateDict dict = ember::detail::parse_safetensors(
        std::as_bytes(std::span(data, size)), "fuzz-input", &metadata);
    for (bool strict : {false, true}) {
      try {
        target.model.load_state_dict(dict, strict);
      } catch (const ember::Error&) {
      }
    }
  } catch (const ember::Error&) {
    // The expected outcome for malformed input; anything else escapes and is reported.
  }
  if (::ftruncate(target.fd, 0) != 0 ||
      ::pwrite(target.fd, data, size, 0) != static_cast<ssize_t>(size))
    __builtin_trap();
  try {
    ember::load_safetensors(target.path);
  } catch (const ember::Error&) {
  }
  return 0;
}
