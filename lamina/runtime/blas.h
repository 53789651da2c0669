#pragma once
// The runtime's handle on BLAS: vendor, thread count, the GEMM entry points kernels use, and the
// one LAPACK routine lamina needs (QR, for orthogonal initialization).
#include <cstdint>
#include <string>

namespace lamina::runtime {

/// The BLAS library in use, e.g. "OpenBLAS 0.3.21 (Haswell)".
std::string blas_vendor();
/// Name of the best SIMD target the CPU kernels use on this machine (e.g. "AVX2").
std::string simd_target_name();

/// C = alpha * op(A) @ op(B) + beta * C, row-major, single precision.
void gemm_f32(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
              int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);
/// Double-precision variant of gemm_f32.
void gemm_f64(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha, const double* a,
              int64_t lda, const double* b, int64_t ldb, double beta, double* c, int64_t ldc);

/// Thin QR of a column-major (m, n) double matrix with m >= n >= 1 (LAPACK's dgeqrf + dorgqr):
/// replaces `a` with Q's n orthonormal columns and writes R's diagonal to `r_diag` (n values).
void qr_f64(int64_t m, int64_t n, double* a, double* r_diag);

}  // namespace lamina::runtime
