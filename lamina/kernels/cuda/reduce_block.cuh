#pragma once
// Device-side building blocks of the reduction, softmax, norm and loss kernels: warp and block
// reductions of any trivially copyable accumulator in a fixed tree order (deterministic), and the
// byte offset walks of ReduceLoop / LineLoop. Device code: include from .cu files only.
#include <cstring>

#include "lamina/kernels/cuda/reduce_math.cuh"
#include "lamina/kernels/loops.h"

namespace lamina::kernels::cuda {

/// Threads of a warp.
inline constexpr int kWarp = 32;

/// v from the lane `delta` above (any trivially copyable type, moved as 32-bit words).
template <class V>
__device__ inline V shfl_down_any(V v, int delta) {
  constexpr int kWords = (sizeof(V) + 3) / 4;
  unsigned int w[kWords] = {};
  memcpy(w, &v, sizeof(V));
#pragma unroll
  for (int i = 0; i < kWords; ++i) w[i] = __shfl_down_sync(0xffffffffu, w[i], delta);
  memcpy(&v, w, sizeof(V));
  return v;
}

/// v from lane `src` of the warp.
template <class V>
__device__ inline V shfl_any(V v, int src) {
  constexpr int kWords = (sizeof(V) + 3) / 4;
  unsigned int w[kWords] = {};
  memcpy(w, &v, sizeof(V));
#pragma unroll
  for (int i = 0; i < kWords; ++i) w[i] = __shfl_sync(0xffffffffu, w[i], src);
  memcpy(&v, w, sizeof(V));
  return v;
}

/// The combine of the warp's 32 values in a fixed tree, returned to every lane.
template <class V, class Combine>
__device__ inline V warp_reduce(V v, const Combine& comb) {
#pragma unroll
  for (int delta = kWarp / 2; delta > 0; delta /= 2) v = comb(v, shfl_down_any(v, delta));
  return shfl_any(v, 0);
}

/// Scratch of block_reduce: one value per warp plus the result.
template <class V>
struct BlockScratch {
  V warp[kBlockThreads / kWarp];
  V result;
};

/// The combine of the block's values (every thread of a kBlockThreads block calls it), in a
/// fixed tree, returned to every thread; `scratch` may be reused after it returns.
template <class V, class Combine>
__device__ inline V block_reduce(V v, V identity, const Combine& comb, BlockScratch<V>& scratch) {
  const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp;
  v = warp_reduce(v, comb);
  if (lane == 0) scratch.warp[warp] = v;
  __syncthreads();
  if (warp == 0) {
    V w = lane < kBlockThreads / kWarp ? scratch.warp[lane] : identity;
    w = warp_reduce(w, comb);
    if (lane == 0) scratch.result = w;
  }
  __syncthreads();
  const V r = scratch.result;
  __syncthreads();
  return r;
}

/// Byte offset of linear index i over (ndim, shape, strides); one multiply for a single dim.
__device__ inline int64_t walk_offset(int64_t i, int ndim, const int64_t* shape, const int64_t* strides) {
  if (ndim == 1) return i * strides[0];
  return offset_of(i, ndim, shape, strides);
}

}  // namespace lamina::kernels::cuda
