// Fused scaled_dot_product_attention on the CPU (float32: the shape's scale is a float, so
// float64 keeps the exact composite path), the kernels of
// kernels/attention.h. The op layer hands each call a range of batch entries (one pool part);
// within an entry the queries go in blocks of kQueryBlock rows, so the scores a block needs,
// kQueryBlock x S, stay in a cache-sized scratch buffer and the (L, S) score and probability
// tensors of the composite path are never written to memory. A causal mask is applied by
// index (a query block reads only the keys up to its last row; the diagonal block's future
// entries are skipped), never materialised.
//
// Each row's softmax runs over its visible keys with simd::softmax_line, so a row's
// probabilities are exactly the ones the composite path's softmax gives for the same scores;
// the backward recomputes them the same way (bit for bit the forward's) rather than from the
// logsumexp, which the forward still writes for the op's saved state. The products go through
// BLAS on the calling pool thread.
#include "lamina/kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "lamina/kernels/cpu/register.h"
#include "lamina/kernels/cpu/simd.h"
#include "lamina/runtime/blas.h"
#include "lamina/runtime/dispatch.h"

namespace lamina::kernels::cpu {
namespace {

// Query rows per block: 64 rows of scores for S keys (S = 2048: 512 KiB in float32).
constexpr int64_t kQueryBlock = 64;

void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda, const float* b,
          int64_t ldb, float beta, float* c, int64_t ldc) {
  runtime::gemm_f32(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

// Keys visible to query row `row`: all S, or the first row + 1 under a causal mask.
int64_t visible_keys(const AttentionShape& sh, int64_t row) { return sh.causal ? std::min(sh.s, row + 1) : sh.s; }

// Probabilities of query rows [r0, r0 + rows) of one batch entry into p (rows x kv, row stride
// kv), kv = the keys the block's last row sees; entries past a row's visible keys are 0. With
// `lse`, each row's logsumexp is written there (-inf for a row with no key, NaN if NaN).
template <class T>
void block_probabilities(const AttentionShape& sh, const T* q, const T* k, int64_t r0, int64_t rows, int64_t kv, T* p,
                         float* lse) {
  const int64_t e = sh.e;
  gemm(false, true, rows, kv, e, static_cast<T>(sh.scale), q + r0 * e, e, k, e, T(0), p, kv);
  for (int64_t r = 0; r < rows; ++r) {
    T* row = p + r * kv;
    const int64_t n = visible_keys(sh, r0 + r);
    std::fill(row + n, row + kv, T(0));
    if (n == 0) {
      if (lse) lse[r] = -std::numeric_limits<float>::infinity();
      continue;
    }
    if (lse == nullptr) {  // the backward's recomputation: probabilities only
      simd::softmax_line(row, row, n, false);
      continue;
    }
    bool nan = false;
    const T m = simd::extreme_row(true, row, n, &nan);
    const int64_t at = nan ? -1 : simd::find_first(row, n, m);
    simd::softmax_line(row, row, n, false);
    // exp(m - lse) is the largest probability, so lse = m - log(p[argmax]).
    lse[r] = at < 0 ? std::numeric_limits<float>::quiet_NaN() : static_cast<float>(m - std::log(row[at]));
  }
}

template <class T>
struct AttentionForward {
  static void run(const AttentionShape& sh, const void* qv, const void* kv_, const void* vv, void* outv, float* lse) {
    const int64_t l = sh.l, s = sh.s, e = sh.e;
    std::vector<T> p(static_cast<size_t>(std::min(kQueryBlock, l) * s));
    for (int64_t b = 0; b < sh.batch; ++b) {
      const T* q = static_cast<const T*>(qv) + b * l * e;
      const T* k = static_cast<const T*>(kv_) + b * s * e;
      const T* v = static_cast<const T*>(vv) + b * s * e;
      T* out = static_cast<T*>(outv) + b * l * e;
      for (int64_t r0 = 0; r0 < l; r0 += kQueryBlock) {
        const int64_t rows = std::min(kQueryBlock, l - r0), kv = visible_keys(sh, r0 + rows - 1);
        if (kv == 0) {
          std::fill(out + r0 * e, out + (r0 + rows) * e, T(0));
          std::fill(lse + b * l + r0, lse + b * l + r0 + rows, -std::numeric_limits<float>::infinity());
          continue;
        }
        block_probabilities(sh, q, k, r0, rows, kv, p.data(), lse + b * l + r0);
        gemm(false, false, rows, e, kv, T(1), p.data(), kv, v, e, T(0), out + r0 * e, e);
      }
    }
  }
};

// dV += P^T dO, dP = dO V^T, dS = P (dP - rowsum(dO * O)), dQ = scale dS K, dK += scale dS^T Q,
// per query block; dK and dV of an entry accumulate over its blocks (one thread per entry).
template <class T>
struct AttentionBackward {
  static void run(const AttentionShape& sh, const void* qv, const void* kv_, const void* vv, const void* outv,
                  const void* gov, const float* /*lse*/, float* /*delta*/, void* dqv, void* dkv, void* dvv) {
    const int64_t l = sh.l, s = sh.s, e = sh.e;
    const size_t block = static_cast<size_t>(std::min(kQueryBlock, l) * s);
    std::vector<T> p(block), dp(block);
    const T scale = static_cast<T>(sh.scale);
    for (int64_t b = 0; b < sh.batch; ++b) {
      const T* q = static_cast<const T*>(qv) + b * l * e;
      const T* k = static_cast<const T*>(kv_) + b * s * e;
      const T* v = static_cast<const T*>(vv) + b * s * e;
      const T* o = static_cast<const T*>(outv) + b * l * e;
      const T* go = static_cast<const T*>(gov) + b * l * e;
      T* dq = static_cast<T*>(dqv) + b * l * e;
      T* dk = static_cast<T*>(dkv) + b * s * e;
      T* dv = static_cast<T*>(dvv) + b * s * e;
      std::fill(dk, dk + s * e, T(0));
      std::fill(dv, dv + s * e, T(0));
      for (int64_t r0 = 0; r0 < l; r0 += kQueryBlock) {
        const int64_t rows = std::min(kQueryBlock, l - r0), kv = visible_keys(sh, r0 + rows - 1);
        if (kv == 0) {
          std::fill(dq + r0 * e, dq + (r0 + rows) * e, T(0));
          continue;
        }
        block_probabilities<T>(sh, q, k, r0, rows, kv, p.data(), nullptr);
        gemm(true, false, kv, e, rows, T(1), p.data(), kv, go + r0 * e, e, T(1), dv, e);
        gemm(false, true, rows, kv, e, T(1), go + r0 * e, e, v, e, T(0), dp.data(), kv);
        for (int64_t r = 0; r < rows; ++r) {
          const T* gr = go + (r0 + r) * e;
          const T* orow = o + (r0 + r) * e;
          T d = 0;
          for (int64_t i = 0; i < e; ++i) d += gr[i] * orow[i];
          T* ds = dp.data() + r * kv;
          const T* pr = p.data() + r * kv;
          for (int64_t c = 0; c < kv; ++c) ds[c] = pr[c] * (ds[c] - d);
        }
        gemm(false, false, rows, e, kv, scale, dp.data(), kv, k, e, T(0), dq + r0 * e, e);
        gemm(true, false, kv, e, rows, scale, dp.data(), kv, q + r0 * e, e, T(1), dk, e);
      }
    }
  }
};

}  // namespace

void register_attention_kernels() {
  using runtime::Backend;
  const auto fwd = runtime::op_id(Op::scaled_dot_product_attention);
  const auto bwd = runtime::op_id(Op::scaled_dot_product_attention_backward);
  runtime::register_kernel(fwd, Backend::CpuScalar, Dtype::Float32,
                           reinterpret_cast<void*>(static_cast<AttentionForwardKernel>(&AttentionForward<float>::run)));
  runtime::register_kernel(
      bwd, Backend::CpuScalar, Dtype::Float32,
      reinterpret_cast<void*>(static_cast<AttentionBackwardKernel>(&AttentionBackward<float>::run)));
}

}  // namespace lamina::kernels::cpu
