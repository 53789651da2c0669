// GEMM kernels: float32/float64 through BLAS (transposed operands passed as BLAS transposes),
// integer dtypes through a plain loop accumulating in 64 bits.
#include <algorithm>
#include <type_traits>

#include "lamina/kernels/cpu/loops.h"
#include "lamina/kernels/cpu/register.h"
#include "lamina/kernels/loops.h"
#include "lamina/runtime/blas.h"

namespace lamina::kernels::cpu {

using kernels::GemmLoop;
/// Signature of GEMM kernels.

namespace {

// BLAS view of a rows x cols matrix with strides (rs, cs); the op layer guarantees one exists.
void blas_layout(int64_t rows, int64_t cols, int64_t rs, int64_t cs, bool& trans, int64_t& ld) {
  if ((cols == 1 || cs == 1) && (rows == 1 || rs >= std::max<int64_t>(1, cols))) {
    trans = false;
    ld = rows == 1 ? std::max<int64_t>(1, cols) : rs;
  } else {
    trans = true;
    ld = cols == 1 ? std::max<int64_t>(1, rows) : cs;
  }
}

// Bytes of C a band of rows of addmm's bias-started product spans: the band stays in L2
// between its fill and the product accumulating into it.
constexpr int64_t kInitBandBytes = 256 * 1024;

template <class T>
void blas_gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const T* a, int64_t lda, const T* b, int64_t ldb,
               bool accumulate, T* c, int64_t ldc) {
  if constexpr (std::is_same_v<T, float>)
    runtime::gemm_f32(ta, tb, m, n, k, 1.0f, a, lda, b, ldb, accumulate ? 1.0f : 0.0f, c, ldc);
  else
    runtime::gemm_f64(ta, tb, m, n, k, 1.0, a, lda, b, ldb, accumulate ? 1.0 : 0.0, c, ldc);
}

template <class T>
struct BlasGemmKernel {
  static void run(const GemmLoop& g, const KernelParams&) {
    bool ta, tb;
    int64_t lda, ldb;
    blas_layout(g.m, g.k, g.a_rs, g.a_cs, ta, lda);
    blas_layout(g.k, g.n, g.b_rs, g.b_cs, tb, ldb);
    const int64_t ldc = g.c_rs ? g.c_rs : std::max<int64_t>(1, g.n);
    if (g.c_init_row) {
      const T* init = reinterpret_cast<const T*>(g.c_init_row);
      const T* a = reinterpret_cast<const T*>(g.a + g.a_offsets[0]);
      const T* bm = reinterpret_cast<const T*>(g.b + g.b_offsets[0]);
      T* c = reinterpret_cast<T*>(g.c);
      const int64_t band = std::max<int64_t>(16, kInitBandBytes / std::max<int64_t>(1, g.n * sizeof(T)));
      for (int64_t r0 = 0; r0 < g.m; r0 += band) {
        const int64_t rows = std::min(band, g.m - r0);
        for (int64_t r = r0; r < r0 + rows; ++r) std::copy(init, init + g.n, c + r * ldc);
        blas_gemm(ta, tb, rows, g.n, g.k, a + r0 * g.a_rs, lda, bm, ldb, true, c + r0 * ldc, ldc);
        if (g.epilogue) {
          StridedLoop band_loop;
          band_loop.ndim = 2;
          band_loop.num_operands = 2;
          band_loop.numel = rows * g.n;
          band_loop.shape[0] = rows;
          band_loop.shape[1] = g.n;
          band_loop.data[0] = g.c_epilogue + r0 * ldc * static_cast<int64_t>(sizeof(T));
          band_loop.data[1] = reinterpret_cast<char*>(c + r0 * ldc);
          for (int op = 0; op < 2; ++op) {
            band_loop.strides[op][0] = ldc * static_cast<int64_t>(sizeof(T));
            band_loop.strides[op][1] = sizeof(T);
          }
          g.epilogue(band_loop, {});
        }
      }
      return;
    }
    for (int64_t b = 0; b < g.batch; ++b) {
      const T* a = reinterpret_cast<const T*>(g.a + g.a_offsets[b]);
      const T* bm = reinterpret_cast<const T*>(g.b + g.b_offsets[b]);
      T* c = reinterpret_cast<T*>(g.c) + b * g.m * g.n;
      blas_gemm(ta, tb, g.m, g.n, g.k, a, lda, bm, ldb, g.accumulate, c, ldc);
    }
  }
};

// Integers accumulate in uint64_t so overflow wraps (as two's complement int64 would) without UB;
// the j loop runs over a tile of accumulators so B is read along its rows.
template <class T>
struct LoopGemmKernel {
  static void run(const GemmLoop& g, const KernelParams&) {
    using Acc = std::conditional_t<std::is_integral_v<T>, uint64_t, compute_t<T>>;
    constexpr int64_t kTile = 64;
    auto widen = [](T v) -> Acc {
      if constexpr (std::is_integral_v<T>)
        return static_cast<Acc>(static_cast<int64_t>(v));
      else
        return static_cast<Acc>(static_cast<compute_t<T>>(v));
    };
    Acc acc[kTile];
    const int64_t ldc = g.c_rs ? g.c_rs : g.n;
    for (int64_t b = 0; b < g.batch; ++b) {
      const T* a = reinterpret_cast<const T*>(g.a + g.a_offsets[b]);
      const T* bm = reinterpret_cast<const T*>(g.b + g.b_offsets[b]);
      T* c = reinterpret_cast<T*>(g.c) + b * g.m * g.n;
      for (int64_t i = 0; i < g.m; ++i) {
        for (int64_t j0 = 0; j0 < g.n; j0 += kTile) {
          const int64_t jn = std::min(kTile, g.n - j0);
          for (int64_t j = 0; j < jn; ++j) acc[j] = Acc(0);
          for (int64_t p = 0; p < g.k; ++p) {
            const Acc av = widen(a[i * g.a_rs + p * g.a_cs]);
            const T* brow = bm + p * g.b_rs + j0 * g.b_cs;
            for (int64_t j = 0; j < jn; ++j) acc[j] += av * widen(brow[j * g.b_cs]);
          }
          for (int64_t j = 0; j < jn; ++j) c[i * ldc + j0 + j] = static_cast<T>(acc[j]);
        }
      }
    }
  }
};

}  // namespace

void register_linalg_kernels() {
  register_each<BlasGemmKernel, float, double>(Op::matmul);
  // float16 (and bfloat16 in builds without oneDNN, matmul_onednn.cpp) have no kernel here: the
  // op computes them in float32 through BLAS.
  register_each<LoopGemmKernel, LAMINA_INT_TYPES>(Op::matmul);
}

}  // namespace lamina::kernels::cpu
