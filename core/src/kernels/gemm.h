// Single-precision matrix multiply (no BLAS): the kernel behind matmul and Linear.
#pragma once

#include <cstdint>

namespace ember::kernels {

// C[M,N] = (accumulate ? C : 0) + op(A) @ op(B), plus bias[n] on every row when bias is given.
//
// op(A) is [M,K]: A is row-major [M,K] with row stride lda when !trans_a, else A is row-major
// [K,M] (row stride lda) used transposed. op(B) is [K,N]: B is row-major [K,N] (ldb) when
// !trans_b, else row-major [N,K] (ldb) used transposed. C is row-major [M,N] with row stride ldc.
// K == 0 leaves C = bias, 0, or unchanged (accumulate, no bias). M or N may be 0. Leading
// dimensions may exceed the row length (views). C's old values are read only when accumulate.
// Results are bitwise identical whatever the thread count: threads split the output, or K into
// blocks that depend on K alone and are summed in a fixed order.
// Arguments are the caller's to check: nothing is validated; the only exception is
// std::bad_alloc when a thread's scratch (packed panels, grown once and reused) cannot be had.
void gemm(bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K,
          const float* A, std::int64_t lda, const float* B, std::int64_t ldb, float* C,
          std::int64_t ldc, bool accumulate, const float* bias = nullptr);

// The same contract as a plain triple loop (float accumulator), for tests.
void gemm_reference(bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K,
                    const float* A, std::int64_t lda, const float* B, std::int64_t ldb, float* C,
                    std::int64_t ldc, bool accumulate, const float* bias = nullptr);

}  // namespace ember::kernels
