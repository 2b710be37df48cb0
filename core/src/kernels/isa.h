// Run-time choice of the instruction set for the SIMD kernels: see Note [ISA dispatch].
#pragma once

#include <string_view>

// Note [ISA dispatch]
// The library is compiled for the x86-64 baseline (SSE2), so it loads and runs on any x86-64 CPU.
// Each SIMD kernel file (core/src/kernels/gemm.cpp, nn/src/kernels/*.cpp, the DataLoader gather,
// the SGD update) is compiled once more per extra instruction set (cmake/EmberCompileOptions.cmake:
// ember_isa_kernels): avx2 with -mavx2 -mfma, avx512 with -mavx512f/cd/bw/dq/vl. Each build puts
// its kernels in a namespace of its own, EMBER_ISA (ember::kernels::avx2::gemm, ...), and only
// the baseline build of the file defines the entry point the rest of the library calls
// (ember::kernels::gemm), which calls the build of active_isa() through EMBER_ISA_CALL.
//
// Why not xsimd::dispatch: xsimd 8.1's CPU check reads SSE2 from the wrong CPUID register and
// never asks the OS (XGETBV) whether it saves the AVX / AVX-512 registers; and its functor form
// would need every kernel rewritten as a template over the architecture. Compiling the same file
// per instruction set keeps the kernels as they are, with xsimd::batch<float> the widest batch of
// that build.
//
// The danger is the one-definition rule. An inline or template function (ours, xsimd's, the
// standard library's) that a compiler emits out of line becomes a weak symbol; if an AVX-512 and
// a baseline object both emit std::min<long>, the linker keeps one of them for both, and baseline
// code then runs AVX-512 instructions (SIGILL on a CPU without them). So in an ISA build of a
// kernel file everything lives in the EMBER_ISA namespace or in an anonymous namespace inside it
// (helpers of the kernels in headers included, such as nn_math.h, too), and it uses no standard
// container or out-of-line standard algorithm. The test isa_symbols (tests/support/
// check_isa_symbols.cmake) checks the built libraries: an ISA object may define no weak symbol
// that does not involve its own ISA namespace; and CI runs the installed app under
// `qemu-x86_64 -cpu Haswell` (AVX2, no AVX-512).
//
// With -DEMBER_NATIVE=ON everything is compiled for this machine's CPU (-march=native) and the
// kernels exist in one build only, named by the best instruction set those flags enable.

// EMBER_ISA: the namespace of this build of a kernel file. The ISA builds define it on the
// command line; the library's own build of the file takes it from the compiler's target flags.
#if !defined(EMBER_ISA)
#if defined(__AVX512F__) && defined(__AVX512CD__) && defined(__AVX512BW__) && \
    defined(__AVX512DQ__) && defined(__AVX512VL__) && defined(__AVX2__) && defined(__FMA__)
#define EMBER_ISA avx512
#elif defined(__AVX2__) && defined(__FMA__)
#define EMBER_ISA avx2
#else
#define EMBER_ISA sse2
#endif
// This is the library's own build of the file: it defines the dispatching entry points and the
// scalar references (once in the library).
#define EMBER_ISA_BASELINE 1
#else
#define EMBER_ISA_BASELINE 0
#endif

// Which extra ISA builds CMake compiled (compile definitions from ember_flags).
#if !defined(EMBER_WITH_AVX2)
#define EMBER_WITH_AVX2 0
#endif
#if !defined(EMBER_WITH_AVX512)
#define EMBER_WITH_AVX512 0
#endif

namespace ember::kernels {

// Ordered: a CPU that runs one runs those before it.
enum class Isa { sse2, avx2, avx512 };

std::string_view isa_name(Isa isa);

// The instruction set of the library's own build (its compiler flags).
inline constexpr Isa kBaselineIsa =
#if EMBER_ISA_BASELINE
    Isa::EMBER_ISA;
#else
    Isa::sse2;  // unused in an ISA build
#endif

// True if this library holds a build of the kernels for `isa`.
constexpr bool isa_built(Isa isa) {
  return isa == kBaselineIsa || (isa == Isa::avx2 && EMBER_WITH_AVX2) ||
         (isa == Isa::avx512 && EMBER_WITH_AVX512);
}

// The best instruction set that the CPU and OS support (CPUID and XGETBV), ignoring EMBER_CPU.
Isa best_supported_isa();

// The ISA the kernels run with: `requested` (EMBER_CPU's value; null or empty: none) if the CPU
// supports it (`best` and below) and the library has it, else the best built one the CPU runs.
// Throws ember::Error for an unknown or unsupported request. Pure, for tests.
Isa choose_isa(const char* requested, Isa best);

// choose_isa(getenv("EMBER_CPU"), best_supported_isa()), computed once; throws (on every call)
// while EMBER_CPU is wrong.
Isa active_isa();

}  // namespace ember::kernels

// Declares fn's build for every instruction set, each with fn's type: kernels::sse2::fn, ...
#define EMBER_ISA_VARIANTS(fn) \
  namespace sse2 {             \
  decltype(fn) fn;             \
  }                            \
  namespace avx2 {             \
  decltype(fn) fn;             \
  }                            \
  namespace avx512 {           \
  decltype(fn) fn;             \
  }

// In an entry point: returns fn(args...) from the build for active_isa(). A build the library
// lacks is never named outside a discarded `if constexpr` branch, so it needs no definition.
#define EMBER_ISA_CALL(fn, ...)                                                   \
  switch (::ember::kernels::active_isa()) {                                       \
    case ::ember::kernels::Isa::avx512:                                           \
      if constexpr (::ember::kernels::isa_built(::ember::kernels::Isa::avx512)) { \
        return avx512::fn(__VA_ARGS__);                                           \
      }                                                                           \
      break;                                                                      \
    case ::ember::kernels::Isa::avx2:                                             \
      if constexpr (::ember::kernels::isa_built(::ember::kernels::Isa::avx2)) {   \
        return avx2::fn(__VA_ARGS__);                                             \
      }                                                                           \
      break;                                                                      \
    case ::ember::kernels::Isa::sse2:                                             \
      if constexpr (::ember::kernels::isa_built(::ember::kernels::Isa::sse2)) {   \
        return sse2::fn(__VA_ARGS__);                                             \
      }                                                                           \
      break;                                                                      \
  }                                                                               \
  __builtin_unreachable()
