// The choice of the kernels' instruction set (core/src/kernels/isa.h): the best the CPU supports,
// or the one EMBER_CPU forces, with an error naming the variable, its value and what the CPU has.
#include <catch2/catch.hpp>

#include <string>

#include <ember/core/cpu.h>
#include <ember/core/error.h>

#include "kernels/isa.h"

using ember::kernels::choose_isa;
using ember::kernels::Isa;
using ember::kernels::isa_built;

namespace {
// A -DEMBER_NATIVE=ON build has one build of the kernels only.
bool all_built() {
  return isa_built(Isa::sse2) && isa_built(Isa::avx2) && isa_built(Isa::avx512);
}
}  // namespace

TEST_CASE("cpu: without EMBER_CPU the best instruction set the CPU supports runs", "[core][cpu]") {
  if (!all_built()) return;
  CHECK(choose_isa(nullptr, Isa::avx512) == Isa::avx512);
  CHECK(choose_isa("", Isa::avx2) == Isa::avx2);
  CHECK(choose_isa(nullptr, Isa::sse2) == Isa::sse2);
}

TEST_CASE("cpu: EMBER_CPU forces the same or a lower instruction set", "[core][cpu]") {
  if (!all_built()) {
    CHECK_THROWS_WITH(choose_isa("sse2", Isa::avx512),
                      Catch::Contains("this build of ember has no sse2 kernels"));
    return;
  }
  CHECK(choose_isa("sse2", Isa::avx512) == Isa::sse2);
  CHECK(choose_isa("avx2", Isa::avx512) == Isa::avx2);
  CHECK(choose_isa("avx512", Isa::avx512) == Isa::avx512);
  CHECK(choose_isa("avx2", Isa::avx2) == Isa::avx2);
}

TEST_CASE("cpu: EMBER_CPU naming a missing or unknown instruction set throws", "[core][cpu]") {
  CHECK_THROWS_WITH(choose_isa("avx512", Isa::avx2),
                    "EMBER_CPU=avx512: this CPU does not support avx512; it supports sse2, avx2");
  CHECK_THROWS_WITH(choose_isa("avx2", Isa::sse2),
                    "EMBER_CPU=avx2: this CPU does not support avx2; it supports sse2");
  CHECK_THROWS_WITH(choose_isa("AVX2", Isa::avx512),
                    "EMBER_CPU=AVX2: unknown instruction set; expected sse2, avx2 or avx512 (or "
                    "unset: the best this CPU supports)");
  CHECK_THROWS_AS(choose_isa("neon", Isa::avx512), ember::Error);
}

TEST_CASE("cpu: cpu_capability names the path that runs", "[core][cpu]") {
  const std::string isa(ember::cpu_capability());
  CHECK((isa == "sse2" || isa == "avx2" || isa == "avx512"));
  CHECK(isa == ember::kernels::isa_name(ember::kernels::active_isa()));
  CHECK(ember::kernels::active_isa() <= ember::kernels::best_supported_isa());
}
