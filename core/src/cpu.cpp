// The instruction set of the SIMD kernels: what the CPU supports, what EMBER_CPU asks for, and
// which one runs (Note [ISA dispatch] in kernels/isa.h).
#include <ember/core/cpu.h>
#include <ember/core/error.h>

#include <cstdlib>
#include <string>

#include "kernels/isa.h"

namespace ember::kernels {

namespace {

constexpr Isa kAll[] = {Isa::sse2, Isa::avx2, Isa::avx512};

// "sse2, avx2": the ISAs from sse2 up to `best` for which `keep` holds.
template <class Keep>
std::string list_isas(Isa best, Keep keep) {
  std::string out;
  for (Isa isa : kAll) {
    if (isa > best || !keep(isa)) continue;
    if (!out.empty()) out += ", ";
    out += isa_name(isa);
  }
  return out;
}

}  // namespace

std::string_view isa_name(Isa isa) {
  switch (isa) {
    case Isa::avx512:
      return "avx512";
    case Isa::avx2:
      return "avx2";
    case Isa::sse2:
      break;
  }
  return "sse2";
}

// GCC's and Clang's __builtin_cpu_supports read CPUID and also check with XGETBV that the OS
// saves the YMM (AVX) and ZMM/mask (AVX-512) registers on a context switch; without that a CPU
// that has the instructions still cannot run them.
Isa best_supported_isa() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx2") &&
      __builtin_cpu_supports("fma")) {
    return Isa::avx512;
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::avx2;
  return Isa::sse2;  // part of x86-64
}

Isa choose_isa(const char* requested, Isa best) {
  if (requested == nullptr || *requested == '\0') {
    for (Isa isa : {Isa::avx512, Isa::avx2, Isa::sse2}) {
      if (isa <= best && isa_built(isa)) return isa;
    }
    // Only a -march=native build run on a lesser CPU gets here; its baseline code has likely
    // failed already.
    EMBER_CHECK(false, "ember: this build's kernels (", isa_name(kBaselineIsa),
                ", -DEMBER_NATIVE=ON) need a CPU with ", isa_name(kBaselineIsa),
                "; this CPU supports ", list_isas(best, [](Isa) { return true; }));
  }
  const std::string value = requested;
  const Isa* match = nullptr;
  for (const Isa& isa : kAll) {
    if (value == isa_name(isa)) match = &isa;
  }
  EMBER_CHECK(match != nullptr, "EMBER_CPU=", value,
              ": unknown instruction set; expected sse2, avx2 or avx512 (or unset: the best this "
              "CPU supports)");
  EMBER_CHECK(*match <= best, "EMBER_CPU=", value, ": this CPU does not support ", value,
              "; it supports ", list_isas(best, [](Isa) { return true; }));
  EMBER_CHECK(isa_built(*match), "EMBER_CPU=", value, ": this build of ember has no ", value,
              " kernels (built with -DEMBER_NATIVE=ON); it has ",
              list_isas(Isa::avx512, [](Isa isa) { return isa_built(isa); }));
  return *match;
}

Isa active_isa() {
  // A static initialized by a call that throws is initialized again on the next call, so a wrong
  // EMBER_CPU is reported by every kernel call, never silently replaced.
  static const Isa isa = choose_isa(std::getenv("EMBER_CPU"), best_supported_isa());
  return isa;
}

}  // namespace ember::kernels

namespace ember {

std::string_view cpu_capability() {
  return kernels::isa_name(kernels::active_isa());
}

}  // namespace ember
