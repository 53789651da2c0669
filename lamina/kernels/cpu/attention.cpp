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
// BLAS on the calling pool thread, reading each tensor in its own layout (the heads of a
// (B, L, H, E) buffer seen as (B, H, L, E), say), so the op layer copies nothing.
#include "lamina/kernels/attention.h"

#include <algorithm>
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

// One entry's matrices: row pointers with their strides (in elements).
template <class T>
struct Rows {
  T* p;
  int64_t ld;
  T* row(int64_t r) const { return p + r * ld; }
};

template <class T>
Rows<T> entry(const AttentionShape& sh, const AttentionLayout& layout, T* base, int64_t b) {
  return {base + attention_entry_offset(sh, layout, b), layout.row};
}

// Probabilities of query rows [r0, r0 + rows) of one entry into p (rows x kv, row stride kv),
// kv = the keys the block's last row sees; entries past a row's visible keys are 0. With
// `lse`, each row's logsumexp is written there (-inf for a row with no key, NaN if NaN).
template <class T>
void block_probabilities(const AttentionShape& sh, Rows<const T> q, Rows<const T> k, int64_t r0, int64_t rows,
                         int64_t kv, T* p, float* lse) {
  gemm(false, true, rows, kv, sh.e, static_cast<T>(sh.scale), q.row(r0), q.ld, k.p, k.ld, T(0), p, kv);
  for (int64_t r = 0; r < rows; ++r) {
    T* row = p + r * kv;
    const int64_t n = visible_keys(sh, r0 + r);
    std::fill(row + n, row + kv, T(0));
    if (n == 0) {
      if (lse) lse[r] = -std::numeric_limits<float>::infinity();
      continue;
    }
    simd::softmax_line(row, row, n, false, lse ? lse + r : nullptr);
  }
}

template <class T>
struct AttentionForward {
  static void run(const AttentionShape& sh, const void* qv, const void* kv_, const void* vv, void* outv, float* lse) {
    const int64_t l = sh.l, e = sh.e;
    std::vector<T> p(static_cast<size_t>(std::min(kQueryBlock, l) * sh.s));
    for (int64_t b = sh.first; b < sh.first + sh.batch; ++b) {
      const Rows<const T> q = entry(sh, sh.q, static_cast<const T*>(qv), b);
      const Rows<const T> k = entry(sh, sh.k, static_cast<const T*>(kv_), b);
      const Rows<const T> v = entry(sh, sh.v, static_cast<const T*>(vv), b);
      const Rows<T> out = entry(sh, sh.o, static_cast<T*>(outv), b);
      float* entry_lse = lse + b * l;
      for (int64_t r0 = 0; r0 < l; r0 += kQueryBlock) {
        const int64_t rows = std::min(kQueryBlock, l - r0), kv = visible_keys(sh, r0 + rows - 1);
        if (kv == 0) {
          for (int64_t r = r0; r < r0 + rows; ++r) std::fill(out.row(r), out.row(r) + e, T(0));
          std::fill(entry_lse + r0, entry_lse + r0 + rows, -std::numeric_limits<float>::infinity());
          continue;
        }
        block_probabilities(sh, q, k, r0, rows, kv, p.data(), entry_lse + r0);
        gemm(false, false, rows, e, kv, T(1), p.data(), kv, v.p, v.ld, T(0), out.row(r0), out.ld);
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
    for (int64_t b = sh.first; b < sh.first + sh.batch; ++b) {
      const Rows<const T> q = entry(sh, sh.q, static_cast<const T*>(qv), b);
      const Rows<const T> k = entry(sh, sh.k, static_cast<const T*>(kv_), b);
      const Rows<const T> v = entry(sh, sh.v, static_cast<const T*>(vv), b);
      const Rows<const T> o = entry(sh, sh.o, static_cast<const T*>(outv), b);
      const Rows<const T> go = entry(sh, sh.go, static_cast<const T*>(gov), b);
      const Rows<T> dq = entry(sh, sh.dq, static_cast<T*>(dqv), b);
      const Rows<T> dk = entry(sh, sh.dk, static_cast<T*>(dkv), b);
      const Rows<T> dv = entry(sh, sh.dv, static_cast<T*>(dvv), b);
      for (int64_t j = 0; j < s; ++j) {
        std::fill(dk.row(j), dk.row(j) + e, T(0));
        std::fill(dv.row(j), dv.row(j) + e, T(0));
      }
      for (int64_t r0 = 0; r0 < l; r0 += kQueryBlock) {
        const int64_t rows = std::min(kQueryBlock, l - r0), kv = visible_keys(sh, r0 + rows - 1);
        if (kv == 0) {
          for (int64_t r = r0; r < r0 + rows; ++r) std::fill(dq.row(r), dq.row(r) + e, T(0));
          continue;
        }
        block_probabilities<T>(sh, q, k, r0, rows, kv, p.data(), nullptr);
        gemm(true, false, kv, e, rows, T(1), p.data(), kv, go.row(r0), go.ld, T(1), dv.p, dv.ld);
        gemm(false, true, rows, kv, e, T(1), go.row(r0), go.ld, v.p, v.ld, T(0), dp.data(), kv);
        for (int64_t r = 0; r < rows; ++r) {
          const T* gr = go.row(r0 + r);
          const T* orow = o.row(r0 + r);
          T d = 0;
          for (int64_t i = 0; i < e; ++i) d += gr[i] * orow[i];
          T* ds = dp.data() + r * kv;
          const T* pr = p.data() + r * kv;
          for (int64_t c = 0; c < kv; ++c) ds[c] = pr[c] * (ds[c] - d);
        }
        gemm(false, false, rows, e, kv, scale, dp.data(), kv, k.p, k.ld, T(0), dq.row(r0), dq.ld);
        gemm(true, false, kv, e, rows, scale, dp.data(), kv, q.row(r0), q.ld, T(1), dk.p, dk.ld);
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
