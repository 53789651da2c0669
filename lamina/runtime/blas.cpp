#include "lamina/runtime/blas.h"

#include <cblas.h>
#if LAMINA_HAVE_ONEDNN
#include <dnnl.h>
#endif

#include <algorithm>
#include <limits>
#include <vector>

#include "lamina/core/error.h"

// LAPACK's Fortran entry points (OpenBLAS exports them; it ships no C header for them).
extern "C" {
void dgeqrf_(const int* m, const int* n, double* a, const int* lda, double* tau, double* work, const int* lwork,
             int* info);
void dorgqr_(const int* m, const int* n, const int* k, double* a, const int* lda, const double* tau, double* work,
             const int* lwork, int* info);
}

namespace lamina::runtime {

std::string blas_vendor() {
  std::string s = "OpenBLAS";
  if (const char* cfg = openblas_get_config()) s += std::string(" (") + cfg + ")";
  return s;
}

namespace {
// OpenBLAS runs every call on the calling thread: the pool splits GEMMs itself (launch_gemm),
// so no second set of threads spins on the cores between products. Set when this library
// loads, after OpenBLAS's own start-up (a library this one links to).
[[maybe_unused]] const bool kBlasOnCallingThread = [] {
  openblas_set_num_threads(1);
  return true;
}();
}  // namespace

#if LAMINA_HAVE_ONEDNN
extern "C" void omp_set_num_threads(int n);
#endif

void gemm_f32(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
              int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
#if LAMINA_HAVE_ONEDNN
  // oneDNN's sgemm runs 15-40% faster than OpenBLAS 0.3.21 on the training steps' products
  // (4096 x 512 x 128 and the like, one thread each: bench/RESULTS.md, 2026-12-08) but costs
  // more to enter: below ~46^3 multiply-adds OpenBLAS stays. Each call runs on its calling
  // thread (a one-thread OpenMP team): launch_gemm splits products over lamina's pool.
  if (static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k) >= 1e5) {
    omp_set_num_threads(1);
    if (dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) ==
        dnnl_success)
      return;
  }
#endif
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
              static_cast<blasint>(m), static_cast<blasint>(n), static_cast<blasint>(k), alpha, a,
              static_cast<blasint>(lda), b, static_cast<blasint>(ldb), beta, c, static_cast<blasint>(ldc));
}

void gemm_f64(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha, const double* a,
              int64_t lda, const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
  cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
              static_cast<blasint>(m), static_cast<blasint>(n), static_cast<blasint>(k), alpha, a,
              static_cast<blasint>(lda), b, static_cast<blasint>(ldb), beta, c, static_cast<blasint>(ldc));
}

void qr_f64(int64_t m, int64_t n, double* a, double* r_diag) {
  LAMINA_CHECK(m >= n && n >= 1 && m <= std::numeric_limits<int>::max(), ValueError, "qr",
               "needs m >= n >= 1 and m "
               "within LAPACK's int, got ",
               m, " x ", n);
  const int rows = static_cast<int>(m), cols = static_cast<int>(n);
  std::vector<double> tau(static_cast<size_t>(n));
  int info = 0, query = -1;
  double size = 0.0;
  dgeqrf_(&rows, &cols, a, &rows, tau.data(), &size, &query, &info);
  std::vector<double> work(static_cast<size_t>(std::max(size, 1.0)));
  int lwork = static_cast<int>(work.size());
  dgeqrf_(&rows, &cols, a, &rows, tau.data(), work.data(), &lwork, &info);
  LAMINA_CHECK(info == 0, KernelError, "qr", "LAPACK dgeqrf failed (info ", info, ")");
  for (int64_t j = 0; j < n; ++j) r_diag[j] = a[j + j * m];
  dorgqr_(&rows, &cols, &cols, a, &rows, tau.data(), &size, &query, &info);
  work.resize(static_cast<size_t>(std::max(size, 1.0)));
  lwork = static_cast<int>(work.size());
  dorgqr_(&rows, &cols, &cols, a, &rows, tau.data(), work.data(), &lwork, &info);
  LAMINA_CHECK(info == 0, KernelError, "qr", "LAPACK dorgqr failed (info ", info, ")");
}

}  // namespace lamina::runtime
