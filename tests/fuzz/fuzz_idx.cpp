// libFuzzer target for the IDX parser (plain and gzip): any input must either parse or throw
// ember::Error - never crash, hang, leak, read out of bounds or allocate without bound.
// Build and run: tests/fuzz/run.sh [seconds].
#include <cstddef>
#include <cstdint>

#include <ember/core/error.h>
#include <ember/datasets/idx.h>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const ember::Tensor t = ember::datasets::parse_idx(data, size, "fuzz-input");
    // Touch every byte of the result so ASan sees any uninitialized or out-of-bounds storage.
    const auto* bytes = reinterpret_cast<const volatile std::uint8_t*>(t.storage()->data);
    std::uint8_t sum = 0;
    for (std::size_t i = 0; i < t.storage()->nbytes; ++i)
      sum = static_cast<std::uint8_t>(sum + bytes[i]);
    (void)sum;
  } catch (const ember::Error&) {
    // The expected outcome for malformed input; anything else escapes and is reported.
  }
  return 0;
}
