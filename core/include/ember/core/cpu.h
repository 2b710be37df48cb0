/// \file
/// Which instruction set ember's SIMD kernels use on this machine.
#pragma once

#include <string_view>

namespace ember {

/// "avx512", "avx2" or "sse2": the instruction set whose build of the SIMD kernels (GEMM,
/// activations, softmax family, cross-entropy, DataLoader gather, SGD update) runs in this
/// process.
///
/// ember compiles every kernel for each of them and picks the best one the CPU and the operating
/// system support (AVX-512 here means F, CD, BW, DQ and VL; AVX2 comes with FMA). The environment
/// variable `EMBER_CPU=sse2|avx2|avx512`, read once at the first kernel call, forces a path
/// instead (to compare or test them on one machine).
/// \throws ember::Error naming EMBER_CPU, its value and what the CPU supports when EMBER_CPU
///         names an unknown instruction set or one that this CPU (or this build, with
///         `-DEMBER_NATIVE=ON`) does not have.
std::string_view cpu_capability();

}  // namespace ember
