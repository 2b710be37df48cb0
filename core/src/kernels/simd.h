// xsimd for every kernel file: include this instead of <xsimd/xsimd.hpp>, before any other header
// that pulls in <immintrin.h>.
#pragma once

// GCC 12 reports -W(maybe-)uninitialized inside its own AVX-512 intrinsics (the
// _mm512_undefined_ps pass-through of masked builtins, GCC bug 105593): a false positive about
// the compiler's header, not our code, so it is silenced for that header alone. Clang has neither
// the false positive nor -Wmaybe-uninitialized (it would warn about the unknown pragma).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <xsimd/xsimd.hpp>
#pragma GCC diagnostic pop
#else
#include <xsimd/xsimd.hpp>
#endif
