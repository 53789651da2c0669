// Fused scaled-dot-product attention (FlashAttention-style): one block per tile of query rows
// streams the key/value tiles through shared memory with an online softmax, so the L x S score
// matrix never exists; the backward recomputes probabilities from the saved logsumexp, with
// one kernel for dK/dV (per key tile) and one for dQ (per query tile), so no atomics are needed
// and the result does not depend on scheduling. The tile math is in attention_math.cuh.
#include <algorithm>

#include "lamina/kernels/attention.h"
#include "lamina/kernels/cuda/attention_math.cuh"
#include "lamina/kernels/cuda/register.h"

namespace lamina::kernels::cuda {
namespace {

constexpr int R = kAttnRows;
constexpr int C = kAttnCols;
constexpr int kThreads = 128;

template <class T>
__device__ void load_tile(float* dst, const T* src, int64_t first, int64_t limit, int rows, int e) {
  for (int idx = threadIdx.x; idx < rows * e; idx += blockDim.x) {
    const int64_t row = first + idx / e;
    dst[idx] = row < limit ? to_compute(src[row * e + idx % e]) : 0.f;
  }
}

template <class T>
__global__ void attn_forward_kernel(AttentionShape sh, const T* q, const T* k, const T* v, T* o, float* lse) {
  extern __shared__ float smem[];
  const int e = static_cast<int>(sh.e);
  float* sq = smem;
  float* sk = sq + R * e;
  float* sv = sk + C * e;
  float* so = sv + C * e;
  float* ss = so + R * e;
  float* sm = ss + R * C;
  float* sl = sm + R;
  float* salpha = sl + R;
  const int64_t b = blockIdx.y, row0 = int64_t{blockIdx.x} * R;
  q += b * sh.l * e;
  k += b * sh.s * e;
  v += b * sh.s * e;
  load_tile(sq, q, row0, sh.l, R, e);
  for (int idx = threadIdx.x; idx < R * e; idx += blockDim.x) so[idx] = 0.f;
  for (int r = threadIdx.x; r < R; r += blockDim.x) {
    sm[r] = -INFINITY;
    sl[r] = 0.f;
  }
  __syncthreads();
  // Causal: keys past the tile's last row are hidden from every row of the tile.
  const int64_t key_end = sh.causal ? std::min<int64_t>(sh.s, row0 + R) : sh.s;
  for (int64_t col0 = 0; col0 < key_end; col0 += C) {
    load_tile(sk, k, col0, sh.s, C, e);
    load_tile(sv, v, col0, sh.s, C, e);
    __syncthreads();
    for (int idx = threadIdx.x; idx < R * C; idx += blockDim.x) {
      const int r = idx / C, c = idx % C;
      const bool masked = row0 + r >= sh.l || attn_masked(row0 + r, col0 + c, sh.s, sh.causal);
      ss[idx] = attn_score(sq + r * e, sk + c * e, e, sh.scale, masked);
    }
    __syncthreads();
    for (int r = threadIdx.x; r < R; r += blockDim.x) salpha[r] = attn_online_softmax(ss + r * C, C, sm[r], sl[r]);
    __syncthreads();
    for (int idx = threadIdx.x; idx < R * e; idx += blockDim.x) {
      const int r = idx / e, d = idx % e;
      so[idx] = attn_accumulate(so[idx], salpha[r], ss + r * C, sv + d, C, e);
    }
    __syncthreads();
  }
  for (int idx = threadIdx.x; idx < R * e; idx += blockDim.x) {
    const int64_t row = row0 + idx / e;
    if (row < sh.l) o[(b * sh.l + row) * e + idx % e] = from_compute<T>(attn_finish(so[idx], sl[idx / e]));
  }
  for (int r = threadIdx.x; r < R; r += blockDim.x)
    if (row0 + r < sh.l) lse[b * sh.l + row0 + r] = attn_logsumexp(sm[r], sl[r]);
}

// delta[row] = sum_d dO[row, d] * O[row, d].
template <class T>
__global__ void attn_delta_kernel(int64_t rows, int e, const T* o, const T* go, float* delta) {
  for (int64_t row = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; row < rows;
       row += int64_t{gridDim.x} * blockDim.x) {
    float acc = 0.f;
    for (int d = 0; d < e; ++d) acc += to_compute(o[row * e + d]) * to_compute(go[row * e + d]);
    delta[row] = acc;
  }
}

// P and dS of one (query tile, key tile) pair into sp / sds (R x C).
__device__ void attn_tile_grads(const AttentionShape& sh, int e, int64_t row0, int64_t col0, const float* sq,
                                const float* sk, const float* sv, const float* sdo, const float* slse,
                                const float* sdelta, float* sp, float* sds) {
  for (int idx = threadIdx.x; idx < R * C; idx += blockDim.x) {
    const int r = idx / C, c = idx % C;
    const bool masked = row0 + r >= sh.l || attn_masked(row0 + r, col0 + c, sh.s, sh.causal);
    const float p = attn_probability(attn_score(sq + r * e, sk + c * e, e, sh.scale, masked), slse[r]);
    float dp = 0.f;
    for (int d = 0; d < e; ++d) dp += sdo[r * e + d] * sv[c * e + d];
    if (sp != nullptr) sp[idx] = p;
    sds[idx] = attn_score_grad(p, dp, sdelta[r]);
  }
}

template <class T>
__device__ void load_rows(const AttentionShape& sh, int64_t b, int64_t row0, const float* lse, const float* delta,
                          float* slse, float* sdelta) {
  for (int r = threadIdx.x; r < R; r += blockDim.x) {
    const int64_t row = row0 + r;
    slse[r] = row < sh.l ? lse[b * sh.l + row] : -INFINITY;
    sdelta[r] = row < sh.l ? delta[b * sh.l + row] : 0.f;
  }
}

template <class T>
__global__ void attn_dkdv_kernel(AttentionShape sh, const T* q, const T* k, const T* v, const T* go, const float* lse,
                                 const float* delta, T* dk, T* dv) {
  extern __shared__ float smem[];
  const int e = static_cast<int>(sh.e);
  float* sk = smem;
  float* sv = sk + C * e;
  float* sdk = sv + C * e;
  float* sdv = sdk + C * e;
  float* sq = sdv + C * e;
  float* sdo = sq + R * e;
  float* sp = sdo + R * e;
  float* sds = sp + R * C;
  float* slse = sds + R * C;
  float* sdelta = slse + R;
  const int64_t b = blockIdx.y, col0 = int64_t{blockIdx.x} * C;
  q += b * sh.l * e;
  go += b * sh.l * e;
  k += b * sh.s * e;
  v += b * sh.s * e;
  load_tile(sk, k, col0, sh.s, C, e);
  load_tile(sv, v, col0, sh.s, C, e);
  for (int idx = threadIdx.x; idx < C * e; idx += blockDim.x) sdk[idx] = sdv[idx] = 0.f;
  // Causal: rows before the tile's first key see none of its keys.
  const int64_t row_start = sh.causal ? (col0 / R) * R : 0;
  for (int64_t row0 = row_start; row0 < sh.l; row0 += R) {
    load_tile(sq, q, row0, sh.l, R, e);
    load_tile(sdo, go, row0, sh.l, R, e);
    load_rows<T>(sh, b, row0, lse, delta, slse, sdelta);
    __syncthreads();
    attn_tile_grads(sh, e, row0, col0, sq, sk, sv, sdo, slse, sdelta, sp, sds);
    __syncthreads();
    for (int idx = threadIdx.x; idx < C * e; idx += blockDim.x) {
      const int c = idx / e, d = idx % e;
      float acc_v = 0.f, acc_k = 0.f;
      for (int r = 0; r < R; ++r) {
        acc_v += sp[r * C + c] * sdo[r * e + d];
        acc_k += sds[r * C + c] * sq[r * e + d];
      }
      sdv[idx] += acc_v;
      sdk[idx] += acc_k * sh.scale;
    }
    __syncthreads();
  }
  for (int idx = threadIdx.x; idx < C * e; idx += blockDim.x) {
    const int64_t col = col0 + idx / e;
    if (col < sh.s) {
      dk[(b * sh.s + col) * e + idx % e] = from_compute<T>(sdk[idx]);
      dv[(b * sh.s + col) * e + idx % e] = from_compute<T>(sdv[idx]);
    }
  }
}

template <class T>
__global__ void attn_dq_kernel(AttentionShape sh, const T* q, const T* k, const T* v, const T* go, const float* lse,
                               const float* delta, T* dq) {
  extern __shared__ float smem[];
  const int e = static_cast<int>(sh.e);
  float* sq = smem;
  float* sdo = sq + R * e;
  float* sdq = sdo + R * e;
  float* sk = sdq + R * e;
  float* sv = sk + C * e;
  float* sds = sv + C * e;
  float* slse = sds + R * C;
  float* sdelta = slse + R;
  const int64_t b = blockIdx.y, row0 = int64_t{blockIdx.x} * R;
  q += b * sh.l * e;
  go += b * sh.l * e;
  k += b * sh.s * e;
  v += b * sh.s * e;
  load_tile(sq, q, row0, sh.l, R, e);
  load_tile(sdo, go, row0, sh.l, R, e);
  load_rows<T>(sh, b, row0, lse, delta, slse, sdelta);
  for (int idx = threadIdx.x; idx < R * e; idx += blockDim.x) sdq[idx] = 0.f;
  const int64_t key_end = sh.causal ? std::min<int64_t>(sh.s, row0 + R) : sh.s;
  for (int64_t col0 = 0; col0 < key_end; col0 += C) {
    load_tile(sk, k, col0, sh.s, C, e);
    load_tile(sv, v, col0, sh.s, C, e);
    __syncthreads();
    attn_tile_grads(sh, e, row0, col0, sq, sk, sv, sdo, slse, sdelta, nullptr, sds);
    __syncthreads();
    for (int idx = threadIdx.x; idx < R * e; idx += blockDim.x) {
      const int r = idx / e, d = idx % e;
      float acc = 0.f;
      for (int c = 0; c < C; ++c) acc += sds[r * C + c] * sk[c * e + d];
      sdq[idx] += acc * sh.scale;
    }
    __syncthreads();
  }
  for (int idx = threadIdx.x; idx < R * e; idx += blockDim.x) {
    const int64_t row = row0 + idx / e;
    if (row < sh.l) dq[(b * sh.l + row) * e + idx % e] = from_compute<T>(sdq[idx]);
  }
}

size_t forward_smem(int e) { return sizeof(float) * (2 * R * e + 2 * C * e + R * C + 3 * R); }
size_t dkdv_smem(int e) { return sizeof(float) * (4 * C * e + 2 * R * e + 2 * R * C + 2 * R); }
size_t dq_smem(int e) { return sizeof(float) * (3 * R * e + 2 * C * e + R * C + 2 * R); }

// Lets `kernel` use `bytes` of dynamic shared memory (above the 48 KiB default where needed).
template <class K>
void allow_smem(K kernel, size_t bytes, const char* op) {
  if (bytes <= 48 * 1024) return;
  const cudaError_t err =
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes));
  LAMINA_CHECK(err == cudaSuccess, KernelError, op, "cannot reserve ", bytes,
               " bytes of shared memory: ", cudaGetErrorString(err));
}

dim3 grid_of(int64_t length, int tile, int64_t batch) {
  return dim3(static_cast<unsigned int>((length + tile - 1) / tile), static_cast<unsigned int>(batch));
}

template <class T>
struct AttentionForward {
  static void run(const AttentionShape& sh, const void* q, const void* k, const void* v, void* out, float* lse) {
    const char* op = "scaled_dot_product_attention";
    LAMINA_CHECK(sh.e > 0 && sh.e <= kAttnMaxHeadDim && sh.batch <= 65535, NotImplementedError, op,
                 "the fused kernel takes head dims 1..", kAttnMaxHeadDim, " and at most 65535 batch*heads, got ", sh.e,
                 " and ", sh.batch);
    if (sh.batch == 0 || sh.l == 0) return;
    const int e = static_cast<int>(sh.e);
    const size_t bytes = forward_smem(e);
    allow_smem(attn_forward_kernel<T>, bytes, op);
    attn_forward_kernel<T><<<grid_of(sh.l, R, sh.batch), kThreads, bytes, launch_stream()>>>(
        sh, static_cast<const T*>(q), static_cast<const T*>(k), static_cast<const T*>(v), static_cast<T*>(out), lse);
    lamina::cuda::check_kernel_launch(op);
  }
};

template <class T>
struct AttentionBackward {
  static void run(const AttentionShape& sh, const void* q, const void* k, const void* v, const void* out,
                  const void* grad_out, const float* lse, float* delta, void* dq, void* dk, void* dv) {
    const char* op = "scaled_dot_product_attention_backward";
    LAMINA_CHECK(sh.e > 0 && sh.e <= kAttnMaxHeadDim && sh.batch <= 65535, NotImplementedError, op,
                 "the fused kernel takes head dims 1..", kAttnMaxHeadDim, " and at most 65535 batch*heads, got ", sh.e,
                 " and ", sh.batch);
    if (sh.batch == 0) return;
    const int e = static_cast<int>(sh.e);
    const auto* tq = static_cast<const T*>(q);
    const auto* tk = static_cast<const T*>(k);
    const auto* tv = static_cast<const T*>(v);
    const auto* tgo = static_cast<const T*>(grad_out);
    const cudaStream_t stream = launch_stream();
    const int64_t rows = sh.batch * sh.l;
    if (rows > 0)
      attn_delta_kernel<T>
          <<<grid_blocks(rows), kBlockThreads, 0, stream>>>(rows, e, static_cast<const T*>(out), tgo, delta);
    if (sh.s > 0) {
      allow_smem(attn_dkdv_kernel<T>, dkdv_smem(e), op);
      attn_dkdv_kernel<T><<<grid_of(sh.s, C, sh.batch), kThreads, dkdv_smem(e), stream>>>(
          sh, tq, tk, tv, tgo, lse, delta, static_cast<T*>(dk), static_cast<T*>(dv));
    }
    if (sh.l > 0) {
      allow_smem(attn_dq_kernel<T>, dq_smem(e), op);
      attn_dq_kernel<T><<<grid_of(sh.l, R, sh.batch), kThreads, dq_smem(e), stream>>>(sh, tq, tk, tv, tgo, lse, delta,
                                                                                      static_cast<T*>(dq));
    }
    lamina::cuda::check_kernel_launch(op);
  }
};

}  // namespace

void register_attention_kernels() {
  register_cuda<AttentionForward, __half, __nv_bfloat16, float>(Op::scaled_dot_product_attention);
  register_cuda<AttentionBackward, __half, __nv_bfloat16, float>(Op::scaled_dot_product_attention_backward);
}

}  // namespace lamina::kernels::cuda
